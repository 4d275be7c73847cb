package toolchain

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		args []string
		want Mode
	}{
		{[]string{"foo.c"}, ModeLink},
		{[]string{"-c", "foo.c"}, ModeObject},
		{[]string{"-S", "-c", "foo.c"}, ModeAsm},
		{[]string{"-c", "-E", "foo.c"}, ModePreprocess},
		{[]string{"-M", "foo.c"}, ModePreprocess},
		{[]string{"-MM", "foo.c"}, ModePreprocess},
		{[]string{"-MD", "-c", "foo.c"}, ModeObject},
		{[]string{"-MD", "-o", "app", "foo.c"}, ModeLink},
		{[]string{"-fsyntax-only", "foo.c"}, ModeSyntax},
		{[]string{"-r", "a.o", "b.o", "-o", "ab.o"}, ModeRelocatable},
	}
	for _, tt := range tests {
		c, err := Parse(tt.args)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.args, err)
		}
		if c.Mode != tt.want {
			t.Errorf("Parse(%q).Mode = %v, want %v", tt.args, c.Mode, tt.want)
		}
	}
}

// classes renders a parse as "class:tokens" items for compact comparison.
func classes(c *Command) []string {
	names := map[Class]string{ClassCompile: "C", ClassLink: "L", ClassBoth: "B", ClassInput: "I", ClassLang: "X", ClassOutput: "O", ClassDropped: "-"}
	var out []string
	for _, a := range c.Args {
		s := names[a.Class] + ":" + strings.Join(a.Tokens, " ")
		if a.Lang != "" {
			s += "[" + a.Lang + "]"
		}
		out = append(out, s)
	}
	return out
}

func TestParseClasses(t *testing.T) {
	tests := []struct {
		args  []string
		want  []string
		notes []string
	}{
		{
			args: []string{"-O2", "-g", "-Wall", "-Werror=format", "-DX=1", "-D", "Y", "-Iinc", "-I", "inc2", "-isystem", "sys", "-iquote", "q", "-include", "cfg.h", "-std=c11", "-c", "foo.c", "-o", "foo.o"},
			want: []string{"B:-O2", "B:-g", "C:-Wall", "C:-Werror=format", "C:-DX=1", "C:-D Y", "C:-Iinc", "C:-I inc2", "C:-isystem sys", "C:-iquote q", "C:-include cfg.h", "C:-std=c11", "C:-c", "I:foo.c", "O:-o foo.o"},
		},
		{
			args: []string{"-o", "app", "main.o", "-L", "lib", "-Llib2", "-lm", "-l", "z", "-Wl,--gc-sections", "-Xlinker", "-Map=x", "-s", "-static", "-pthread", "libfoo.a"},
			want: []string{"O:-o app", "I:main.o", "L:-L lib", "L:-Llib2", "L:-lm", "L:-l z", "L:-Wl,--gc-sections", "L:-Xlinker -Map=x", "L:-s", "-:-static", "C:-pthread", "I:libfoo.a"},
		},
		{
			args:  []string{"-march=native", "-mtune=native", "-m64", "-mno-red-zone", "-msse4.2", "-march=rv64gc", "-mabi=lp64d", "-mcmodel=medany", "-mno-relax", "-mcmodel=kernel", "-fcf-protection=full", "-c", "x.c"},
			want:  []string{"-:-march=native", "-:-mtune=native", "-:-m64", "-:-mno-red-zone", "-:-msse4.2", "B:-march=rv64gc", "B:-mabi=lp64d", "B:-mcmodel=medany", "B:-mno-relax", "-:-mcmodel=kernel", "-:-fcf-protection=full", "C:-c", "I:x.c"},
			notes: []string{"dropping -march=native (host-only)", "dropping -mtune=native (host-only)", "dropping -m64 (host-only)", "dropping -mno-red-zone (host-only)", "dropping -msse4.2 (host-only)", "dropping -mcmodel=kernel (host-only)", "dropping -fcf-protection=full (host-only)"},
		},
		{
			args: []string{"-fPIC", "-fpic", "-fno-pie", "-fstack-protector", "-fvisibility=hidden", "-c", "x.c"},
			want: []string{"-:-fPIC", "-:-fpic", "-:-fno-pie", "B:-fstack-protector", "B:-fvisibility=hidden", "C:-c", "I:x.c"},
		},
		{
			args: []string{"-x", "c", "-", "-xassembler-with-cpp", "start.S", "-x", "none", "a.o", "-o", "out"},
			want: []string{"X:-x c", "I:-[c]", "X:-xassembler-with-cpp", "I:start.S[assembler-with-cpp]", "X:-x none", "I:a.o", "O:-o out"},
		},
		{
			args: []string{"-MD", "-MF", "x.d", "-MT", "x.o", "-MQ", "$x", "-MP", "-Wp,-MD,y.d", "-Wa,--noexecstack", "-c", "x.c"},
			want: []string{"C:-MD", "C:-MF x.d", "C:-MT x.o", "C:-MQ $x", "C:-MP", "C:-Wp,-MD,y.d", "C:-Wa,--noexecstack", "C:-c", "I:x.c"},
		},
		{
			args:  []string{"-rdynamic", "-no-pie", "-pie", "-static-pie", "-nostdlib", "-o", "a", "a.o"},
			want:  []string{"-:-rdynamic", "-:-no-pie", "-:-pie", "-:-static-pie", "-:-nostdlib", "O:-o a", "I:a.o"},
			notes: []string{"dropping -rdynamic (a static unikernel application has no dynamic symbol table to export to)", "dropping -no-pie (runikraft applications are always static-pie)"},
		},
		{
			args: []string{"--sysroot=/x", "--sysroot", "/y", "-B", "/b", "-v", "-flto", "-undef", "-u", "sym", "-T", "link.ld", "-z", "now", "x.o"},
			want: []string{"B:-B /b", "B:-v", "B:-flto", "C:-undef", "L:-u sym", "L:-T link.ld", "L:-z now", "I:x.o"},
		},
	}
	for _, tt := range tests {
		c, err := Parse(tt.args)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.args, err)
		}
		if got := classes(c); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q):\n got %q\nwant %q", tt.args, got, tt.want)
		}
		if !reflect.DeepEqual(c.Notes, tt.notes) {
			t.Errorf("Parse(%q).Notes:\n got %q\nwant %q", tt.args, c.Notes, tt.notes)
		}
	}
}

