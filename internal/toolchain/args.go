package toolchain

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Mode is how far a driver invocation goes, as gcc decides it: the
// earliest stop asked for wins.
type Mode int

const (
	ModeLink        Mode = iota // compile what needs it, then link
	ModeRelocatable             // -r: a relocatable object, no application
	ModeObject                  // -c: objects, no link
	ModeAsm                     // -S: assembly, no objects
	ModeSyntax                  // -fsyntax-only
	ModePreprocess              // -E, -M, -MM
)

func (m Mode) String() string {
	return [...]string{"link", "relocatable", "object", "assembly", "syntax-only", "preprocess"}[m]
}

// Class says which steps get an argument.
type Class int

const (
	ClassCompile Class = iota // preprocessing, compiling, assembling
	ClassLink                 // the link only
	ClassBoth                 // both (code generation, LTO, -v, ...)
	ClassInput                // a file: a source, or an object/archive for the link
	ClassLang                 // -x LANG: applies to the inputs after it
	ClassOutput               // -o FILE
	ClassDropped              // removed; Command.Notes may say why
)

// Arg is one option with its value tokens, or one input file.
type Arg struct {
	Tokens []string
	Class  Class
	Lang   string // ClassInput: the -x language in force ("" = by suffix)
}

// Command is a parsed gcc-driver command line.
type Command struct {
	Args    []Arg
	Mode    Mode
	Output  string   // -o, "" if none
	Queries []string // -dumpmachine, --version, -print-*, ... in order
	Notes   []string // why options were dropped, for stderr

	Verbose       bool   // -v
	Shared        bool   // -shared: refused at link time
	NoStartFiles  bool   // -nostartfiles, -nostdlib
	NoDefaultLibs bool   // -nodefaultlibs, -nostdlib
	NoLibc        bool   // -nolibc
	DepFile       bool   // -MD or -MMD
	DepNamed      bool   // -MF given
	DepTarget     bool   // -MT or -MQ given
	UserSysroot   string // --sysroot value, ignored
	CXX           string // the first C++ input or -x language, refused
}

// Inputs returns the input files in order.
func (c *Command) Inputs() []Arg {
	var in []Arg
	for _, a := range c.Args {
		if a.Class == ClassInput {
			in = append(in, a)
		}
	}
	return in
}

// IsSource reports whether an input needs compiling before the link.
func (a Arg) IsSource() bool {
	if a.Class != ClassInput {
		return false
	}
	if a.Lang != "" {
		return true
	}
	switch strings.ToLower(filepath.Ext(a.Tokens[0])) {
	case ".c", ".i", ".s", ".sx":
		return true
	}
	return false
}

// valueOpts take a value, joined (-DX) or as the next argument (-D X).
// Longer names come first so a prefix never shadows them.
var valueOpts = []struct {
	name  string
	class Class
}{
	{"-iwithprefixbefore", ClassCompile},
	{"-iwithprefix", ClassCompile},
	{"-idirafter", ClassCompile},
	{"-imultilib", ClassCompile},
	{"-imultiarch", ClassCompile},
	{"-isysroot", ClassCompile},
	{"-isystem", ClassCompile},
	{"-iprefix", ClassCompile},
	{"-imacros", ClassCompile},
	{"-include", ClassCompile},
	{"-iquote", ClassCompile},
	{"-MF", ClassCompile},
	{"-MT", ClassCompile},
	{"-MQ", ClassCompile},
	{"-D", ClassCompile},
	{"-U", ClassCompile},
	{"-I", ClassCompile},
	{"-A", ClassCompile},
	{"-L", ClassLink},
	{"-l", ClassLink},
	{"-T", ClassLink},
	{"-u", ClassLink},
	{"-B", ClassBoth},
	{"-x", ClassLang},
	{"-o", ClassOutput},
}

// separateOpts take their value only as the next argument.
var separateOpts = map[string]Class{
	"-Xpreprocessor": ClassCompile,
	"-Xassembler":    ClassCompile,
	"-aux-info":      ClassCompile,
	"--param":        ClassCompile,
	"-dumpbase":      ClassCompile,
	"-dumpbase-ext":  ClassCompile,
	"-dumpdir":       ClassBoth,
	"-Xlinker":       ClassLink,
	"-z":             ClassLink,
	"-e":             ClassLink,
	"--sysroot":      ClassDropped,
}

