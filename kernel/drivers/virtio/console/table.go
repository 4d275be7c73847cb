package console

import "fmt"

// portInfo is what the device told the driver about one port.
type portInfo struct {
	added     bool // PORT_ADD seen and not removed since
	named     bool
	name      string
	console   bool // CONSOLE_PORT: the device means it for hvc-like use
	hostOpen  bool // the latest PORT_OPEN from the device
	everOpen  bool // hostOpen was true at some time since PORT_ADD
	guestOpen bool // the driver sent PORT_OPEN 1
}

// table is the driver's side of the control protocol (§5.3.6.2), without
// queues or memory so that it can be tested on the host: it applies the
// device's messages to the state of the ports and says how to answer.
// It is not safe for concurrent use.
type table struct {
	ports []portInfo // by port id; the driver has queues for these ids only
}

func newTable(nports int) *table { return &table{ports: make([]portInfo, nports)} }

// apply takes one control message from the device and returns the
// messages the driver must send in reply, in order. An error describes a
// message that breaks the protocol; the message is then ignored, apart
// from the replies (a refused PORT_ADD is still answered).
func (t *table) apply(m ctrlMsg) ([]ctrlMsg, error) {
	if m.event == evPortAdd {
		if m.id >= uint32(len(t.ports)) {
			// The device must hear that the port is unusable; Linux
			// answers the same way when it cannot add a port.
			return []ctrlMsg{{id: m.id, event: evPortReady, value: 0}},
				fmt.Errorf("%v: the driver has queues for ports 0 to %d only", m, len(t.ports)-1)
		}
		p := &t.ports[m.id]
		if !p.added {
			*p = portInfo{added: true}
		}
		// A repeated PORT_ADD is answered again, as Linux does, and
		// keeps what the port had.
		return []ctrlMsg{{id: m.id, event: evPortReady, value: 1}}, nil
	}
	if m.id >= uint32(len(t.ports)) || !t.ports[m.id].added {
		return nil, fmt.Errorf("%v: no such port", m)
	}
	p := &t.ports[m.id]
	switch m.event {
	case evPortRemove:
		*p = portInfo{}
	case evPortName:
		// The first name stays, as in Linux: names identify ports.
		if !p.named {
			p.named, p.name = true, portName(m.data)
		}
	case evPortOpen:
		p.hostOpen = m.value != 0
		p.everOpen = p.everOpen || p.hostOpen
	case evConsolePort:
		// A console port is open for the guest from the start (Linux
		// says so the same way); the driver uses it like any other.
		p.console = true
		if !p.guestOpen {
			p.guestOpen = true
			return []ctrlMsg{{id: m.id, event: evPortOpen, value: 1}}, nil
		}
	case evResize:
		// Terminal size: nothing here uses it.
	default:
		return nil, fmt.Errorf("%v: not a message a device sends", m)
	}
	return nil, nil
}

// open marks port id open on the guest's side and returns the message
// that tells the device, unless it was open already. Until then QEMU
// sends the port nothing (its guest_connected is false).
func (t *table) open(id uint32) []ctrlMsg {
	p := &t.ports[id]
	if !p.added || p.guestOpen {
		return nil
	}
	p.guestOpen = true
	return []ctrlMsg{{id: id, event: evPortOpen, value: 1}}
}

// find returns the id of the added port named name.
func (t *table) find(name string) (uint32, bool) {
	for id, p := range t.ports {
		if p.added && p.named && p.name == name {
			return uint32(id), true
		}
	}
	return 0, false
}

// names lists the names of the added ports, in id order; unnamed ports
// are left out.
func (t *table) names() []string {
	var s []string
	for _, p := range t.ports {
		if p.added && p.named {
			s = append(s, p.name)
		}
	}
	return s
}
