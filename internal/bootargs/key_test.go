package bootargs

import (
	"slices"
	"testing"
)

func TestKeyRoundTrip(t *testing.T) {
	for name, list := range lists {
		t.Run(name, func(t *testing.T) {
			p, err := EncodeKey(CwdKey, list)
			if err != nil {
				t.Fatal(err)
			}
			base, err := Encode([]string{"prog", "runikraft.cwd=AAAA"}, []string{"X=1"})
			if err != nil {
				t.Fatal(err)
			}
			// Among other parameters, and not disturbing Decode.
			cmdline := "console=ttyS0 " + base + " " + p + "\tquiet"
			got, ok, err := DecodeKey(cmdline, CwdKey)
			if err != nil || !ok || !slices.Equal(got, list) {
				t.Fatalf("DecodeKey(%q) = %q, %v, %v; want %q", cmdline, got, ok, err, list)
			}
			a, e, err := Decode(cmdline)
			if err != nil || !slices.Equal(a, []string{"prog", "runikraft.cwd=AAAA"}) || !slices.Equal(e, []string{"X=1"}) {
				t.Fatalf("Decode next to %s: %q %q %v", CwdKey, a, e, err)
			}
		})
	}
}

func TestEncodeKeyFormat(t *testing.T) {
	p, err := EncodeKey(CwdKey, []string{"/tmp/x"})
	if err != nil || p != "runikraft.cwd=L3RtcC94AA" {
		t.Fatalf("EncodeKey = %q, %v", p, err)
	}
	if _, err := EncodeKey(CwdKey, []string{"a\x00"}); err != ErrNUL {
		t.Fatalf("EncodeKey with NUL: %v, want %v", err, ErrNUL)
	}
}

func TestDecodeKeyMissingEmptyAndBad(t *testing.T) {
	for _, tc := range []struct {
		cmdline string
		want    []string
		ok      bool
		err     error
	}{
		{"", nil, false, nil},
		{"runikraft.args=YQA runikraft.env=", nil, false, nil},
		{"runikraft.cwd runikraft.cwdX=YQA", nil, false, nil}, // no '=', longer key
		{"runikraft.cwd=", nil, true, nil},                    // present, empty list
		{"runikraft.cwd=YQA runikraft.cwd=YgA", []string{"b"}, true, nil},
		{"runikraft.cwd=!!", nil, true, ErrBase64},
		{"runikraft.cwd=YQ", nil, true, ErrUnterminated},
	} {
		got, ok, err := DecodeKey(tc.cmdline, CwdKey)
		if err != tc.err || ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("DecodeKey(%q) = %q, %v, %v; want %q, %v, %v", tc.cmdline, got, ok, err, tc.want, tc.ok, tc.err)
		}
	}
}
