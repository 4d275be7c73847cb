package posix

import (
	"strconv"
	"strings"
	"sync"
)

// The system-call tracer (runikraft run --strace): one line per call of
// the application, strace style, on Config.Trace:
//
//	openat(AT_FDCWD, "/tmp/x", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3
//	write(3, "hello\n", 6) = 6
//	openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)
//	[pid 2] futex(0x3f2c0a10, FUTEX_WAIT_PRIVATE, 0, NULL) = 0
//
// The line is written when the call returns (so a read shows what it
// read); calls that do not return (exit, exit_group) are written before,
// ending in "= ?". Everything read from the application is bounded.

// Kinds of arguments, for decoding.
type argKind uint8

const (
	aInt       argKind = iota // signed decimal
	aUint                     // unsigned decimal
	aHex                      // hexadecimal (flags not decoded, pointers)
	aPtr                      // a pointer: NULL or hex
	aFD                       // a file descriptor
	aDirFD                    // a directory descriptor: AT_FDCWD or a number
	aPath                     // a NUL-terminated string
	aBufIn                    // bytes the call reads from the app; length in the next argument
	aBufOut                   // bytes the call writes for the app; length is the result
	aOpenFlags                // open(2) flags
	aMode                     // file mode, octal
	aProt                     // mmap protection
	aMapFlags                 // mmap flags
	aWhence                   // lseek whence
	aSignal                   // a signal number
	aFutexOp                  // futex operation
)

// straceArgs says how to show the arguments of the calls worth decoding;
// other calls show as many hexadecimal arguments as their row's arity
// (six when unknown). Built on first use: only --strace reads it, and
// a map literal runs as code at every boot otherwise.
var straceArgs = sync.OnceValue(func() map[string][]argKind {
	return map[string][]argKind{
		"openat":          {aDirFD, aPath, aOpenFlags, aMode},
		"close":           {aFD},
		"read":            {aFD, aBufOut, aUint},
		"write":           {aFD, aBufIn, aUint},
		"pread64":         {aFD, aBufOut, aUint, aInt},
		"pwrite64":        {aFD, aBufIn, aUint, aInt},
		"readv":           {aFD, aPtr, aUint},
		"writev":          {aFD, aPtr, aUint},
		"lseek":           {aFD, aInt, aWhence},
		"newfstatat":      {aDirFD, aPath, aPtr, aHex},
		"fstat":           {aFD, aPtr},
		"statx":           {aDirFD, aPath, aHex, aHex, aPtr},
		"faccessat":       {aDirFD, aPath, aHex},
		"faccessat2":      {aDirFD, aPath, aHex, aHex},
		"unlinkat":        {aDirFD, aPath, aHex},
		"mkdirat":         {aDirFD, aPath, aMode},
		"renameat2":       {aDirFD, aPath, aDirFD, aPath, aHex},
		"readlinkat":      {aDirFD, aPath, aPtr, aUint},
		"chdir":           {aPath},
		"getcwd":          {aPtr, aUint},
		"getdents64":      {aFD, aPtr, aUint},
		"ioctl":           {aFD, aHex, aPtr},
		"fcntl":           {aFD, aInt, aHex},
		"dup":             {aFD},
		"dup3":            {aFD, aFD, aHex},
		"pipe2":           {aPtr, aHex},
		"mmap":            {aPtr, aUint, aProt, aMapFlags, aFD, aHex},
		"munmap":          {aPtr, aUint},
		"mprotect":        {aPtr, aUint, aProt},
		"brk":             {aPtr},
		"exit":            {aInt},
		"exit_group":      {aInt},
		"set_tid_address": {aPtr},
		"rt_sigaction":    {aSignal, aPtr, aPtr, aUint},
		"rt_sigprocmask":  {aInt, aPtr, aPtr, aUint},
		"kill":            {aInt, aSignal},
		"tgkill":          {aInt, aInt, aSignal},
		"clock_gettime":   {aInt, aPtr},
		"nanosleep":       {aPtr, aPtr},
		"futex":           {aPtr, aFutexOp, aInt, aPtr, aPtr, aInt},
		"getrandom":       {aPtr, aUint, aHex},
		"getpid":          {},
		"gettid":          {},
		"getuid":          {},
		"geteuid":         {},
		"getgid":          {},
		"getegid":         {},
		"sched_yield":     {},
		"uname":           {aPtr},
		"prlimit64":       {aInt, aInt, aPtr, aPtr},
	}
})

