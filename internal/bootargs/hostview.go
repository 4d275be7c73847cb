package bootargs

// HostViewKey is the host view (runikraft run --host-view, binfmt_misc):
// volumes in VolumesKey's encoding ("TAG:rw:DIR"), the first a host
// directory shared at its own path DIR. DIR "/" makes the host's whole
// tree the application's root, with the kernel's own /dev, /proc, /sys
// and /tmp over it; a second volume at /tmp then shows the host's /tmp
// instead (runikraft run adds it when the current directory is there).
// The kernel mounts them before the volumes of VolumesKey, which may lie
// inside them. CwdKey names the directory the application starts in,
// the host's current one.
const HostViewKey = "runikraft.hostview"

// HostViewTag is the mount tag of the host view's virtio-9p device.
const HostViewTag = "rkhost"
