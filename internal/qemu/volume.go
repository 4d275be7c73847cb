package qemu

import (
	"strconv"
	"strings"
)

// Volume is a host directory given to the guest as a virtio-9p device
// (virtio-mmio) with a mount tag.
type Volume struct {
	HostDir  string
	Tag      string
	ReadOnly bool
}

// args are the -fsdev and -device options of volume i.
//
// security_model=none: QEMU runs as the user who started it and creates
// files as that user, with the modes the guest asks for, and ignores
// the guest's chown where the host refuses it. So what the guest writes
// is owned by, and usable to, the host user, as a Docker bind mount
// run as that user would be. "mapped" would keep the guest's owners and
// modes in extended attributes and create every file 0600 on the host
// (unusable to the host's other tools and unsupported on some
// filesystems); "passthrough" needs QEMU to run as root.
//
// multidevs=remap makes inode numbers unique when the shared tree spans
// several host filesystems (the guest's VFS tells files apart by
// them). readonly=on makes QEMU itself refuse writes to a :ro volume,
// behind the kernel's own EROFS.
func (v Volume) args(i int) []string {
	id := "rkvol" + strconv.Itoa(i)
	// QEMU's option syntax escapes a comma by doubling it.
	fsdev := "local,id=" + id + ",path=" + strings.ReplaceAll(v.HostDir, ",", ",,") + ",security_model=none,multidevs=remap"
	if v.ReadOnly {
		fsdev += ",readonly=on"
	}
	return []string{
		"-fsdev", fsdev,
		"-device", "virtio-9p-device,fsdev=" + id + ",mount_tag=" + strings.ReplaceAll(v.Tag, ",", ",,"),
	}
}
