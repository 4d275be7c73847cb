package console

import (
	"reflect"
	"strings"
	"testing"
)

func msg(id uint32, event, value uint16, data ...string) ctrlMsg {
	m := ctrlMsg{id: id, event: event, value: value}
	if len(data) > 0 {
		m.data = []byte(data[0])
	}
	return m
}

func TestTableLifecycle(t *testing.T) {
	tb := newTable(4)
	steps := []struct {
		in      ctrlMsg
		replies []ctrlMsg
		errSub  string
	}{
		{msg(1, evPortAdd, 0), []ctrlMsg{msg(1, evPortReady, 1)}, ""},
		{msg(2, evPortAdd, 0), []ctrlMsg{msg(2, evPortReady, 1)}, ""},
		{msg(1, evPortName, 1, "runikraft.stdin\x00"), nil, ""},
		{msg(1, evPortName, 1, "other"), nil, ""}, // the first name stays
		{msg(1, evPortOpen, 1), nil, ""},
		{msg(2, evPortName, 1, "runikraft.stdout\x00"), nil, ""},
		{msg(2, evResize, 0), nil, ""},
		{msg(3, evPortOpen, 1), nil, "no such port"},
		{msg(9, evPortAdd, 0), []ctrlMsg{msg(9, evPortReady, 0)}, "ports 0 to 3"},
		{msg(1, evPortAdd, 0), []ctrlMsg{msg(1, evPortReady, 1)}, ""}, // repeated
		{msg(1, evPortReady, 1), nil, "not a message a device sends"},
	}
	for i, s := range steps {
		replies, err := tb.apply(s.in)
		if !reflect.DeepEqual(replies, s.replies) {
			t.Errorf("step %d %v: replies %v, want %v", i, s.in, replies, s.replies)
		}
		if s.errSub == "" && err != nil || s.errSub != "" && (err == nil || !strings.Contains(err.Error(), s.errSub)) {
			t.Errorf("step %d %v: error %v, want %q", i, s.in, err, s.errSub)
		}
	}
	want := portInfo{added: true, named: true, name: "runikraft.stdin", hostOpen: true, everOpen: true}
	if tb.ports[1] != want {
		t.Errorf("port 1 %+v, want %+v", tb.ports[1], want)
	}
	if id, ok := tb.find("runikraft.stdout"); !ok || id != 2 {
		t.Errorf("find stdout = %d, %v", id, ok)
	}
	if _, ok := tb.find("other"); ok {
		t.Error("found a port by its second name")
	}
	if got := tb.names(); !reflect.DeepEqual(got, []string{"runikraft.stdin", "runikraft.stdout"}) {
		t.Errorf("names %q", got)
	}

	// Host close, guest open, removal.
	tb.apply(msg(1, evPortOpen, 0))
	if p := tb.ports[1]; p.hostOpen || !p.everOpen {
		t.Errorf("after host close %+v", p)
	}
	if r := tb.open(1); !reflect.DeepEqual(r, []ctrlMsg{msg(1, evPortOpen, 1)}) {
		t.Errorf("open replies %v", r)
	}
	if r := tb.open(1); r != nil {
		t.Errorf("second open replies %v", r)
	}
	tb.apply(msg(1, evPortRemove, 0))
	if tb.ports[1] != (portInfo{}) {
		t.Errorf("after removal %+v", tb.ports[1])
	}
	if _, ok := tb.find("runikraft.stdin"); ok {
		t.Error("removed port found")
	}
	if r := tb.open(1); r != nil {
		t.Errorf("open of a removed port replies %v", r)
	}
	// Added again: a new port, which may get a new name.
	tb.apply(msg(1, evPortAdd, 0))
	tb.apply(msg(1, evPortName, 0, "again"))
	if id, ok := tb.find("again"); !ok || id != 1 {
		t.Error("re-added port not found by its new name")
	}
}

func TestTableConsolePort(t *testing.T) {
	tb := newTable(1)
	tb.apply(msg(0, evPortAdd, 0))
	r, err := tb.apply(msg(0, evConsolePort, 1))
	if err != nil || !reflect.DeepEqual(r, []ctrlMsg{msg(0, evPortOpen, 1)}) {
		t.Fatalf("CONSOLE_PORT: %v, %v", r, err)
	}
	if !tb.ports[0].console || !tb.ports[0].guestOpen {
		t.Fatalf("%+v", tb.ports[0])
	}
	if r := tb.open(0); r != nil {
		t.Fatalf("console port opened twice: %v", r)
	}
}
