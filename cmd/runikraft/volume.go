package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/qemu"
)

const volumeUsage = "share host directory `HOSTDIR:GUESTDIR[:ro]` with the application over virtio-9p, read-write or read-only (repeatable); what it writes there is on the host at once"

// volumes turns -v flags into QEMU's 9p devices and the kernel's
// bootargs.VolumesKey parameter. An image's declared volumes
// (runikraft-ld --volume) keep their mount tags (volumeTag), so a -v for
// one of them attaches there; other -v directories get the next tags.
// The parameter lists the declared volumes too, so that the kernel says
// which of them got no device. With no -v it is empty and the kernel
// reads the image's baked list.
func volumes(flags []string, baked *appimage.Info) ([]qemu.Volume, string, error) {
	if len(flags) == 0 {
		return nil, "", nil
	}
	var declared []string
	if baked != nil {
		declared = baked.Manifest.Volumes
	}
	var list []bootargs.Volume
	byDir := map[string]int{}
	for i, d := range declared {
		byDir[d] = i
		list = append(list, bootargs.Volume{Tag: volumeTag(i), Dir: d})
	}
	var qv []qemu.Volume
	seen := map[string]string{}
	for _, f := range flags {
		host, guest, ro, err := parseVolume(f)
		if err != nil {
			return nil, "", err
		}
		if prev, ok := seen[guest]; ok {
			return nil, "", fmt.Errorf("-v %s: %s is already the guest directory of -v %s", f, guest, prev)
		}
		seen[guest] = f
		i, ok := byDir[guest]
		if !ok {
			i = len(list)
			list = append(list, bootargs.Volume{Tag: volumeTag(i), Dir: guest})
		}
		list[i].ReadOnly = ro
		qv = append(qv, qemu.Volume{HostDir: host, Tag: list[i].Tag, ReadOnly: ro})
	}
	key, err := bootargs.EncodeVolumes(list)
	if err != nil {
		return nil, "", fmt.Errorf("-v: %w", err)
	}
	return qv, bootargs.VolumesKey + "=" + key, nil
}

// volumeTag is the mount tag of the i-th volume: an image's declared
// volumes first, in order (runikraft inspect shows them), then -v's.
func volumeTag(i int) string { return appimage.VolumeTag(i) }

// parseVolume reads HOSTDIR:GUESTDIR[:ro|:rw]. The host directory must
// exist (QEMU would fail later with a less clear message) and is made
// absolute; the guest directory must be absolute and is cleaned.
func parseVolume(s string) (host, guest string, ro bool, err error) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) == 3:
		switch parts[2] {
		case "ro":
			ro = true
		case "rw":
		default:
			return "", "", false, fmt.Errorf("-v %s: mode %q: want ro or rw", s, parts[2])
		}
	case len(parts) != 2:
		return "", "", false, fmt.Errorf("-v %s: want HOSTDIR:GUESTDIR or HOSTDIR:GUESTDIR:ro (no ':' in either directory)", s)
	}
	host, guest = parts[0], parts[1]
	if host == "" || guest == "" {
		return "", "", false, fmt.Errorf("-v %s: want HOSTDIR:GUESTDIR[:ro], both directories given", s)
	}
	if !strings.HasPrefix(guest, "/") {
		return "", "", false, fmt.Errorf("-v %s: guest directory %q is relative: give an absolute path such as /%s", s, guest, guest)
	}
	guest = path.Clean(guest)
	if guest == "/" {
		return "", "", false, fmt.Errorf("-v %s: the guest's root cannot be a volume (use --rootfs, or a directory below /)", s)
	}
	if host, err = filepath.Abs(host); err != nil {
		return "", "", false, fmt.Errorf("-v %s: %w", s, err)
	}
	st, err := os.Stat(host)
	if err != nil {
		return "", "", false, fmt.Errorf("-v %s: host directory: %w", s, err)
	}
	if !st.IsDir() {
		return "", "", false, fmt.Errorf("-v %s: host path %s is not a directory", s, host)
	}
	return host, guest, ro, nil
}