// flagOpts are options without a value whose class is not obvious from
// their first letters.
var flagOpts = map[string]Class{
	"-v": ClassBoth, "-###": ClassBoth, "-pipe": ClassBoth, "-save-temps": ClassBoth,
	"-time": ClassBoth, "-no-canonical-prefixes": ClassBoth, "--coverage": ClassBoth,
	"-pg": ClassBoth, "-p": ClassBoth,
	"-pthread":  ClassCompile, // the link's -lpthread is an empty musl stub
	"-nostdinc": ClassCompile, "-undef": ClassCompile, "-ansi": ClassCompile,
	"-w": ClassCompile, "-C": ClassCompile, "-CC": ClassCompile, "-P": ClassCompile,
	"-H": ClassCompile, "-trigraphs": ClassCompile, "-traditional": ClassCompile,
	"-traditional-cpp": ClassCompile, "-Q": ClassCompile,
	"-M": ClassCompile, "-MM": ClassCompile, "-MD": ClassCompile, "-MMD": ClassCompile,
	"-MP": ClassCompile, "-MG": ClassCompile,
	"-s": ClassLink, "-symbolic": ClassLink, "-shared": ClassLink,
	// The link is always static-pie with our own start files and libraries.
	"-static": ClassDropped, "-static-pie": ClassDropped, "-pie": ClassDropped,
	"-static-libgcc": ClassDropped, "-shared-libgcc": ClassDropped,
	"-nostdlib": ClassDropped, "-nostartfiles": ClassDropped,
	"-nodefaultlibs": ClassDropped, "-nolibc": ClassDropped,
}

// picOpts are replaced by the -fPIE every compile gets: a static-pie
// needs position-independent code, and -fPIC code would only be slower.
var picOpts = map[string]bool{
	"-fPIC": true, "-fpic": true, "-fPIE": true, "-fpie": true,
	"-fno-PIC": true, "-fno-pic": true, "-fno-PIE": true, "-fno-pie": true,
}

// cxxLangs and cxxExts are C++, which has no runtime in the sysroot yet.
var cxxLangs = map[string]bool{"c++": true, "c++-header": true, "c++-cpp-output": true, "objective-c++": true, "c++-system-header": true, "c++-user-header": true}

var cxxExts = map[string]bool{
	".cc": true, ".cp": true, ".cxx": true, ".cpp": true, ".CPP": true, ".c++": true, ".C": true,
	".ii": true, ".hh": true, ".hpp": true, ".hxx": true, ".h++": true, ".HPP": true, ".tcc": true,
	".mm": true, ".M": true,
}

// Parse classifies a gcc-driver command line (response files already
// expanded).
func Parse(args []string) (*Command, error) {
	c := &Command{}
	var (
		lang   string
		stops  []Mode
		noteOn = map[string]bool{}
	)
	note := func(opt, why string) {
		if !noteOn[opt] {
			noteOn[opt] = true
			c.Notes = append(c.Notes, fmt.Sprintf("dropping %s (%s)", opt, why))
		}
	}
	add := func(class Class, toks ...string) {
		c.Args = append(c.Args, Arg{Tokens: toks, Class: class})
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		// next returns the value of a separate-value option.
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("missing argument to '%s'", a)
			}
			i++
			return args[i], nil
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			c.Args = append(c.Args, Arg{Tokens: []string{a}, Class: ClassInput, Lang: lang})
			if c.CXX == "" && (cxxLangs[lang] || lang == "" && cxxExts[filepath.Ext(a)]) {
				c.CXX = a
			}
			continue
		}
		// gcc takes --print-x and --dumpx as -print-x and -dumpx.
		if strings.HasPrefix(a, "--print-") || strings.HasPrefix(a, "--dump") {
			a = a[1:]
		}
		switch {
		case isQuery(a):
			c.Queries = append(c.Queries, a)
			continue
		case a == "-c":
			stops = append(stops, ModeObject)
			add(ClassCompile, a)
			continue
		case a == "-S":
			stops = append(stops, ModeAsm)
			add(ClassCompile, a)
			continue
		case a == "-E" || a == "-M" || a == "-MM":
			stops = append(stops, ModePreprocess)
			add(ClassCompile, a)
			continue
		case a == "-fsyntax-only":
			stops = append(stops, ModeSyntax)
			add(ClassCompile, a)
			continue
		case a == "-r":
			stops = append(stops, ModeRelocatable)
			add(ClassLink, a)
			continue
		case strings.HasPrefix(a, "--sysroot="):
			c.UserSysroot = strings.TrimPrefix(a, "--sysroot=")
			continue
		}
		if cl, ok := separateOpts[a]; ok {
			v, err := next()
			if err != nil {
				return nil, err
			}
			if a == "--sysroot" {
				c.UserSysroot = v
				continue
			}
			add(cl, a, v)
			continue
		}
		if cl, ok := flagOpts[a]; ok {
			switch a {
			case "-v":
				c.Verbose = true
			case "-shared":
				c.Shared = true
			case "-nostdlib":
				c.NoStartFiles, c.NoDefaultLibs = true, true
			case "-nostartfiles":
				c.NoStartFiles = true
			case "-nodefaultlibs":
				c.NoDefaultLibs = true
			case "-nolibc":
				c.NoLibc = true
			case "-MD", "-MMD":
				c.DepFile = true
			}
			add(cl, a)
			continue
		}
		if handled, err := c.parseValueOpt(args, &i, &lang); handled || err != nil {
			if err != nil {
				return nil, err
			}
			continue
		}
		switch {
		case a == "-rdynamic":
			note(a, "a static unikernel application has no dynamic symbol table to export to")
			add(ClassDropped, a)
		case a == "-no-pie":
			note(a, "runikraft applications are always static-pie")
			add(ClassDropped, a)
		case strings.HasPrefix(a, "-Wl,"):
			add(ClassLink, a)
		case strings.HasPrefix(a, "-Wa,") || strings.HasPrefix(a, "-Wp,") || strings.HasPrefix(a, "-W"):
			add(ClassCompile, a)
		case picOpts[a]:
			add(ClassDropped, a)
		case strings.HasPrefix(a, "-fcf-protection"):
			note(a, "host-only")
			add(ClassDropped, a)
		case strings.HasPrefix(a, "-m"):
			if ok, why := keepMachineOpt(a); !ok {
				note(a, why)
				add(ClassDropped, a)
			} else {
				add(ClassBoth, a)
			}
		case strings.HasPrefix(a, "-std=") || strings.HasPrefix(a, "-pedantic") ||
			strings.HasPrefix(a, "--param=") || strings.HasPrefix(a, "-d"):
			add(ClassCompile, a)
		default:
			// -O*, -g*, -f*, -specs=, -save-temps=, and anything unknown:
			// gcc itself judges them, at both steps.
			add(ClassBoth, a)
		}
	}
	c.Mode = ModeLink
	for _, m := range stops {
		if m > c.Mode {
			c.Mode = m
		}
	}
	return c, nil
}

