package toolchain

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

var testPaths = Paths{Sysroot: "/sr", GCCInclude: "/gcc/include"}

func mustParse(t *testing.T, args ...string) *Command {
	t.Helper()
	c, err := Parse(args)
	if err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	return c
}

func TestPassThroughArgs(t *testing.T) {
	suffix := []string{"-fPIE", "-nostdinc", "-isystem", "/sr/include", "-isystem", "/gcc/include"}
	tests := []struct {
		args  []string
		extra []string
		want  []string
	}{
		{
			args: []string{"-O2", "-fPIC", "-march=native", "-Iinc", "-c", "x.c", "-o", "x.o"},
			want: append([]string{"-fstack-protector-strong", "-O2", "-Iinc", "-c", "x.c", "-o", "x.o"}, suffix...),
		},
		{
			args:  []string{"-E", "-x", "c", "-", "-dM"},
			extra: []string{"-DEXTRA=1"},
			want:  append([]string{"-fstack-protector-strong", "-E", "-x", "c", "-", "-dM", "-DEXTRA=1"}, suffix...),
		},
		{
			args: []string{"-r", "a.o", "b.o", "-o", "ab.o"},
			want: append(append([]string{"-fstack-protector-strong", "-r", "a.o", "b.o", "-o", "ab.o"}, suffix...), "--sysroot=/sr"),
		},
	}
	for _, tt := range tests {
		got := PassThroughArgs(mustParse(t, tt.args...), testPaths, tt.extra)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("PassThroughArgs(%q):\n got %q\nwant %q", tt.args, got, tt.want)
		}
	}
}

func TestObjectArgs(t *testing.T) {
	tests := []struct {
		args []string
		src  int // index in Args of the source
		want string
	}{
		{
			args: []string{"-O2", "-g", "-DX", "-o", "app", "x.c", "-lm", "-Wl,-z,now", "-v"},
			src:  4,
			want: "-fstack-protector-strong -O2 -g -DX -v -fPIE -nostdinc -isystem /sr/include -isystem /gcc/include -c x.c -o /t/x.o",
		},
		{
			args: []string{"-MD", "-o", "out/app.elf", "x.c"},
			src:  2,
			want: "-fstack-protector-strong -MD -fPIE -nostdinc -isystem /sr/include -isystem /gcc/include -MF out/app.d -MT out/app.elf -c x.c -o /t/x.o",
		},
		{
			args: []string{"-MMD", "-MF", "deps", "-MT", "t", "x.c"},
			src:  3,
			want: "-fstack-protector-strong -MMD -MF deps -MT t -fPIE -nostdinc -isystem /sr/include -isystem /gcc/include -c x.c -o /t/x.o",
		},
		{
			args: []string{"-x", "c", "-", "-o", "app"},
			src:  1,
			want: "-fstack-protector-strong -fPIE -nostdinc -isystem /sr/include -isystem /gcc/include -c -x c - -o /t/x.o",
		},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.args...)
		got := strings.Join(ObjectArgs(c, testPaths, nil, c.Args[tt.src], "/t/x.o"), " ")
		if got != tt.want {
			t.Errorf("ObjectArgs(%q):\n got %s\nwant %s", tt.args, got, tt.want)
		}
	}
}

func TestLinkArgs(t *testing.T) {
	const head = "-specs=/t/link.specs --sysroot=/sr -static-pie -nostdlib -nostartfiles -Wl,-static -Wl,--no-dynamic-linker -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -o /t/app"
	tests := []struct {
		args  []string
		objs  map[int]string
		eh    bool
		at    bool
		extra []string
		want  string
	}{
		{
			args: []string{"-O2", "-o", "hello", "hello.c", "-lm"},
			objs: map[int]string{2: "/t/2-hello.o"},
			want: head + " /sr/lib/rcrt1.o /sr/lib/crti.o /sr/lib/crtbeginS.o -O2 /t/2-hello.o -lm -L/sr/lib -L/gcc -Wl,--start-group /sr/lib/libc.a /sr/lib/libgcc.a -Wl,--end-group /sr/lib/crtendS.o /sr/lib/crtn.o",
		},
		{
			// User -L before the sysroot's; inputs keep their order; -static
			// and -rdynamic go; -s and -Wl stay.
			args:  []string{"-static", "-rdynamic", "a.o", "-Lmylib", "-lfoo", "-Wl,--gc-sections", "b.a", "-Xlinker", "-Map=m", "-s", "-pthread", "-DX", "-march=rv64gc"},
			eh:    true,
			at:    true,
			extra: []string{"-Wl,--extra"},
			want:  head + " /sr/lib/rcrt1.o /sr/lib/crti.o /sr/lib/crtbeginS.o a.o -Lmylib -lfoo -Wl,--gc-sections b.a -Xlinker -Map=m -s -march=rv64gc -Wl,--extra -L/sr/lib -L/gcc -Wl,--start-group /sr/lib/libc.a /sr/lib/libgcc.a /sr/lib/libgcc_eh.a /gcc/libatomic.a -Wl,--end-group /sr/lib/crtendS.o /sr/lib/crtn.o",
		},
		{
			args: []string{"-nostdlib", "start.o"},
			want: head + " start.o -L/sr/lib -L/gcc",
		},
		{
			args: []string{"-nostartfiles", "start.o"},
			want: head + " start.o -L/sr/lib -L/gcc -Wl,--start-group /sr/lib/libc.a /sr/lib/libgcc.a -Wl,--end-group",
		},
		{
			args: []string{"-nolibc", "x.o"},
			at:   true, // libatomic needs libc's mutexes
			want: head + " /sr/lib/rcrt1.o /sr/lib/crti.o /sr/lib/crtbeginS.o x.o -L/sr/lib -L/gcc -Wl,--start-group /sr/lib/libgcc.a -Wl,--end-group /sr/lib/crtendS.o /sr/lib/crtn.o",
		},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.args...)
		got := strings.Join(LinkArgs(c, LinkSpec{Sysroot: "/sr", GCCLib: "/gcc", Specs: "/t/link.specs", Output: "/t/app", Objects: tt.objs, HaveGCCEH: tt.eh, HaveAtomic: tt.at, Extra: tt.extra}), " ")
		if got != tt.want {
			t.Errorf("LinkArgs(%q):\n got %s\nwant %s", tt.args, got, tt.want)
		}
	}
}

// The local-symbols version script goes in unless the user brings one.
func TestLinkArgsVersionScript(t *testing.T) {
	spec := LinkSpec{Sysroot: "/sr", GCCLib: "/gcc", Specs: "/t/link.specs", LocalMap: "/t/local.map", Output: "/t/app"}
	for _, tt := range []struct {
		args  []string
		extra []string
		want  bool
	}{
		{[]string{"a.o"}, nil, true},
		{[]string{"a.o", "-Wl,--version-script=exports.map"}, nil, false},
		{[]string{"a.o", "-Xlinker", "--version-script", "-Xlinker", "exports.map"}, nil, false},
		{[]string{"a.o"}, []string{"-Wl,--version-script=env.map"}, false},
	} {
		spec.Extra = tt.extra
		got := slices.Contains(LinkArgs(mustParse(t, tt.args...), spec), "-Wl,--version-script=/t/local.map")
		if got != tt.want {
			t.Errorf("LinkArgs(%q, extra %q) has our version script: %v, want %v", tt.args, tt.extra, got, tt.want)
		}
	}
}
