package main

import (
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/payload"
)

// --net tap's argument: the interface and the guest's configuration,
// with anything that could reach QEMU's options or the kernel command
// line as more than a value refused.
func TestParseTap(t *testing.T) {
	for _, tc := range []struct {
		in, ifname, conf string
	}{
		{"tap0", "tap0", "dhcp"},
		{"rk-tap.1", "rk-tap.1", "dhcp"},
		{"tap0,10.9.0.2/24", "tap0", "10.9.0.2/24"},
		{"tap0,10.9.0.2/24,gw=10.9.0.1,dns=10.9.0.1,domain=example.test", "tap0", "10.9.0.2/24,gw=10.9.0.1,dns=10.9.0.1,domain=example.test"},
		{"tap0,10.9.0.2/24,ip6=fd00::2/64,gw6=fd00::1", "tap0", "10.9.0.2/24,ip6=fd00::2/64,gw6=fd00::1"},
	} {
		ifname, conf, err := parseTap(tc.in)
		if err != nil || ifname != tc.ifname || conf != tc.conf {
			t.Errorf("parseTap(%q) = %q, %q, %v; want %q, %q", tc.in, ifname, conf, err, tc.ifname, tc.conf)
		}
	}
	for _, in := range []string{
		"", "a-name-longer-than-15", "tap0 x", "tap/0", "tap0,", "tap0,10.9.0.2", "tap0,10.9.0.2/24,gw=nowhere",
		"tap0,10.9.0.2/24,script=/bin/sh", "tap0,10.9.0.2/24,dns=1.1.1.1 init=/x", "tap0,10.9.0.2/24,host=a b",
		"tap0,10.9.0.2/24,domain=",
	} {
		if ifname, conf, err := parseTap(in); err == nil {
			t.Errorf("parseTap(%q) = %q, %q; want an error", in, ifname, conf)
		}
	}
}

// --net tap:IFNAME puts QEMU's tap netdev (no scripts) and the guest's
// configuration on the command lines; with -p or without a name it is a
// usage error.
func TestDryRunTap(t *testing.T) {
	fakeQEMU(t, "exit 99\n")
	img := image(t, payload.PrintAndExit("", 0))
	code, out, errs := runCLI(t, "run", "--dry-run", "--net", "tap:rktap0,10.9.0.2/24,gw=10.9.0.1", img)
	if code != 0 || errs != "" {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	for _, want := range []string{"-netdev tap,id=net0,ifname=rktap0,script=no,downscript=no", "-device virtio-net-device,netdev=net0", "runikraft.net=10.9.0.2/24,gw=10.9.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q lacks %q", out, want)
		}
	}
	code, out, _ = runCLI(t, "run", "--dry-run", "--net", "tap:rktap0", img)
	if code != 0 || !strings.Contains(out, "runikraft.net=dhcp") {
		t.Errorf("tap without an address: code %d, %q lacks runikraft.net=dhcp", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--net", "tap"}, "name the host interface"},
		{[]string{"--net", "tap:x,y"}, "ADDR/PREFIX"},
		{[]string{"--net", "tap:rktap0", "-p", "8080:80"}, "-p publishes ports through user networking"},
		{[]string{"--net", "bridge"}, "put a tap on the bridge"},
	} {
		code, out, errs := runCLI(t, append(append([]string{"run", "--dry-run"}, tc.args...), img)...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: code %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errs, tc.want)
		}
	}
}