// noReturnCalls are written before they run.
func noReturnCall(name string) bool { return name == "exit" || name == "exit_group" }

// strace writes the line for one call; r is its result, done whether it
// returned (else the line ends in "= ?").
func (t *Thread) strace(nr uint64, e *entry, a *[6]uint64, r int64, done bool) {
	name := "syscall_" + strconv.FormatUint(nr, 10)
	if e != nil {
		name = e.name
	}
	kinds, known := straceArgs()[name]
	if !known {
		kinds = []argKind{aHex, aHex, aHex, aHex, aHex, aHex}
	}
	if name == "openat" && a[2]&(0o100|0o20000000) == 0 {
		kinds = kinds[:3] // the mode only matters with O_CREAT or O_TMPFILE
	}
	var b strings.Builder
	if t.tid != Pid {
		b.WriteString("[pid " + strconv.Itoa(t.tid) + "] ")
	}
	b.WriteString(name)
	b.WriteByte('(')
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		var next uint64
		if i+1 < len(a) {
			next = a[i+1]
		}
		t.straceArg(&b, k, a[i], next, r, done)
	}
	b.WriteString(") = ")
	switch {
	case !done:
		b.WriteByte('?')
	case r < 0 && r >= -4095:
		e := Errno(-r)
		b.WriteString("-1 " + errnoName(e) + " (" + errnoText(e) + ")")
	case name == "mmap" || name == "brk":
		b.WriteString("0x" + strconv.FormatUint(uint64(r), 16))
	default:
		b.WriteString(strconv.FormatInt(r, 10))
	}
	b.WriteByte('\n')
	t.p.cfg.Trace.Write([]byte(b.String())) // one write: threads do not interleave within a line
}

// maxShown bounds the bytes of a string or buffer shown, as strace's -s.
const maxShown = 32

func (t *Thread) straceArg(b *strings.Builder, k argKind, v, next uint64, r int64, done bool) {
	switch k {
	case aInt:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case aUint:
		b.WriteString(strconv.FormatUint(v, 10))
	case aHex:
		b.WriteString("0x" + strconv.FormatUint(v, 16))
	case aPtr:
		if v == 0 {
			b.WriteString("NULL")
		} else {
			b.WriteString("0x" + strconv.FormatUint(v, 16))
		}
	case aFD:
		b.WriteString(strconv.Itoa(int(int32(v))))
	case aDirFD:
		if int32(v) == -100 {
			b.WriteString("AT_FDCWD")
		} else {
			b.WriteString(strconv.Itoa(int(int32(v))))
		}
	case aPath:
		s, e := t.p.cpu.CopyInString(uintptr(v), 4096)
		if e != 0 {
			b.WriteString("0x" + strconv.FormatUint(v, 16))
			return
		}
		writeQuoted(b, []byte(s), len(s))
	case aBufIn, aBufOut:
		n := int64(next)
		if k == aBufOut {
			if !done || r < 0 {
				b.WriteString("0x" + strconv.FormatUint(v, 16))
				return
			}
			n = r
		}
		if n < 0 {
			n = 0
		}
		shown := min(n, maxShown)
		buf := make([]byte, shown)
		if t.p.cpu.CopyIn(buf, uintptr(v)) != 0 {
			b.WriteString("0x" + strconv.FormatUint(v, 16))
			return
		}
		writeQuoted(b, buf, int(min(n, 1<<30)))
	case aOpenFlags:
		b.WriteString(openFlags(v))
	case aMode:
		b.WriteString("0" + strconv.FormatUint(v&0o7777, 8))
	case aProt:
		b.WriteString(flagNames(v, []flagName{{1, "PROT_READ"}, {2, "PROT_WRITE"}, {4, "PROT_EXEC"}}, "PROT_NONE"))
	case aMapFlags:
		b.WriteString(flagNames(v, []flagName{{1, "MAP_SHARED"}, {2, "MAP_PRIVATE"}, {0x10, "MAP_FIXED"}, {0x20, "MAP_ANONYMOUS"},
			{0x100, "MAP_GROWSDOWN"}, {0x4000, "MAP_NORESERVE"}, {0x8000, "MAP_POPULATE"}, {0x20000, "MAP_STACK"}, {0x100000, "MAP_FIXED_NOREPLACE"}}, "0"))
	case aWhence:
		switch v {
		case 0:
			b.WriteString("SEEK_SET")
		case 1:
			b.WriteString("SEEK_CUR")
		case 2:
			b.WriteString("SEEK_END")
		default:
			b.WriteString(strconv.FormatUint(v, 10))
		}
	case aSignal:
		if v >= 1 && v <= 64 {
			b.WriteString(sigName(int(v)))
		} else {
			b.WriteString(strconv.FormatUint(v, 10))
		}
	case aFutexOp:
		ops := []string{"FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE", "FUTEX_WAKE_OP", "FUTEX_LOCK_PI", "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI", "FUTEX_WAIT_BITSET", "FUTEX_WAKE_BITSET"}
		op := v &^ (128 | 256)
		if op < uint64(len(ops)) {
			b.WriteString(ops[op])
			if v&128 != 0 {
				b.WriteString("_PRIVATE")
			}
			if v&256 != 0 {
				b.WriteString("|FUTEX_CLOCK_REALTIME")
			}
		} else {
			b.WriteString(strconv.FormatUint(v, 10))
		}
	}
}

