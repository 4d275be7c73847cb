package toolchain

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LinkShared answers -shared. A unikernel application is one static
// program, so there are no shared libraries; but plain Makefiles and
// CMake build one by default, and the same build then links its programs
// against it. So the sources are compiled (position-independent, as
// always) and written with the objects given as a static archive at the
// requested path: GNU ld tells an archive by its content, not its name,
// so "cc -o prog prog.o libfoo.so" links statically. Archives and
// libraries among the inputs are left out (programs link them
// themselves); a one-line note says what was made.
func (b *Builder) LinkShared(c *Command) error {
	out := c.Output
	if out == "" {
		out = "a.out"
	}
	p, err := b.Paths()
	if err != nil {
		return err
	}
	tmp, err := b.TempDir()
	if err != nil {
		return err
	}
	cflags, err := b.ExtraFlags("RUNIKRAFT_CFLAGS")
	if err != nil {
		return err
	}
	var members, skipped []string
	for i, a := range c.Args {
		if a.Class != ClassInput {
			continue
		}
		if a.IsSource() {
			base := filepath.Base(a.Tokens[0])
			obj := filepath.Join(tmp, fmt.Sprintf("%d-%s.o", i, strings.TrimSuffix(base, filepath.Ext(base))))
			if err := b.RunGCC(ObjectArgs(c, p, cflags, a, obj)); err != nil {
				return err
			}
			members = append(members, obj)
			continue
		}
		name := a.Tokens[len(a.Tokens)-1]
		if _, err := os.Stat(name); err != nil {
			return fmt.Errorf("-shared: %w", err)
		}
		if isRelocatable(name) {
			members = append(members, name)
		} else {
			skipped = append(skipped, name)
		}
	}
	gcc, err := b.GCC()
	if err != nil {
		return err
	}
	// Written next to out and renamed over it: out appears complete or
	// not at all, and an old library of that name is replaced.
	dir := filepath.Dir(out)
	f, err := os.CreateTemp(dir, "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	tmpOut := f.Name()
	f.Close()
	os.Remove(tmpOut) // ar creates it
	// q (append) rather than r (replace): objects of one base name from
	// different directories are all kept.
	if err := b.run(CrossTool(gcc, "ar"), append([]string{"qcs", tmpOut}, members...)); err != nil {
		os.Remove(tmpOut)
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if _, err := os.Stat(tmpOut); err != nil {
		return fmt.Errorf("writing %s: %s made no archive", out, CrossTool(gcc, "ar"))
	}
	if err := os.Rename(tmpOut, out); err != nil {
		os.Remove(tmpOut)
		return fmt.Errorf("writing %s: %w", out, err)
	}
	note := fmt.Sprintf("-shared: wrote %s as a static archive of %d object(s) (no shared libraries in a unikernel; programs that link it are linked statically)", out, len(members))
	if len(skipped) > 0 {
		note += "; not included: " + strings.Join(skipped, " ")
	}
	b.Notef("%s", note)
	return nil
}

// isRelocatable reports whether name is an ELF relocatable object (ET_REL).
func isRelocatable(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [18]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return false
	}
	return bytes.Equal(h[:4], []byte("\x7fELF")) && h[16] == 1 && h[17] == 0 // e_type ET_REL, little-endian
}
