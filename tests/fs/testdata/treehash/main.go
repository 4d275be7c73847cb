// Command treehash walks a directory tree and prints one line per entry:
// directories with a slash, symlinks with their target, regular files with
// their permissions and SHA-256. Built for the host and for riscv64, the
// two outputs over the same tree must match.
package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
)

func main() {
	root := "/"
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	fs.WalkDir(os.DirFS(root), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Println("error", p, err)
			return nil
		}
		info, _ := d.Info()
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(root + "/" + p)
			fmt.Printf("%s -> %s\n", p, t)
		case d.Type().IsRegular():
			b, _ := os.ReadFile(root + "/" + p)
			fmt.Printf("%s %o %x\n", p, info.Mode().Perm(), sha256.Sum256(b))
		default:
			fmt.Printf("%s/\n", p)
		}
		return nil
	})
}
