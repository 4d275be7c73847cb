//go:build riscv64

package main

import (
	"fmt"
	"io"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/kernel/drivers/virtio/ninep"
	"github.com/runikraft/runikraft/kernel/fs/p9fs"
	"github.com/runikraft/runikraft/posix"
)

// hostView returns the volumes of bootargs.HostViewKey (runikraft run
// --host-view, binfmt_misc), if the command line has them. Only the
// command line gives them: an image cannot ask for the host's files.
func hostView(cl bootargs.Cmdline) ([]bootargs.Volume, error) {
	v, ok := cl.Params[bootargs.HostViewKey]
	if !ok {
		return nil, nil
	}
	vs, err := bootargs.DecodeVolumes(v)
	if err == nil && (len(vs) == 0 || len(vs) > 2) {
		err = fmt.Errorf("want one or two volumes, have %d", len(vs))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bootargs.HostViewKey, err)
	}
	return vs, nil
}

// withHostView puts the host view's mount first (volumes inside it go on
// top). A view of / is the root itself (posix/hostroot.go): the kernel's
// time-zone database is then not mounted, as that would create
// /usr/share/zoneinfo on a host without one and hide the host's own.
// Without its device (a hypervisor started by hand) the view is
// reported and left out: the application runs in the kernel's own tree.
func withHostView(view []bootargs.Volume, zones, others []posix.Mount, ram uint64, logw io.Writer) []posix.Mount {
	var hv []posix.Mount
	for _, v := range view {
		t, err := ninep.Open(v.Tag, msgPages(ram))
		var f *p9fs.FS
		if err == nil {
			f, err = p9fs.New(t, p9fs.Options{ReadOnly: v.ReadOnly})
		}
		if err != nil {
			// Without the view's own device the kernel's tree is the
			// better stand-in for the host's. (Nothing is logged when
			// it works: every line of the log is a line a failing run
			// would be noted for.)
			fmt.Fprintf(logw, "runikraft: host view: %s (mount tag %s) not mounted, the application sees the kernel's own tree there: %v\n", v.Dir, v.Tag, err)
			if len(hv) == 0 {
				break
			}
			continue
		}
		hv = append(hv, posix.Mount{Path: v.Dir, FS: f})
	}
	if len(hv) > 0 && hv[0].Path == "/" {
		zones = nil
	}
	ms := append(hv, zones...)
	return append(ms, others...)
}
