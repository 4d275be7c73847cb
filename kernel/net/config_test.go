package net

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("console=x runikraft.net=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3,dns=fec0::3,domain=example.org,host=web1 other=1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeStatic || c.Addr != netip.MustParsePrefix("10.0.2.15/24") || c.Gateway != netip.MustParseAddr("10.0.2.2") ||
		len(c.DNS) != 2 || c.DNS[1] != netip.MustParseAddr("fec0::3") || c.Domain != "example.org" || c.Hostname != "web1" {
		t.Fatalf("got %+v", c)
	}
	want := "nameserver 10.0.2.3\nnameserver fec0::3\nsearch example.org\n"
	if r := c.ResolvConf(); !strings.HasSuffix(r, want) || !strings.HasPrefix(r, "#") {
		t.Errorf("resolv.conf %q", r)
	}
	if h := c.Hosts(); !strings.Contains(h, "10.0.2.15\tweb1.example.org web1\n") || !strings.HasPrefix(h, "127.0.0.1\tlocalhost\n") {
		t.Errorf("hosts %q", h)
	}

	for line, mode := range map[string]Mode{"": ModeDHCP, "runikraft.net=dhcp": ModeDHCP, "runikraft.net=none": ModeNone,
		"runikraft.net=none runikraft.net=dhcp,dns=1.1.1.1": ModeDHCP} {
		c, err := ParseConfig(line)
		if err != nil || c.Mode != mode {
			t.Errorf("%q: mode %v err %v, want %v", line, c.Mode, err, mode)
		}
	}
	if c, _ := ParseConfig(""); !strings.Contains(c.Hosts(), "127.0.1.1\trunikraft\n") {
		t.Errorf("hosts without an address: %q", c.Hosts())
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, v := range []string{
		"", "10.0.2.15", "10.0.2.0/24", "::1/64", "10.0.2.15/24,gw=10.0.3.1", "10.0.2.15/24,gw=fe80::1",
		"dhcp,gw=10.0.2.2", "dhcp,ip6=fec0::5/64", "10.0.2.15/24,dns=1.1.1.1,dns=1.1.1.2,dns=1.1.1.3,dns=1.1.1.4",
		"10.0.2.15/24,host=a.b", "10.0.2.15/24,host=-x", "10.0.2.15/24,domain=a..b", "10.0.2.15/24,bogus=1",
		"10.0.2.15/24,gw", "none,dns=1.1.1.1", "10.0.2.15/24,host=" + strings.Repeat("a", 64),
	} {
		if c, err := ParseConfig("runikraft.net=" + v); err == nil {
			t.Errorf("%q accepted: %+v", v, c)
		}
	}
}
