package console

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Feature bits (virtio 1.1 §5.3.3).
const (
	featureSize      = 0 // cols/rows in the configuration space
	featureMultiport = 1 // control queues and max_nr_ports
	featureEmergency = 2 // emerg_wr in the configuration space
)

// Offsets in the configuration space (§5.3.4).
const (
	configCols       = 0 // le16
	configRows       = 2 // le16
	configMaxNrPorts = 4 // le32
)

// Control events (§5.3.6.2). DEVICE_READY, PORT_READY and PORT_OPEN go
// from the driver to the device; PORT_ADD, PORT_REMOVE, CONSOLE_PORT,
// RESIZE, PORT_OPEN and PORT_NAME from the device to the driver.
const (
	evDeviceReady = 0
	evPortAdd     = 1
	evPortRemove  = 2
	evPortReady   = 3
	evConsolePort = 4
	evResize      = 5
	evPortOpen    = 6
	evPortName    = 7
)

var eventNames = [...]string{"DEVICE_READY", "PORT_ADD", "PORT_REMOVE", "PORT_READY", "CONSOLE_PORT", "RESIZE", "PORT_OPEN", "PORT_NAME"}

// The control queues are 2 (receive) and 3 (transmit); port 0 has 0 and
// 1, port n > 0 has 2n+2 and 2n+3 (§5.3.2).
const (
	ctrlRxQueue = 2
	ctrlTxQueue = 3
)

func rxQueue(id uint32) int {
	if id == 0 {
		return 0
	}
	return 2*int(id) + 2
}

func txQueue(id uint32) int { return rxQueue(id) + 1 }

// ctrlHeaderSize is struct virtio_console_control: le32 id, le16 event,
// le16 value.
const ctrlHeaderSize = 8

// ctrlMsg is one control message. data is what follows the header:
// the name of PORT_NAME, the size of RESIZE.
type ctrlMsg struct {
	id    uint32
	event uint16
	value uint16
	data  []byte
}

func (m ctrlMsg) String() string {
	ev := fmt.Sprintf("event %d", m.event)
	if int(m.event) < len(eventNames) {
		ev = eventNames[m.event]
	}
	if m.event == evPortName {
		return fmt.Sprintf("%s port %d %q", ev, m.id, portName(m.data))
	}
	return fmt.Sprintf("%s port %d value %d", ev, m.id, m.value)
}

// encode writes m's header into b (at least ctrlHeaderSize bytes) and
// returns its length. The driver's messages carry no data. Legacy
// devices use the guest's byte order, modern ones little-endian: on
// riscv64 both are little-endian.
func (m ctrlMsg) encode(b []byte) int {
	binary.LittleEndian.PutUint32(b[0:], m.id)
	binary.LittleEndian.PutUint16(b[4:], m.event)
	binary.LittleEndian.PutUint16(b[6:], m.value)
	return ctrlHeaderSize
}

// decodeCtrl parses a message the device wrote; data aliases b.
func decodeCtrl(b []byte) (ctrlMsg, error) {
	if len(b) < ctrlHeaderSize {
		return ctrlMsg{}, fmt.Errorf("control message of %d bytes, shorter than its %d-byte header", len(b), ctrlHeaderSize)
	}
	return ctrlMsg{
		id:    binary.LittleEndian.Uint32(b[0:]),
		event: binary.LittleEndian.Uint16(b[4:]),
		value: binary.LittleEndian.Uint16(b[6:]),
		data:  b[ctrlHeaderSize:],
	}, nil
}

// portName is the name in a PORT_NAME message. The spec leaves the
// terminator open; QEMU sends a NUL after the name, so stop there.
func portName(data []byte) string {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	return string(data)
}
