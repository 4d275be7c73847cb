package kbuild

import (
	"context"
	"path/filepath"
	"testing"
)

// TestNetProfile: the network kernel takes net.pgo, the others none
// (go build's default.pgo), and GOFLAGS's -pgo wins.
func TestNetProfile(t *testing.T) {
	ctx := context.Background()
	o := Options{Dir: ".", Pkg: "github.com/runikraft/runikraft/kernel/cmd/kernel", Tags: "runikraft_net"}
	t.Setenv("GOFLAGS", "")
	if p := netProfile(ctx, o); filepath.Base(p) != "net.pgo" || filepath.Base(filepath.Dir(p)) != "kernel" {
		t.Errorf("network kernel: %q, want .../kernel/cmd/kernel/net.pgo", p)
	}
	if p := netProfile(ctx, Options{Dir: ".", Pkg: o.Pkg, Tags: "runikraft_notz"}); p != "" {
		t.Errorf("notz kernel: %q, want none", p)
	}
	t.Setenv("GOFLAGS", "-pgo=off")
	if p := netProfile(ctx, o); p != "" {
		t.Errorf("with GOFLAGS=-pgo=off: %q, want none", p)
	}
}
