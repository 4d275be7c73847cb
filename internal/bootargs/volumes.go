package bootargs

// VolumesKey lists the host directories the kernel mounts over 9P
// (runikraft run -v, runikraft-ld --volume), in the encoding of
// EncodeList: one element per volume, "TAG:MODE:DIR", where TAG is the
// virtio-9p device's mount tag (no ':'), MODE is "rw" or "ro" and DIR
// the absolute guest directory (anything after the second ':'). The
// kernel mounts each volume whose device is present at DIR (made if
// missing), read-only with "ro".
const VolumesKey = "runikraft.volumes"

// Volume is one entry of VolumesKey.
type Volume struct {
	Tag      string
	Dir      string
	ReadOnly bool
}

// MaxTag is the longest mount tag QEMU's virtio-9p-device accepts.
const MaxTag = 255

// Errors of volume lists.
const (
	ErrVolume = Error("bootargs: volume: want TAG:rw|ro:/absolute/dir with a tag of 1 to 255 bytes without ':'")
)

// String is the volume's element in VolumesKey's list.
func (v Volume) String() string {
	mode := "rw"
	if v.ReadOnly {
		mode = "ro"
	}
	return v.Tag + ":" + mode + ":" + v.Dir
}

// ParseVolume reads one "TAG:MODE:DIR" element.
func ParseVolume(s string) (Volume, error) {
	i := indexByte(s, ':')
	if i <= 0 || i > MaxTag {
		return Volume{}, ErrVolume
	}
	tag, rest := s[:i], s[i+1:]
	j := indexByte(rest, ':')
	if j < 0 {
		return Volume{}, ErrVolume
	}
	mode, dir := rest[:j], rest[j+1:]
	var v Volume
	switch mode {
	case "rw":
	case "ro":
		v.ReadOnly = true
	default:
		return Volume{}, ErrVolume
	}
	if len(dir) == 0 || dir[0] != '/' {
		return Volume{}, ErrVolume
	}
	v.Tag, v.Dir = tag, dir
	return v, nil
}

// EncodeVolumes is VolumesKey's value for vs.
func EncodeVolumes(vs []Volume) (string, error) {
	list := make([]string, len(vs))
	for i, v := range vs {
		if _, err := ParseVolume(v.String()); err != nil || v.Tag != "" && indexByte(v.Tag, ':') >= 0 {
			return "", ErrVolume
		}
		list[i] = v.String()
	}
	return EncodeList(list)
}

// DecodeVolumes reads VolumesKey's value.
func DecodeVolumes(s string) ([]Volume, error) {
	list, err := DecodeList(s)
	if err != nil {
		return nil, err
	}
	vs := make([]Volume, 0, len(list))
	for _, e := range list {
		v, err := ParseVolume(e)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