// writeQuoted writes buf as a C string literal, with "..." when the
// whole was n bytes and more than shown.
func writeQuoted(b *strings.Builder, buf []byte, n int) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, c := range buf[:min(len(buf), maxShown)] {
		switch c {
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			if c < ' ' || c > '~' {
				b.WriteString(`\x`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	if n > maxShown {
		b.WriteString("...")
	}
}

type flagName struct {
	bit  uint64
	name string
}

func flagNames(v uint64, names []flagName, zero string) string {
	if v == 0 {
		return zero
	}
	var parts []string
	for _, f := range names {
		if v&f.bit == f.bit {
			parts = append(parts, f.name)
			v &^= f.bit
		}
	}
	if v != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(v, 16))
	}
	return strings.Join(parts, "|")
}

func openFlags(v uint64) string {
	acc := []string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[v&3]
	rest := flagNames(v&^3, []flagName{{0o100, "O_CREAT"}, {0o200, "O_EXCL"}, {0o400, "O_NOCTTY"}, {0o1000, "O_TRUNC"},
		{0o2000, "O_APPEND"}, {0o4000, "O_NONBLOCK"}, {0o10000, "O_DSYNC"}, {0o200000, "O_DIRECTORY"}, {0o400000, "O_NOFOLLOW"},
		{0o1000000, "O_NOATIME"}, {0o2000000, "O_CLOEXEC"}, {0o4010000, "O_SYNC"}, {0o10000000, "O_PATH"}, {0o20200000, "O_TMPFILE"},
		{0o100000, "O_LARGEFILE"}}, "")
	if rest == "" {
		return acc
	}
	return acc + "|" + rest
}

// errnoNames are the names strace prints for the errors applications
// commonly see, by number (an array the linker lays out as data, where a
// map would be built by code at boot); others print as E<number>.
var errnoNames = [...]string{
	1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC", 9: "EBADF",
	10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV",
	19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY",
	27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 30: "EROFS", 31: "EMLINK", 32: "EPIPE", 33: "EDOM", 34: "ERANGE",
	35: "EDEADLK", 36: "ENAMETOOLONG", 37: "ENOLCK", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 61: "ENODATA",
	75: "EOVERFLOW", 88: "ENOTSOCK", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 110: "ETIMEDOUT", 111: "ECONNREFUSED",
	512: "ERESTARTSYS",
}

func errnoName(e Errno) string {
	if e < Errno(len(errnoNames)) && errnoNames[e] != "" {
		return errnoNames[e]
	}
	return "E" + strconv.Itoa(int(e))
}

func errnoText(e Errno) string {
	if e == 512 {
		return "To be restarted"
	}
	s := e.Error()
	if s == "" {
		return "errno " + strconv.Itoa(int(e))
	}
	// Go's messages are lower case; strace's (from libc) are capitalised.
	return strings.ToUpper(s[:1]) + s[1:]
}
