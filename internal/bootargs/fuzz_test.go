package bootargs

import (
	"slices"
	"testing"
)

// FuzzDecode: the kernel decodes whatever command line QEMU's -append (or
// a baked image) gives it; it must never panic, and what it accepts must
// encode back to the same lists.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"runikraft.args=YQBiAA runikraft.env=Sz0gdiAgAA",
		"runikraft.args= runikraft.env=",
		"console=ttyS0 runikraft.args=AA runikraft.cwd=L3dvcmsA",
		"runikraft.args=YQ",
		"runikraft.args=!!!",
		"runikraft.args=YQBiAA runikraft.args=Yw",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmdline string) {
		args, env, err := Decode(cmdline)
		if err == nil {
			line, err := Encode(args, env)
			if err != nil {
				t.Fatalf("decoded %q %q, which do not encode: %v", args, env, err)
			}
			a2, e2, err := Decode(line)
			if err != nil || !slices.Equal(a2, args) || !slices.Equal(e2, env) {
				t.Fatalf("round trip of %q %q: %q %q %v", args, env, a2, e2, err)
			}
		}
		if list, ok, err := DecodeKey(cmdline, CwdKey); err == nil && ok {
			v, err := EncodeKey(CwdKey, list)
			if err != nil {
				t.Fatal(err)
			}
			l2, _, err := DecodeKey(v, CwdKey)
			if err != nil || !slices.Equal(l2, list) {
				t.Fatalf("round trip of %q: %q %v", list, l2, err)
			}
		}
	})
}

// FuzzListRoundTrip: any list of NUL-free strings survives, blanks and
// all (the -e 'K= v  ' case).
func FuzzListRoundTrip(f *testing.F) {
	f.Add("K= v  ", "", "x\ty\n")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		list := []string{a, b, c}
		s, err := EncodeList(list)
		if err != nil {
			return // a NUL byte: refused, as documented
		}
		got, err := DecodeList(s)
		if err != nil || !slices.Equal(got, list) {
			t.Fatalf("%q -> %q -> %q, %v", list, s, got, err)
		}
	})
}