// parseValueOpt handles the options of valueOpts at args[*i].
func (c *Command) parseValueOpt(args []string, i *int, lang *string) (bool, error) {
	a := args[*i]
	for _, o := range valueOpts {
		if !strings.HasPrefix(a, o.name) {
			continue
		}
		toks := []string{a}
		v := a[len(o.name):]
		if v == "" {
			if *i+1 >= len(args) {
				return true, fmt.Errorf("missing argument to '%s'", a)
			}
			*i++
			v = args[*i]
			toks = append(toks, v)
		}
		switch o.name {
		case "-x":
			*lang = v
			if v == "none" {
				*lang = ""
			}
			if c.CXX == "" && cxxLangs[v] {
				c.CXX = "-x " + v
			}
		case "-o":
			c.Output = v
		case "-MF":
			c.DepNamed = true
		case "-MT", "-MQ":
			c.DepTarget = true
		}
		c.Args = append(c.Args, Arg{Tokens: toks, Class: o.class})
		return true, nil
	}
	return false, nil
}

// isQuery reports the options that make gcc print something and stop.
func isQuery(a string) bool {
	switch {
	case a == "--version", a == "-dumpmachine", a == "-dumpversion", a == "-dumpfullversion",
		a == "-dumpspecs", a == "--help", a == "--target-help":
		return true
	case strings.HasPrefix(a, "--help="), strings.HasPrefix(a, "-print-"):
		return true
	}
	return false
}

// riscvFlags are the value-less -m options of riscv64 gcc (with their
// -mno- forms); riscvValueOpts take =VALUE.
var riscvFlags = map[string]bool{
	"big-endian": true, "little-endian": true, "bionic": true, "glibc": true, "musl": true,
	"uclibc": true, "div": true, "explicit-relocs": true, "fdiv": true, "plt": true,
	"relax": true, "riscv-attribute": true, "save-restore": true, "shorten-memrefs": true,
	"strict-align": true, "csr-check": true,
}

var riscvValueOpts = map[string]bool{
	"abi": true, "align-data": true, "arch": true, "branch-cost": true, "cmodel": true,
	"cpu": true, "isa-spec": true, "preferred-stack-boundary": true, "small-data-limit": true,
	"stack-protector-guard": true, "stack-protector-guard-reg": true,
	"stack-protector-guard-offset": true, "tune": true,
}

// riscvCPUs are the -mcpu=/-mtune= values riscv64 gcc knows of.
var riscvCPUs = map[string]bool{
	"rocket": true, "size": true, "thead-c906": true,
}

// keepMachineOpt decides whether a -m option is one for riscv64; others
// come from build systems written for the host (x86 -m64, -msse4.2,
// -march=native) and would make the cross gcc fail.
func keepMachineOpt(a string) (bool, string) {
	name, val, hasVal := strings.Cut(a[2:], "=")
	if !hasVal {
		return riscvFlags[strings.TrimPrefix(name, "no-")], "host-only"
	}
	if !riscvValueOpts[name] {
		return false, "host-only"
	}
	if val == "native" {
		return false, "host-only"
	}
	switch name {
	case "arch":
		return strings.HasPrefix(val, "rv"), "host-only"
	case "abi":
		return strings.HasPrefix(val, "lp64") || strings.HasPrefix(val, "ilp32"), "host-only"
	case "cmodel":
		return val == "medany" || val == "medlow", "host-only"
	case "cpu", "tune":
		return riscvCPUs[val] || strings.HasPrefix(val, "sifive-") || strings.HasPrefix(val, "thead-"), "host-only"
	}
	return true, ""
}
