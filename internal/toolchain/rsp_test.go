package toolchain

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSplitResponseFile(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  \n\t ", nil},
		{"a b\tc\nd", []string{"a", "b", "c", "d"}},
		{`"a b" 'c d'`, []string{"a b", "c d"}},
		{`a\ b c\\d`, []string{"a b", `c\d`}},
		{`"it's" 'say "hi"'`, []string{"it's", `say "hi"`}},
		{`'a\'b'`, []string{"a'b"}}, // libiberty: backslash escapes even in single quotes
		{`"" ''`, []string{"", ""}},
		{`-DX="1 2"`, []string{"-DX=1 2"}},
		{"-o\r\nout.o", []string{"-o", "out.o"}},
	}
	for _, tt := range tests {
		if got := SplitResponseFile(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitResponseFile(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuoteResponseArgRoundTrip(t *testing.T) {
	args := []string{"plain", "", "a b", "tab\there", `back\slash`, `"dq"`, "it's", "new\nline", "-DX=\"1 2\""}
	var text string
	for _, a := range args {
		text += QuoteResponseArg(a) + "\n"
	}
	if got := SplitResponseFile(text); !reflect.DeepEqual(got, args) {
		t.Errorf("round trip: got %q, want %q", got, args)
	}
}

func TestExpandResponseFiles(t *testing.T) {
	dir := t.TempDir()
	inner := filepath.Join(dir, "inner.rsp")
	outer := filepath.Join(dir, "outer.rsp")
	loop := filepath.Join(dir, "loop.rsp")
	os.WriteFile(inner, []byte("-lm 'b c.o'\n"), 0o644)
	os.WriteFile(outer, []byte("a.o @"+inner+" -o out\n"), 0o644)
	os.WriteFile(loop, []byte("@"+loop), 0o644)

	got, err := ExpandResponseFiles([]string{"-O2", "@" + outer, "@" + filepath.Join(dir, "missing"), "@"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-O2", "a.o", "-lm", "b c.o", "-o", "out", "@" + filepath.Join(dir, "missing"), "@"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ExpandResponseFiles([]string{"@" + loop}); err == nil {
		t.Error("a response file including itself expanded without error")
	}
}
