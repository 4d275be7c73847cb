package posix

import (
	"errors"
	"path"
	"strings"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// The working directory the application starts in (Config.Cwd): in a
// host view (runikraft run --host-view, binfmt_misc), the host's current
// directory, at the same path in the host's tree.

// enterCwd makes dir, an absolute path, the working directory before the
// first thread runs, making it and its parents if they are missing (an
// existing one, the usual case in a host view, costs one lookup).
func (p *Process) enterCwd(dir string) error {
	if dir == "" {
		return nil
	}
	if !strings.HasPrefix(dir, "/") {
		return errors.New("not an absolute path")
	}
	v := p.fs.v
	dir = path.Clean(dir) // no "." or ".." left to make
	if l, err := v.Lookup(fs.Loc{}, dir, true); err == nil && l.Stat().IsDir() {
		p.fs.setCwd(l)
		return nil
	}
	cur := ""
	for _, part := range strings.Split(dir, "/") {
		if part == "" {
			continue
		}
		cur += "/" + part
		if err := v.Mkdir(fs.Loc{}, cur, 0o755); err != nil && err != linux.EEXIST {
			return err
		}
	}
	l, err := v.Lookup(fs.Loc{}, dir, true)
	if err != nil {
		return err
	}
	if !l.Stat().IsDir() {
		return linux.ENOTDIR
	}
	p.fs.setCwd(l)
	return nil
}

// Started is when the application's first thread was about to run, its
// filesystem set up: files whose status changed since are its doing.
func (p *Process) Started() time.Time { return p.started }
