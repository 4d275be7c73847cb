package linuxguest

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseConsole(t *testing.T) {
	const n = "lg-0123456789abcdef"
	cases := []struct {
		name, console string
		out           string
		status        int
		err           string
	}{
		{"plain", "OpenSBI banner\r\n" + n + " start\r\nhello\r\nworld\r\n" + n + " exit 3\r\n", "hello\nworld\n", 3, ""},
		{"no newline before exit", n + " start\r\npartial" + n + " exit 0\r\n", "partial", 0, ""},
		{"signal", n + " start\r\n" + n + " exit 139\r\n", "", 139, ""},
		{"program prints another nonce's line", n + " start\r\nlg-ffff exit 9\r\n" + n + " exit 1\r\n", "lg-ffff exit 9\n", 1, ""},
		{"last exit line wins", n + " start\r\n" + n + " exit 7\r\n" + n + " exit 2\r\n", n + " exit 7\n", 2, ""},
		{"never started", "kernel panic\r\n", "", 0, "never started"},
		{"no exit", n + " start\r\nhello\r\n", "", 0, "never reported"},
		{"status too large", n + " start\r\n" + n + " exit 256\r\n", "", 0, "malformed"},
		{"status too long", n + " start\r\n" + n + " exit 00001\r\n", "", 0, "out of range"},
		{"no digits", n + " start\r\n" + n + " exit x\r\n", "", 0, "malformed"},
		{"bare newline", n + " start\nhi\n" + n + " exit 0\n", "hi\n", 0, ""},
	}
	for _, c := range cases {
		out, status, err := ParseConsole([]byte(c.console), n)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || string(out) != c.out || status != c.status {
			t.Errorf("%s: got %q, %d, %v; want %q, %d", c.name, out, status, err, c.out, c.status)
		}
	}
	if _, _, err := ParseConsole([]byte(" start\n exit 0\n"), ""); err == nil {
		t.Error("an empty nonce was accepted")
	}
}

func TestSpec(t *testing.T) {
	b, err := Spec("lg-1", []string{"/bin/p", "a b", ""}, []string{"K=V=W"}, RunOptions{Cwd: "/tmp", Forwards: []string{"tcp::8080-:80"},
		Shares: []Share{{HostDir: "/h", GuestDir: "/mnt/x"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "nonce=lg-1\x00arg=/bin/p\x00arg=a b\x00arg=\x00env=K=V=W\x00cwd=/tmp\x00net=1\x009p=share0=/mnt/x\x00"
	if !bytes.Equal(b, []byte(want)) {
		t.Errorf("spec %q, want %q", b, want)
	}
	for _, bad := range []struct {
		argv, env []string
		o         RunOptions
	}{
		{[]string{"a\x00b"}, nil, RunOptions{}},
		{[]string{"a"}, []string{"NOEQUALS"}, RunOptions{}},
		{[]string{"a"}, nil, RunOptions{Shares: []Share{{HostDir: "/h", GuestDir: "rel"}}}},
		{[]string{"a"}, nil, RunOptions{Shares: []Share{{HostDir: "/h", GuestDir: "/a=b"}}}},
	} {
		if _, err := Spec("n", bad.argv, bad.env, bad.o); err == nil {
			t.Errorf("Spec(%q, %q, %+v) accepted", bad.argv, bad.env, bad.o)
		}
	}
}
