package posix

import (
	"fmt"
	"strings"

	"github.com/runikraft/runikraft/kernel/fs"
)

// Mount is a filesystem the kernel mounts in the application's tree
// before it starts, e.g. the time-zone database at /usr/share/zoneinfo.
type Mount struct {
	Path string // absolute; missing directories on the way are made (0755)
	FS   fs.Filesystem
}

// mountAll mounts cfg.Mounts, after the root filesystem is unpacked.
func (p *Process) mountAll() error {
	v := p.fs.v
	for _, m := range p.cfg.Mounts {
		if !strings.HasPrefix(m.Path, "/") || m.FS == nil {
			return fmt.Errorf("mount %q: want an absolute path and a filesystem", m.Path)
		}
		dir := ""
		for _, part := range strings.Split(strings.Trim(m.Path, "/"), "/") {
			dir += "/" + part
			if err := ensureDir(v, dir, 0o755); err != nil {
				return fmt.Errorf("mount %s: %s: %w", m.Path, dir, err)
			}
		}
		if err := v.Mount(fs.Loc{}, m.Path, m.FS); err != nil {
			return fmt.Errorf("mount %s: %w", m.Path, err)
		}
	}
	return nil
}