func TestParseFacts(t *testing.T) {
	c, err := Parse([]string{"-v", "-shared", "-nostartfiles", "-nodefaultlibs", "-nolibc", "-s", "-MMD", "-MFd", "-MTt", "--sysroot=/s", "-o", "x", "-o", "y", "--print-file-name=libc.a", "-dumpmachine", "x.c"})
	if err != nil {
		t.Fatal(err)
	}
	want := Command{Output: "y", Verbose: true, Shared: true, NoStartFiles: true, NoDefaultLibs: true, NoLibc: true,
		DepFile: true, DepNamed: true, DepTarget: true, UserSysroot: "/s",
		Queries: []string{"-print-file-name=libc.a", "-dumpmachine"}}
	c.Args, c.Notes, c.Mode = nil, nil, 0
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got %+v\nwant %+v", *c, want)
	}
	c, _ = Parse([]string{"-nostdlib", "x.o"})
	if !c.NoStartFiles || !c.NoDefaultLibs {
		t.Errorf("-nostdlib: NoStartFiles=%v NoDefaultLibs=%v, want both", c.NoStartFiles, c.NoDefaultLibs)
	}
}

func TestParseCXX(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-c", "a.c", "b.cpp"}, "b.cpp"},
		{[]string{"-c", "x.cc"}, "x.cc"},
		{[]string{"-c", "X.C"}, "X.C"},
		{[]string{"-c", "x.cxx"}, "x.cxx"},
		{[]string{"-x", "c++", "-c", "x.c"}, "-x c++"},
		{[]string{"-xc++-header", "x.h"}, "-x c++-header"},
		{[]string{"-x", "c", "-c", "x.cpp"}, ""}, // compiled as C, as gcc would
		{[]string{"-c", "x.c", "y.S"}, ""},
	}
	for _, tt := range tests {
		c, err := Parse(tt.args)
		if err != nil {
			t.Fatal(err)
		}
		if c.CXX != tt.want {
			t.Errorf("Parse(%q).CXX = %q, want %q", tt.args, c.CXX, tt.want)
		}
	}
}

func TestParseMissingArgument(t *testing.T) {
	for _, a := range []string{"-o", "-I", "-x", "-MF", "-Xlinker", "-include", "--sysroot", "-l"} {
		if _, err := Parse([]string{"x.c", a}); err == nil || !strings.Contains(err.Error(), "missing argument to '"+a+"'") {
			t.Errorf("Parse(x.c %s): err = %v, want missing argument", a, err)
		}
	}
}

func TestIsSource(t *testing.T) {
	c, err := Parse([]string{"a.c", "b.S", "c.s", "d.i", "e.o", "f.a", "-x", "c", "g.txt", "-x", "none", "h.lo", "-lm"})
	if err != nil {
		t.Fatal(err)
	}
	var src []string
	for _, a := range c.Args {
		if a.IsSource() {
			src = append(src, a.Tokens[0])
		}
	}
	if want := []string{"a.c", "b.S", "c.s", "d.i", "g.txt"}; !reflect.DeepEqual(src, want) {
		t.Errorf("sources %q, want %q", src, want)
	}
}

func TestKeepMachineOpt(t *testing.T) {
	keep := []string{"-march=rv64gc", "-march=rv64imafdc_zicsr", "-mabi=lp64d", "-mcmodel=medlow", "-mtune=sifive-7-series",
		"-mcpu=sifive-u74", "-mtune=rocket", "-mno-relax", "-mrelax", "-mstrict-align", "-mno-strict-align",
		"-msave-restore", "-mplt", "-mno-plt", "-mexplicit-relocs", "-msmall-data-limit=0", "-mstack-protector-guard=global", "-mmusl"}
	drop := []string{"-march=native", "-march=x86-64", "-march=armv8-a", "-mtune=native", "-mtune=generic", "-mcpu=native",
		"-m32", "-m64", "-mx32", "-mno-red-zone", "-msse2", "-mavx2", "-mfpmath=sse", "-mabi=ms", "-mcmodel=large", "-mindirect-branch=thunk", "-mno-outline-atomics"}
	for _, o := range keep {
		if ok, _ := keepMachineOpt(o); !ok {
			t.Errorf("keepMachineOpt(%s) = false, want true", o)
		}
	}
	for _, o := range drop {
		if ok, why := keepMachineOpt(o); ok || why != "host-only" {
			t.Errorf("keepMachineOpt(%s) = %v, %q; want false, host-only", o, ok, why)
		}
	}
}
