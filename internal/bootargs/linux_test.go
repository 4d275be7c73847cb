package bootargs

import (
	"slices"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi"
)

func TestParseLinuxStyle(t *testing.T) {
	baked, err := Encode([]string{"/bin/app", "default"}, []string{"HOME=/", "FOO=baked"})
	if err != nil {
		t.Fatal(err)
	}
	base, err := Parse(baked)
	if err != nil {
		t.Fatal(err)
	}
	runArgs, _ := Encode([]string{"prog", "x y"}, []string{"A=1"})
	for _, tc := range []struct {
		name, cmdline  string
		base           Cmdline
		args, env      []string
		warnings       int
		warningContain string
	}{
		{"issue example", `FOO=bar -- a 'b c'`, Cmdline{}, []string{"app", "a", "b c"}, []string{"FOO=bar"}, 0, ""},
		{"over baked", `FOO=bar -- a "b c"`, base, []string{"/bin/app", "a", "b c"}, []string{"HOME=/", "FOO=bar"}, 0, ""},
		{"baked kept", `LANG=C`, base, []string{"/bin/app", "default"}, []string{"HOME=/", "FOO=baked", "LANG=C"}, 0, ""},
		{"empty tail", `--`, base, []string{"/bin/app"}, []string{"HOME=/", "FOO=baked"}, 0, ""},
		{"escapes", `X=a\ b -- b\ c "d\"e" 'f\g' '' --`, Cmdline{}, []string{"app", "b c", `d"e`, `f\g`, "", "--"}, []string{"X=a b"}, 0, ""},
		{"quoted dashes are a word", `'--' -- x`, Cmdline{}, []string{"app", "x"}, nil, 1, "not KEY=VALUE"},
		{"bare word", `quiet -- x`, Cmdline{}, []string{"app", "x"}, nil, 1, `"quiet": not KEY=VALUE`},
		{"bad name", `1X=2 a.b=c`, Cmdline{}, []string{"app"}, nil, 2, "not an environment variable name"},
		{"another kernel parameter", `runikraft.net=dhcp`, Cmdline{}, []string{"app"}, nil, 0, ""},
		{"runikraft run's form", runArgs + " runikraft.marker=1", base, []string{"prog", "x y"}, []string{"A=1"}, 0, ""},
		{"both forms", runArgs + " B=2 A=3 -- more", base, []string{"prog", "x y", "more"}, []string{"A=3", "B=2"}, 0, ""},
		{"unterminated", `-- 'a b`, Cmdline{}, []string{"app", "a b"}, nil, 1, "unterminated quote"},
		{"blank", " \t\n", base, []string{"/bin/app", "default"}, []string{"HOME=/", "FOO=baked"}, 0, ""},
	} {
		c, err := Parse(tc.cmdline)
		if err != nil {
			t.Errorf("%s: Parse(%q): %v", tc.name, tc.cmdline, err)
			continue
		}
		args, env := c.Over(tc.base)
		if !slices.Equal(args, tc.args) || !slices.Equal(env, tc.env) {
			t.Errorf("%s: %q gives args %q env %q; want %q %q", tc.name, tc.cmdline, args, env, tc.args, tc.env)
		}
		if len(c.Warnings) != tc.warnings || tc.warnings > 0 && !strings.Contains(strings.Join(c.Warnings, "\n"), tc.warningContain) {
			t.Errorf("%s: warnings %q; want %d containing %q", tc.name, c.Warnings, tc.warnings, tc.warningContain)
		}
	}
}

func TestParseKeepsEncodedBytes(t *testing.T) {
	for name, args := range lists {
		for _, env := range [][]string{nil, {"K=a b\x01\n"}} {
			cmdline, err := Encode(args, env)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse("console=ttyS0 " + cmdline + " runikraft.marker=1 quiet")
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			a, e := c.Over(Cmdline{})
			if !slices.Equal(c.Args, args) || !slices.Equal(a, args) || !slices.Equal(e, append(slices.Clone(env), "console=ttyS0")) {
				t.Errorf("%s: args %q env %q; want %q %q", name, c.Args, e, args, env)
			}
		}
	}
}

func TestParseDamaged(t *testing.T) {
	for _, s := range []string{ArgsKey + "=%%%", EnvKey + "=QQ"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q): no error", s)
		}
	}
}

// The hart layer looks for abi.MarkerParam before the runtime runs (no
// parsing there); it must be this package's MarkerKey set to 1.
func TestMarkerParam(t *testing.T) {
	if abi.MarkerParam != MarkerKey+"=1" {
		t.Fatalf("abi.MarkerParam %q, want %q", abi.MarkerParam, MarkerKey+"=1")
	}
}
