package fs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/runikraft/runikraft/tests/harness"
)

// makeTree writes a tree of 1,000 files in nested directories, with
// relative, absolute and dangling symlinks and assorted modes.
func makeTree(t *testing.T, root string) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", i%37), fmt.Sprintf("e%d", i%5))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, fmt.Sprintf("file %04d.txt", i))
		body := []byte(fmt.Sprintf("file %d\n%s", i, make([]byte, i*7%4096)))
		if err := os.WriteFile(name, body, os.FileMode(0o600+i%3*0o44)); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			os.Symlink(fmt.Sprintf("file %04d.txt", i), filepath.Join(dir, fmt.Sprintf("rel%d", i)))
			os.Symlink("/tree/d00", filepath.Join(dir, fmt.Sprintf("abs%d", i)))
			os.Symlink("nowhere", filepath.Join(dir, fmt.Sprintf("dangling%d", i)))
		}
	}
	os.MkdirAll(filepath.Join(root, "empty"), 0o700)
}

// runikraft run --rootfs DIR: the application sees DIR as its root, and
// lists and hashes the tree exactly as the host does.
func TestRootfsTreeMatchesHost(t *testing.T) {
	host := t.TempDir()
	tree := filepath.Join(host, "tree")
	makeTree(t, tree)

	bin := filepath.Join(t.TempDir(), "treehash")
	if err := harness.BuildGo(bin, "./testdata/treehash"); err != nil {
		t.Fatal(err)
	}
	programs["treehash"] = bin
	want, err := exec.Command("go", "run", "./testdata/treehash", tree).Output()
	if err != nil {
		t.Fatalf("host walk: %v", err)
	}
	r := runFlags(t, []string{"--rootfs", host}, "treehash", "/tree")
	if r.Code != 0 || r.Stdout != string(want) {
		t.Fatalf("exit %d; guest listing differs from the host's (%d vs %d bytes)\nstderr: %s", r.Code, len(r.Stdout), len(want), r.Stderr)
	}
}
