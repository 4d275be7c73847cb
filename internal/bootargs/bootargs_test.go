package bootargs

import (
	"encoding/base64"
	"go/parser"
	"go/token"
	"math/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var lists = map[string][]string{
	"nil":          nil,
	"one empty":    {""},
	"two empty":    {"", ""},
	"spaces":       {"prog", "hello world", "  lead", "trail  "},
	"equals":       {"a=b", "=", "==x==", "runikraft.args=AAAA"},
	"newlines":     {"line1\nline2", "\r\n", "\n"},
	"non-utf8":     {"\xff\xfe\x80", "\xc3", "ok\x01\x7f"},
	"quotes/shell": {`"quoted"`, `'single'`, "$HOME", "a\tb"},
	"utf8":         {"héllo", "日本語", "🙂"},
}

func TestListRoundTrip(t *testing.T) {
	for name, in := range lists {
		t.Run(name, func(t *testing.T) {
			enc, err := EncodeList(in)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(enc, " \t\n=\"'") {
				t.Errorf("encoding %q contains command-line-hostile bytes", enc)
			}
			out, err := DecodeList(enc)
			if err != nil {
				t.Fatalf("DecodeList(%q): %v", enc, err)
			}
			if len(out) != len(in) || !slices.Equal(out, in) {
				t.Errorf("round trip: got %q, want %q", out, in)
			}
		})
	}
}

func TestCmdlineRoundTrip(t *testing.T) {
	for name, args := range lists {
		for envName, env := range lists {
			cmdline, err := Encode(args, env)
			if err != nil {
				t.Fatal(err)
			}
			// The kernel sees our parameters among others.
			cmdline = "console=ttyS0 " + cmdline + "\tquiet\n"
			a, e, err := Decode(cmdline)
			if err != nil {
				t.Fatalf("%s/%s: Decode(%q): %v", name, envName, cmdline, err)
			}
			if len(a) != len(args) || !slices.Equal(a, args) || len(e) != len(env) || !slices.Equal(e, env) {
				t.Errorf("%s/%s: got %q %q, want %q %q", name, envName, a, e, args, env)
			}
		}
	}
}

func TestEncodeFormat(t *testing.T) {
	got, err := Encode([]string{"prog", "a b"}, []string{"K=V"})
	if err != nil {
		t.Fatal(err)
	}
	want := "runikraft.args=" + base64.RawURLEncoding.EncodeToString([]byte("prog\x00a b\x00")) +
		" runikraft.env=" + base64.RawURLEncoding.EncodeToString([]byte("K=V\x00"))
	if got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
	if got, _ := Encode(nil, nil); got != "runikraft.args= runikraft.env=" {
		t.Errorf("Encode(nil, nil) = %q", got)
	}
}

// The hand-written base64url must agree with the standard library on
// arbitrary bytes, in both directions.
func TestBase64AgainstStdlib(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 200; n++ {
		b := make([]byte, r.Intn(64))
		r.Read(b)
		want := base64.RawURLEncoding.EncodeToString(b)
		if got := encode64(b); got != want {
			t.Fatalf("encode64(%x) = %q, want %q", b, got, want)
		}
		dec, ok := decode64(want)
		if !ok || string(dec) != string(b) {
			t.Fatalf("decode64(%q) = %x, %v; want %x", want, dec, ok, b)
		}
		padded := base64.URLEncoding.EncodeToString(b)
		if dec, ok := decode64(padded); !ok || string(dec) != string(b) {
			t.Fatalf("decode64(padded %q) = %x, %v; want %x", padded, dec, ok, b)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"A", ErrBase64},        // 6 bits cannot hold a byte
		{"AB", ErrBase64},       // non-zero bits past the last byte
		{"AA+A", ErrBase64},     // '+' is standard base64, not base64url
		{"AA/A", ErrBase64},     // likewise '/'
		{"AA A", ErrBase64},     // space
		{"YQ", ErrUnterminated}, // "a" without NUL
		{"YQBi", ErrUnterminated},
	} {
		if _, err := DecodeList(tc.in); err != tc.want {
			t.Errorf("DecodeList(%q) error = %v, want %v", tc.in, err, tc.want)
		}
	}
	if _, _, err := Decode("runikraft.env=!!"); err != ErrBase64 {
		t.Errorf("Decode with bad env: error = %v, want %v", err, ErrBase64)
	}
}

func TestDecodeCmdline(t *testing.T) {
	a, e, err := Decode("")
	if err != nil || len(a) != 0 || len(e) != 0 {
		t.Errorf("Decode(\"\") = %q, %q, %v", a, e, err)
	}
	// Key prefixes without '=' and longer keys are not ours.
	a, _, err = Decode("runikraft.args runikraft.argsX=AAAA runikraft.args=YQA")
	if err != nil || !slices.Equal(a, []string{"a"}) {
		t.Errorf("Decode = %q, %v; want [a]", a, err)
	}
	// Last occurrence wins.
	a, _, _ = Decode("runikraft.args=YQA runikraft.args=YgA")
	if !slices.Equal(a, []string{"b"}) {
		t.Errorf("Decode with duplicate = %q; want [b]", a)
	}
}

func TestEncodeNUL(t *testing.T) {
	if _, err := EncodeList([]string{"a\x00b"}); err != ErrNUL {
		t.Errorf("EncodeList with NUL: error = %v, want %v", err, ErrNUL)
	}
	if _, err := Encode(nil, []string{"K=\x00"}); err != ErrNUL {
		t.Errorf("Encode with NUL in env: error = %v, want %v", err, ErrNUL)
	}
}

// The kernel links this package; keep it import-free so it cannot drag in
// fmt or reflect (directly or via encoding/base64 → encoding/binary).
func TestNoImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			t.Errorf("%s imports %s; bootargs must stay import-free", f, imp.Path.Value)
		}
	}
}
