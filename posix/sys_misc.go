package posix

import (
	"encoding/binary"
	"io"
	"runtime"
	"syscall"
)

// Identity, limits, entropy and other small questions.

var miscCalls = []entry{
	{nr: 160, name: "uname", fn: sysUname},
	{nr: 174, name: "getuid", fn: zero},
	{nr: 175, name: "geteuid", fn: zero},
	{nr: 176, name: "getgid", fn: zero},
	{nr: 177, name: "getegid", fn: zero},
	{nr: 148, name: "getresuid", fn: sysGetres},
	{nr: 150, name: "getresgid", fn: sysGetres},
	{nr: 146, name: "setuid", fn: sysSetID, level: Partial, note: "the app is root; only 0 is accepted"},
	{nr: 144, name: "setgid", fn: sysSetID, level: Partial, note: "only 0 is accepted"},
	{nr: 158, name: "getgroups", fn: zero},
	{nr: 155, name: "getpgid", fn: func(*Thread, *[6]uint64) int64 { return Pid }},
	{nr: 156, name: "getsid", fn: func(*Thread, *[6]uint64) int64 { return Pid }},
	{nr: 157, name: "setsid", fn: func(*Thread, *[6]uint64) int64 { return Pid }},
	{nr: 154, name: "setpgid", fn: zero},
	{nr: 261, name: "prlimit64", fn: sysPrlimit},
	{nr: 163, name: "getrlimit", fn: sysGetrlimit},
	{nr: 164, name: "setrlimit", fn: zero, level: Partial, note: "accepted, not enforced"},
	{nr: 165, name: "getrusage", fn: sysGetrusage, level: Partial, note: "zeros: no accounting yet"},
	{nr: 278, name: "getrandom", fn: sysGetrandom, note: "ChaCha20 seeded from virtio-rng / the device tree"},
	{nr: 179, name: "sysinfo", fn: sysSysinfo},
	{nr: 166, name: "umask", fn: sysUmask},
	{nr: 167, name: "prctl", fn: sysPrctl, level: Partial, note: "PR_SET_NAME, PR_GET_NAME; others EINVAL"},
	{nr: 92, name: "personality", fn: zero},
	{nr: 260, name: "wait4", fn: sysWait4, note: "ECHILD: no fork, so never a child to wait for"},
	{nr: 95, name: "waitid", fn: sysWaitid, note: "ECHILD: no fork, so never a child to wait for"},
}

func zero(*Thread, *[6]uint64) int64 { return 0 }

func sysSetID(_ *Thread, a *[6]uint64) int64 {
	if a[0] != 0 {
		return errno(syscall.EPERM)
	}
	return 0
}

func sysGetres(t *Thread, a *[6]uint64) int64 {
	for _, p := range a[:3] {
		if e := t.put32(uintptr(p), 0); e != 0 {
			return errno(e)
		}
	}
	return 0
}

// utsField writes s NUL-padded into a 65-byte utsname field.
func utsField(b []byte, s string) { copy(b[:64], s) }

func sysUname(t *Thread, a *[6]uint64) int64 {
	var u [65 * 6]byte
	host := t.p.cfg.Hostname
	if host == "" {
		host = "runikraft"
	}
	utsField(u[0:], "Linux") // apps test for Linux to pick code paths
	utsField(u[65:], host)
	utsField(u[130:], "6.1.0-runikraft")
	utsField(u[195:], "#1 SMP Runikraft "+runtime.Version())
	utsField(u[260:], "riscv64")
	utsField(u[325:], "(none)")
	return errno(t.p.cpu.CopyOut(uintptr(a[0]), u[:]))
}

const (
	rlimitStack  = 3
	rlimitNofile = 7
	rlimInfinity = ^uint64(0)
)

func rlimit(res uint64) (cur, max uint64) {
	switch res {
	case rlimitStack:
		return 8 << 20, rlimInfinity
	case rlimitNofile:
		return maxFDs, maxFDs
	}
	return rlimInfinity, rlimInfinity
}

func (t *Thread) putRlimit(addr uintptr, res uint64) Errno {
	cur, max := rlimit(res)
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], cur)
	binary.LittleEndian.PutUint64(b[8:], max)
	return t.p.cpu.CopyOut(addr, b[:])
}

func sysPrlimit(t *Thread, a *[6]uint64) int64 {
	if a[0] != 0 && a[0] != Pid {
		return errno(syscall.ESRCH)
	}
	if a[1] > 15 {
		return errno(syscall.EINVAL)
	}
	if a[3] != 0 {
		return errno(t.putRlimit(uintptr(a[3]), a[1]))
	}
	return 0
}

