package appimage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runikraft/runikraft/internal/payload"
)

// FuzzRead: runikraft inspect and run read any file the user names as an
// image; a damaged or hostile one (sizes and addresses in the bootInfo
// table, the manifest JSON) must give an error, never a panic or a huge
// allocation.
func FuzzRead(f *testing.F) {
	f.Add(payload.PrintAndExit("hi\n", 0))
	f.Add([]byte("\x7fELF"))
	if k, err := os.ReadFile(filepath.Join("..", "..", "bin", "runikraft-kernel.img")); err == nil && len(k) < 64<<20 {
		f.Add(k) // a real kernel, when the tools are built
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "img")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := Read(path)
		if err == nil && len(info.Initrd) > len(data) {
			t.Fatalf("initrd of %d bytes from a %d-byte file", len(info.Initrd), len(data))
		}
	})
}
