package share

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// FuzzApply feeds Apply export archives as a hostile guest could send
// them: it must never panic, never write outside dir, and write nothing
// at all when it reports the archive malformed.
func FuzzApply(f *testing.F) {
	f.Add(exportArchive(rawEntry("a", cpio.TypeReg|0o644, "x")))
	f.Add(exportArchive(rawEntry("../escape", cpio.TypeReg|0o644, "x"), rawEntry("b", cpio.TypeDir|0o755, "")))
	f.Add(exportArchive(rawEntry("big", cpio.TypeReg|0o4777, strings.Repeat("y", 300))))
	f.Add([]byte(rawEntry("truncated", cpio.TypeReg|0o644, "body"))[:40])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, "dir")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		names, err := Apply(bytes.NewReader(data), dir, nil)
		if err != nil && len(names) != 0 {
			t.Fatalf("error %v but wrote %q", err, names)
		}
		outside, _ := os.ReadDir(root)
		if len(outside) != 1 {
			t.Fatalf("wrote outside dir: %v", outside)
		}
		inside, _ := os.ReadDir(dir)
		if err != nil && len(inside) != 0 {
			t.Fatalf("malformed archive (%v) but dir has %v", err, inside)
		}
		for _, e := range inside {
			if !e.Type().IsRegular() {
				t.Fatalf("wrote a non-regular file %s (%v)", e.Name(), e.Type())
			}
			if info, _ := e.Info(); info != nil && info.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 {
				t.Fatalf("%s has mode %v", e.Name(), info.Mode())
			}
		}
	})
}