func sysGetrlimit(t *Thread, a *[6]uint64) int64 {
	if a[0] > 15 {
		return errno(syscall.EINVAL)
	}
	return errno(t.putRlimit(uintptr(a[1]), a[0]))
}

func sysGetrusage(t *Thread, a *[6]uint64) int64 {
	var b [144]byte
	return errno(t.p.cpu.CopyOut(uintptr(a[1]), b[:]))
}

func sysGetrandom(t *Thread, a *[6]uint64) int64 {
	n := a[1]
	if n > 32<<20 {
		n = 32 << 20 // Linux also returns short for huge requests
	}
	buf := make([]byte, min(n, 64<<10))
	for off := uint64(0); off < n; off += uint64(len(buf)) {
		chunk := buf[:min(uint64(len(buf)), n-off)]
		if _, err := io.ReadFull(t.p.cfg.Random, chunk); err != nil {
			return errno(syscall.EIO)
		}
		if e := t.p.cpu.CopyOut(uintptr(a[0]+off), chunk); e != 0 {
			return errno(e)
		}
	}
	return int64(n)
}

func sysSysinfo(t *Thread, a *[6]uint64) int64 {
	var b [112]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(clockNow(false).Seconds())) // uptime
	le.PutUint64(b[32:], t.p.cfg.MemoryBytes)              // totalram
	le.PutUint64(b[40:], t.p.cfg.MemoryBytes/2)            // freeram (estimate)
	le.PutUint16(b[80:], uint16(len(t.p.threads)))         // procs
	le.PutUint32(b[104:], 1)                               // mem_unit
	return errno(t.p.cpu.CopyOut(uintptr(a[0]), b[:]))
}

func sysUmask(t *Thread, a *[6]uint64) int64 {
	return int64(t.p.umask.Swap(uint32(a[0]) & 0o777))
}

func sysPrctl(t *Thread, a *[6]uint64) int64 {
	const prSetName, prGetName = 15, 16
	switch a[0] {
	case prSetName:
		name, e := t.p.cpu.CopyInString(uintptr(a[1]), 16)
		if e != 0 && e != syscall.ENAMETOOLONG {
			return errno(e)
		}
		t.name = name
		return 0
	case prGetName:
		var b [16]byte
		copy(b[:15], t.name)
		return errno(t.p.cpu.CopyOut(uintptr(a[1]), b[:]))
	}
	return errno(syscall.EINVAL)
}

// wait(2) flags.
const (
	wNohang    = 0x1
	wStopped   = 0x2 // WUNTRACED for wait4
	wExited    = 0x4
	wContinued = 0x8
	wNowait    = 0x1000000
	wNothread  = 0x20000000
	wAll       = 0x40000000
	wClone     = 0x80000000
	waitKernel = wNothread | wAll | wClone

	pAll, pPid, pPgid, pPidfd = 0, 1, 2, 3 // waitid id types
)

// sysWait4 is wait4 for a process that cannot have children: after
// Linux's argument checks, ECHILD, which is what callers (os.Process.Wait,
// waitpid loops in shells and init-like programs) expect then.
func sysWait4(_ *Thread, a *[6]uint64) int64 {
	if uint32(a[2])&^(wNohang|wStopped|wContinued|waitKernel) != 0 {
		return errno(syscall.EINVAL)
	}
	if int32(a[0]) == -1<<31 {
		return errno(syscall.ESRCH) // -INT_MIN has no process group
	}
	return errno(syscall.ECHILD)
}

// sysWaitid is waitid with the same answer; P_PIDFD needs a pidfd, which
// this kernel never makes (pidfd_open is ENOSYS).
func sysWaitid(t *Thread, a *[6]uint64) int64 {
	opts := uint32(a[3])
	if opts&^(wNohang|wNowait|wExited|wStopped|wContinued|waitKernel) != 0 ||
		opts&(wExited|wStopped|wContinued) == 0 {
		return errno(syscall.EINVAL)
	}
	id := int32(a[1])
	switch a[0] {
	case pAll:
	case pPid:
		if id <= 0 {
			return errno(syscall.EINVAL)
		}
	case pPgid:
		if id < 0 {
			return errno(syscall.EINVAL)
		}
	case pPidfd:
		if _, e := t.fd(a[1]); e != 0 {
			return errno(e)
		}
		return errno(syscall.EINVAL)
	default:
		return errno(syscall.EINVAL)
	}
	return errno(syscall.ECHILD)
}
