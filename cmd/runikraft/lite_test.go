package main

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLiteBuild builds runikraft the way install.sh does (the lite
// binary and runikraft-ship next to it) and checks that the lite one
// links none of the OCI, Kubernetes and libvirt libraries yet answers
// their commands and OCI references exactly as the full one does.
func TestLiteBuild(t *testing.T) {
	dir := t.TempDir()
	lite, ship := filepath.Join(dir, "runikraft"), filepath.Join(dir, "runikraft-ship")
	for _, b := range [][]string{{"-tags", "runikraft_lite", "-o", lite}, {"-o", ship}} {
		out, err := exec.Command("go", append(append([]string{"build"}, b...), ".")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %v: %v\n%s", b, err, out)
		}
	}
	info, err := buildinfo.ReadFile(lite)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range info.Deps {
		for _, heavy := range []string{"k8s.io/", "kubevirt.io/", "github.com/google/go-containerregistry", "libvirt.org/", "github.com/opencontainers/"} {
			if strings.HasPrefix(m.Path, heavy) {
				t.Errorf("the lite runikraft links %s", m.Path)
			}
		}
	}
	// The kernel's system-call layer (whose package init every start
	// paid) is runikraft-ship's: runikraft syscalls is handed over.
	deps, err := exec.Command("go", "list", "-deps", "-tags", "runikraft_lite", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(deps)) {
		if p == "github.com/runikraft/runikraft/posix" {
			t.Errorf("the lite runikraft links %s", p)
		}
	}
	run := func(bin string, args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	help, _ := run(lite, "--help")
	for name := range shipCommands {
		if !strings.Contains(help, name) {
			t.Errorf("runikraft --help does not list %s:\n%s", name, help)
		}
	}
	for _, args := range [][]string{
		{"pull", "--help"},
		{"pkg", "--no-such-flag", "x"},
		{"kubevirt", "--help"},
		{"syscalls"},
		{"run", "--dry-run", "no-such-image-here"},        // a file name or a reference: ship decides
		{"run", "--dry-run", "localhost:1/none/such:tag"}, // a registry that is not there
	} {
		wantOut, wantCode := run(ship, args...)
		gotOut, gotCode := run(lite, args...)
		if gotOut != wantOut || gotCode != wantCode {
			t.Errorf("runikraft %q: lite gave %d %q, full %d %q", args, gotCode, gotOut, wantCode, wantOut)
		}
	}
	if err := os.Remove(ship); err != nil {
		t.Fatal(err)
	}
	out, code := run(lite, "pull", "localhost:1/x")
	if code != exitUsage || !strings.Contains(out, "runikraft-ship is missing") {
		t.Errorf("without runikraft-ship: %d %q", code, out)
	}
}
