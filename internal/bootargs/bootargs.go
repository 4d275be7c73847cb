// Package bootargs carries a guest's argv and environment on the kernel
// command line.
//
// The host (runikraft run) encodes them with Encode and hands the result to
// QEMU's -append; the kernel reads /chosen/bootargs and calls Decode. The
// format is
//
//	runikraft.args=<B64> runikraft.env=<B64>
//
// where <B64> is unpadded base64url (RFC 4648 §5) of the list's elements, each
// followed by a NUL byte. Base64url keeps the value free of spaces, quotes and
// '=' so the command line stays a plain space-separated token list, and any
// byte except NUL survives. NUL terminators (rather than separators) keep the
// empty list and the list holding one empty string distinct. Args is the
// guest's full argv: runikraft run puts the image name first, as exec does.
// Further parameters in the same encoding (EncodeKey, DecodeKey) may
// follow, e.g. runikraft.cwd=<B64>.
//
// The package imports nothing, so the kernel can use it without pulling in
// fmt, reflect or encoding/base64 (which drags in encoding/binary → reflect).
package bootargs

// Keys of the command-line parameters. CwdKey, optional, holds one
// element: the directory the application starts in (runikraft run
// --host-view passes the host's current one). ReportKey, optional and with an
// empty list, asks the kernel to print ExitReport and the status on its
// console before it powers off: under libvirt or KubeVirt nobody sees
// QEMU's exit status, which is where runikraft run reads it.
const (
	ArgsKey   = "runikraft.args"
	EnvKey    = "runikraft.env"
	CwdKey    = "runikraft.cwd"
	ReportKey = "runikraft.report"
)

// ExitReport starts the line the kernel prints with ReportKey: the
// prefix, then the decimal exit status and a newline.
const ExitReport = "runikraft: exit status "

// Error is the error type of this package; a string type so it needs no
// errors package and can be a constant.
type Error string

func (e Error) Error() string { return string(e) }

// Errors returned by the functions of this package.
const (
	ErrNUL          = Error("bootargs: element contains a NUL byte")
	ErrBase64       = Error("bootargs: invalid base64url")
	ErrUnterminated = Error("bootargs: list does not end in NUL")
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// EncodeList encodes list as unpadded base64url of NUL-terminated elements.
// It fails only if an element contains NUL, which could not round-trip (and
// cannot occur in a host argv or environment anyway).
func EncodeList(list []string) (string, error) {
	n := 0
	for _, s := range list {
		for i := 0; i < len(s); i++ {
			if s[i] == 0 {
				return "", ErrNUL
			}
		}
		n += len(s) + 1
	}
	raw := make([]byte, 0, n)
	for _, s := range list {
		raw = append(raw, s...)
		raw = append(raw, 0)
	}
	return encode64(raw), nil
}

// DecodeList is the inverse of EncodeList. An empty string is the empty list.
func DecodeList(s string) ([]string, error) {
	raw, ok := decode64(s)
	if !ok {
		return nil, ErrBase64
	}
	if len(raw) == 0 {
		return nil, nil
	}
	if raw[len(raw)-1] != 0 {
		return nil, ErrUnterminated
	}
	count := 0
	for _, b := range raw {
		if b == 0 {
			count++
		}
	}
	list := make([]string, 0, count)
	start := 0
	for i, b := range raw {
		if b == 0 {
			list = append(list, string(raw[start:i]))
			start = i + 1
		}
	}
	return list, nil
}

// Encode returns the kernel command line carrying args and env.
func Encode(args, env []string) (string, error) {
	a, err := EncodeList(args)
	if err != nil {
		return "", err
	}
	e, err := EncodeList(env)
	if err != nil {
		return "", err
	}
	return ArgsKey + "=" + a + " " + EnvKey + "=" + e, nil
}

// Decode extracts args and env from a kernel command line. Other parameters
// are ignored; a missing parameter yields an empty list; if one appears
// twice the last wins, as on Linux.
func Decode(cmdline string) (args, env []string, err error) {
	var a, e string
	for i := 0; i < len(cmdline); {
		for i < len(cmdline) && isSpace(cmdline[i]) {
			i++
		}
		j := i
		for j < len(cmdline) && !isSpace(cmdline[j]) {
			j++
		}
		tok := cmdline[i:j]
		if v, ok := cut(tok, ArgsKey); ok {
			a = v
		} else if v, ok := cut(tok, EnvKey); ok {
			e = v
		}
		i = j
	}
	if args, err = DecodeList(a); err != nil {
		return nil, nil, err
	}
	if env, err = DecodeList(e); err != nil {
		return nil, nil, err
	}
	return args, env, nil
}

// EncodeKey returns the parameter key=<B64 of list>, to join a command
// line made by Encode with a space.
func EncodeKey(key string, list []string) (string, error) {
	v, err := EncodeList(list)
	if err != nil {
		return "", err
	}
	return key + "=" + v, nil
}

// DecodeKey returns the list of parameter key on cmdline and whether the
// parameter is there at all (an empty list and a missing parameter are
// different); if it appears twice the last wins, as in Decode.
func DecodeKey(cmdline, key string) (list []string, ok bool, err error) {
	var v string
	for i := 0; i < len(cmdline); {
		for i < len(cmdline) && isSpace(cmdline[i]) {
			i++
		}
		j := i
		for j < len(cmdline) && !isSpace(cmdline[j]) {
			j++
		}
		if s, found := cut(cmdline[i:j], key); found {
			v, ok = s, true
		}
		i = j
	}
	if !ok {
		return nil, false, nil
	}
	if list, err = DecodeList(v); err != nil {
		return nil, true, err
	}
	return list, true, nil
}

// cut returns the value of tok if tok is key=value.
func cut(tok, key string) (string, bool) {
	if len(tok) > len(key) && tok[:len(key)] == key && tok[len(key)] == '=' {
		return tok[len(key)+1:], true
	}
	return "", false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func encode64(src []byte) string {
	dst := make([]byte, 0, (len(src)*8+5)/6)
	for i := 0; i < len(src); i += 3 {
		var v uint32
		n := len(src) - i
		if n > 3 {
			n = 3
		}
		for k := 0; k < 3; k++ {
			v <<= 8
			if k < n {
				v |= uint32(src[i+k])
			}
		}
		// n input bytes produce n+1 output characters.
		for k := 0; k <= n; k++ {
			dst = append(dst, alphabet[(v>>(18-6*k))&0x3f])
		}
	}
	return string(dst)
}

// decode64 decodes unpadded base64url. Trailing '=' padding is tolerated in
// case some other encoder produced the value; non-canonical trailing bits are
// rejected so every list has exactly one encoding.
func decode64(s string) ([]byte, bool) {
	for k := 0; k < 2 && len(s) > 0 && s[len(s)-1] == '='; k++ {
		s = s[:len(s)-1]
	}
	if len(s)%4 == 1 {
		return nil, false
	}
	dst := make([]byte, 0, len(s)*3/4)
	for i := 0; i < len(s); i += 4 {
		n := len(s) - i
		if n > 4 {
			n = 4
		}
		var v uint32
		for k := 0; k < 4; k++ {
			v <<= 6
			if k < n {
				d := value64(s[i+k])
				if d < 0 {
					return nil, false
				}
				v |= uint32(d)
			}
		}
		// n characters carry n-1 bytes; any bits below those must be zero.
		if unused := 24 - 8*(n-1); v&(1<<unused-1) != 0 {
			return nil, false
		}
		for k := 0; k < n-1; k++ {
			dst = append(dst, byte(v>>(16-8*k)))
		}
	}
	return dst, true
}

func value64(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}
