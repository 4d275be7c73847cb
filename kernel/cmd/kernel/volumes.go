//go:build riscv64

package main

import (
	"fmt"
	"io"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/kernel/drivers/virtio/ninep"
	"github.com/runikraft/runikraft/kernel/fs/p9fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
	"github.com/runikraft/runikraft/kernel/hart"
	"github.com/runikraft/runikraft/posix"
)

// volumes returns the list of bootargs.VolumesKey: the command line's if
// it has one (runikraft run passes the whole list), else the image's
// baked one (runikraft-ld --volume).
func volumes(cl, base bootargs.Cmdline) ([]bootargs.Volume, error) {
	v, ok := cl.Params[bootargs.VolumesKey]
	if !ok {
		if v, ok = base.Params[bootargs.VolumesKey]; !ok {
			return nil, nil
		}
	}
	vs, err := bootargs.DecodeVolumes(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bootargs.VolumesKey, err)
	}
	return vs, nil
}

// msgPages sizes each volume's message buffer: a 64th of RAM, between 64
// KiB and the 4 MiB the transport allows (QEMU takes messages that
// large), so that big reads and writes take few round trips without a
// small machine giving much of its RAM to them.
func msgPages(ram uint64) int {
	return int(min(max(ram/64/4096, 16), ninep.MaxBigPages))
}

// volumeMounts attaches each volume's virtio-9p device. A volume whose
// device is missing (a hypervisor started without it) is reported in
// the kernel log and gets an empty directory in RAM, as a Docker volume
// starts empty, so the application still finds its directory.
func volumeMounts(vs []bootargs.Volume, ram uint64, logw io.Writer) []posix.Mount {
	var ms []posix.Mount
	for _, v := range vs {
		t, err := ninep.Open(v.Tag, msgPages(ram))
		if err == nil {
			var f *p9fs.FS
			if f, err = p9fs.New(t, p9fs.Options{ReadOnly: v.ReadOnly}); err == nil {
				ms = append(ms, posix.Mount{Path: v.Dir, FS: f})
				fmt.Fprintf(logw, "runikraft: volume %s: 9p mount tag %s, msize %d\n", v.Dir, v.Tag, f.Msize())
				continue
			}
		}
		fmt.Fprintf(logw, "runikraft: volume %s (mount tag %s) not mounted, an empty directory in RAM instead: %v\n", v.Dir, v.Tag, err)
		ms = append(ms, posix.Mount{Path: v.Dir, FS: ramfs.New(ramfs.Options{Room: hart.MemoryRoom})})
	}
	return ms
}
