package bootargs

// MarkerKey asks the kernel to print its console marker (kernel/abi's
// ConsoleMarker) first: runikraft run, which drops everything before it as
// firmware output, passes MarkerKey=1. A plain boot gets a clean console.
const MarkerKey = "runikraft.marker"

// Debugging parameters runikraft run passes: LoadBaseKey=0x... places a
// static-pie application there instead of at a random address
// (--gdb, which chose the address at random itself and tells gdb);
// StraceKey=1 logs every system call of the application (--strace);
// DebugKey=1 has the kernel log its boot timeline and its own memory
// (--debug).
const (
	LoadBaseKey = "runikraft.loadbase"
	StraceKey   = "runikraft.strace"
	DebugKey    = "runikraft.debug"
)

// A Linux-style command line, for hypervisors that take a plain kernel
// command line (QEMU's -append, libvirt's <cmdline>), read as Linux hands
// its command line to init:
//
//	FOO=bar LANG=C -- arg1 'arg two'
//
// Words after the first bare "--" are the application's arguments
// (argv[1:]); KEY=VALUE words before it whose KEY is not a kernel
// parameter (runikraft.*) become its environment. Words are separated by
// blanks; single quotes keep everything up to the next single quote,
// double quotes everything up to the next double quote except that a
// backslash escapes the next byte, and outside quotes a backslash escapes
// the next byte (so 'b c', "b c" and b\ c are one word). The base64
// parameters of Encode (the exact encoding runikraft run uses, for any
// bytes) mix freely with this form.

// Cmdline is a parsed kernel command line.
type Cmdline struct {
	Args    []string          // runikraft.args: the whole argv; nil when absent
	HasArgs bool              // runikraft.args was given (possibly empty)
	Env     []string          // runikraft.env, then the KEY=VALUE words, in order
	HasEnv  bool              // runikraft.env was given
	Tail    []string          // the words after "--"
	HasTail bool              // "--" was given (possibly with nothing after it)
	Params  map[string]string // every runikraft.* parameter's raw value, last wins (the kernel's namespace)
	// Warnings are one-line descriptions of words the kernel cannot use;
	// the kernel logs them and carries on.
	Warnings []string
}

// Parse reads a kernel command line of either form (see above). Only a
// damaged runikraft.args or runikraft.env is an error: the kernel cannot
// know what the application was meant to get.
func Parse(cmdline string) (Cmdline, error) {
	var c Cmdline
	words, unterminated := splitWords(cmdline)
	if unterminated {
		c.Warnings = append(c.Warnings, "unterminated quote: the last word runs to the end of the line")
	}
	var linuxEnv []string
	for i, w := range words {
		if w.text == "--" && !w.quoted {
			c.HasTail = true
			c.Tail = make([]string, 0, len(words)-i-1)
			for _, t := range words[i+1:] {
				c.Tail = append(c.Tail, t.text)
			}
			break
		}
		key, value, ok := cutEquals(w.text)
		switch {
		case ok && hasPrefix(key, "runikraft."):
			// The kernel's own parameters (this package's keys, and those
			// of packages such as the network stack), never environment.
			if c.Params == nil {
				c.Params = map[string]string{}
			}
			c.Params[key] = value
		case ok && envName(key):
			linuxEnv = append(linuxEnv, w.text)
		case ok:
			c.Warnings = append(c.Warnings, "ignoring "+quote(w.text)+": "+quote(key)+" is not an environment variable name")
		default:
			c.Warnings = append(c.Warnings, "ignoring "+quote(w.text)+": not KEY=VALUE (application arguments go after --)")
		}
	}
	var err error
	if v, ok := c.Params[ArgsKey]; ok {
		c.HasArgs = true
		if c.Args, err = DecodeList(v); err != nil {
			return Cmdline{}, Error(ArgsKey + ": " + err.Error())
		}
	}
	if v, ok := c.Params[EnvKey]; ok {
		c.HasEnv = true
		if c.Env, err = DecodeList(v); err != nil {
			return Cmdline{}, Error(EnvKey + ": " + err.Error())
		}
	}
	c.Env = MergeEnv(c.Env, linuxEnv)
	return c, nil
}

// Over returns the argv and environment of command line c laid over
// base, the defaults baked into an image: runikraft.args replaces base's
// argv (and words after "--" follow it); otherwise words after "--"
// replace base's arguments but keep its argv[0] ("app" without one).
// runikraft.env replaces base's environment; KEY=VALUE words are set on
// top of whichever is left.
func (c Cmdline) Over(base Cmdline) (args, env []string) {
	switch {
	case c.HasArgs:
		args = append(append([]string(nil), c.Args...), c.Tail...)
	default:
		argv0 := "app"
		if len(base.Args) > 0 {
			argv0 = base.Args[0]
		}
		rest := c.Tail
		if !c.HasTail && len(base.Args) > 1 {
			rest = base.Args[1:]
		}
		args = append([]string{argv0}, rest...)
	}
	if c.HasEnv {
		env = c.Env
	} else {
		env = MergeEnv(base.Env, c.Env)
	}
	return args, env
}

// MergeEnv returns base with over applied: a key set in both takes over's
// value at base's position (a libc would otherwise see the first of two
// entries).
func MergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range over {
		k, _, _ := cutEquals(kv)
		found := false
		for i, e := range out {
			if ek, _, _ := cutEquals(e); ek == k {
				out[i], found = kv, true
				break
			}
		}
		if !found {
			out = append(out, kv)
		}
	}
	return out
}

type word struct {
	text   string
	quoted bool // some part was quoted or escaped: "--" in quotes is an argument
}

// splitWords splits a command line into words (see the package's Linux
// form) and reports an unterminated quote.
func splitWords(s string) (words []word, unterminated bool) {
	var cur []byte
	in := false // inside a word
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			if in {
				words = append(words, word{string(cur), quoted})
				cur, in, quoted = cur[:0], false, false
			}
		case c == '\\':
			in, quoted = true, true
			if i+1 < len(s) {
				i++
				cur = append(cur, s[i])
			}
		case c == '\'' || c == '"':
			in, quoted = true, true
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if c == '"' && s[j] == '\\' && j+1 < len(s) {
					j++
				}
				cur = append(cur, s[j])
			}
			if j >= len(s) {
				unterminated = true
			}
			i = j
		default:
			in = true
			cur = append(cur, c)
		}
	}
	if in {
		words = append(words, word{string(cur), quoted})
	}
	return words, unterminated
}

func cutEquals(s string) (key, value string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// envName reports whether s is a portable environment variable name.
func envName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// quote returns s in double quotes with control and non-ASCII bytes as
// \xHH, for a log line (the package avoids strconv to stay import-free).
func quote(s string) string {
	const hex = "0123456789abcdef"
	b := []byte{'"'}
	for i := 0; i < len(s) && i < 200; i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < ' ' || c > '~':
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	if len(s) > 200 {
		b = append(b, "..."...)
	}
	return string(append(b, '"'))
}
