package qemu

import (
	"slices"
	"testing"
)

func TestParseForward(t *testing.T) {
	for in, want := range map[string]Forward{
		"8080:80":             {HostPort: 8080, GuestPort: 80},
		"127.0.0.1:8080:80":   {HostAddr: "127.0.0.1", HostPort: 8080, GuestPort: 80},
		"5353:53/udp":         {UDP: true, HostPort: 5353, GuestPort: 53},
		"[::1]:8443:443/tcp":  {HostAddr: "::1", HostPort: 8443, GuestPort: 443},
		"0.0.0.0:1:65535/tcp": {HostAddr: "0.0.0.0", HostPort: 1, GuestPort: 65535},
	} {
		got, err := ParseForward(in)
		if err != nil || got != want {
			t.Errorf("ParseForward(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if back, err := ParseForward(got.String()); err != nil || back != got {
			t.Errorf("%q: String %q does not parse back (%+v, %v)", in, got.String(), back, err)
		}
	}
	for _, in := range []string{"", "80", "0:80", "80:0", "70000:80", "x:80", "80:80/sctp", "host:80:80", "1.2.3:80:80", "80:80/"} {
		if f, err := ParseForward(in); err == nil {
			t.Errorf("ParseForward(%q) = %+v, want an error", in, f)
		}
	}
}

func TestArgsNet(t *testing.T) {
	got := Args(Config{Kernel: "k", MemoryMiB: 64, CPUs: 1,
		Net:   &UserNet{Forwards: []Forward{{HostAddr: "127.0.0.1", HostPort: 8080, GuestPort: 80}, {UDP: true, HostPort: 53, GuestPort: 53}}},
		Extra: []string{"-global", "virtio-mmio.force-legacy=false"}})
	want := []string{"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::53-:53",
		"-device", "virtio-net-device,netdev=net0", "-global", "virtio-mmio.force-legacy=false"}
	if !slices.Equal(got[len(got)-len(want):], want) {
		t.Errorf("Args ends %q, want %q", got[len(got)-len(want):], want)
	}
}
