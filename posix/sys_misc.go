package posix

import (
	"encoding/binary"
	"io"
	"runtime"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Identity, limits, entropy and other small questions.

// sysSetID implements setgid(2) and setuid.
func sysSetID(_ *Thread, a *[6]uint64) int64 {
	if a[0] != 0 {
		return errno(linux.EPERM)
	}
	return 0
}

// sysGetres implements getresuid(2) and getresgid.
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

// sysUname implements uname(2).
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

const ()

func rlimit(res uint64) (cur, max uint64) {
	switch res {
	case linux.RLIMIT_STACK:
		return 8 << 20, linux.RLIM_INFINITY
	case linux.RLIMIT_NOFILE:
		return maxFDs, maxFDs
	}
	return linux.RLIM_INFINITY, linux.RLIM_INFINITY
}

func (t *Thread) putRlimit(addr uintptr, res uint64) Errno {
	cur, max := rlimit(res)
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], cur)
	binary.LittleEndian.PutUint64(b[8:], max)
	return t.p.cpu.CopyOut(addr, b[:])
}

// sysPrlimit implements prlimit64(2).
func sysPrlimit(t *Thread, a *[6]uint64) int64 {
	if a[0] != 0 && a[0] != Pid {
		return errno(linux.ESRCH)
	}
	if a[1] > 15 {
		return errno(linux.EINVAL)
	}
	if a[3] != 0 {
		return errno(t.putRlimit(uintptr(a[3]), a[1]))
	}
	return 0
}

// sysGetrlimit implements getrlimit(2).
func sysGetrlimit(t *Thread, a *[6]uint64) int64 {
	if a[0] > 15 {
		return errno(linux.EINVAL)
	}
	return errno(t.putRlimit(uintptr(a[1]), a[0]))
}

// sysGetrusage implements getrusage(2): ru_maxrss (KiB) is the
// application's most resident memory, for every target but the children
// (there are none); the times and counters it does not keep are 0.
func sysGetrusage(t *Thread, a *[6]uint64) int64 {
	var b [144]byte
	switch int32(a[0]) {
	case linux.RUSAGE_SELF, linux.RUSAGE_THREAD:
		_, peak := t.p.resident()
		binary.LittleEndian.PutUint64(b[32:], peak>>10) // after ru_utime and ru_stime
	case linux.RUSAGE_CHILDREN:
	default:
		return errno(linux.EINVAL)
	}
	return errno(t.p.cpu.CopyOut(uintptr(a[1]), b[:]))
}

// sysGetrandom implements getrandom(2).
func sysGetrandom(t *Thread, a *[6]uint64) int64 {
	n := a[1]
	if n > 32<<20 {
		n = 32 << 20 // Linux also returns short for huge requests
	}
	buf := make([]byte, min(n, 64<<10))
	for off := uint64(0); off < n; off += uint64(len(buf)) {
		chunk := buf[:min(uint64(len(buf)), n-off)]
		if _, err := io.ReadFull(t.p.cfg.Random, chunk); err != nil {
			return errno(linux.EIO)
		}
		if e := t.p.cpu.CopyOut(uintptr(a[0]+off), chunk); e != 0 {
			return errno(e)
		}
	}
	return int64(n)
}

// sysSysinfo implements sysinfo(2).
func sysSysinfo(t *Thread, a *[6]uint64) int64 {
	var b [112]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(clockNow(false).Seconds())) // uptime
	le.PutUint64(b[32:], t.p.cfg.MemoryBytes)              // totalram
	le.PutUint64(b[40:], t.p.memFree())                    // freeram
	le.PutUint16(b[80:], uint16(len(t.p.threads)))         // procs
	le.PutUint32(b[104:], 1)                               // mem_unit
	return errno(t.p.cpu.CopyOut(uintptr(a[0]), b[:]))
}

// sysUmask implements umask(2).
func sysUmask(t *Thread, a *[6]uint64) int64 {
	return int64(t.p.umask.Swap(uint32(a[0]) & 0o777))
}

// sysPrctl implements prctl(2).
func sysPrctl(t *Thread, a *[6]uint64) int64 {
	switch a[0] {
	case linux.PR_SET_NAME:
		name, e := t.p.cpu.CopyInString(uintptr(a[1]), 16)
		if e != 0 && e != linux.ENAMETOOLONG {
			return errno(e)
		}
		t.name = name
		return 0
	case linux.PR_GET_NAME:
		var b [16]byte
		copy(b[:15], t.name)
		return errno(t.p.cpu.CopyOut(uintptr(a[1]), b[:]))
	}
	return errno(linux.EINVAL)
}

// wait(2) flags.
const (
	waitKernel = linux.WNOTHREAD | linux.WALL | linux.WCLONE
)

// sysWait4 is wait4 for a process that cannot have children: after
// Linux's argument checks, ECHILD, which is what callers (os.Process.Wait,
// waitpid loops in shells and init-like programs) expect then.
func sysWait4(_ *Thread, a *[6]uint64) int64 {
	if uint32(a[2])&^(linux.WNOHANG|linux.WUNTRACED|linux.WCONTINUED|waitKernel) != 0 {
		return errno(linux.EINVAL)
	}
	if int32(a[0]) == -1<<31 {
		return errno(linux.ESRCH) // -INT_MIN has no process group
	}
	return errno(linux.ECHILD)
}

// sysWaitid is waitid with the same answer; P_PIDFD needs a pidfd, which
// this kernel never makes (pidfd_open is ENOSYS).
func sysWaitid(t *Thread, a *[6]uint64) int64 {
	opts := uint32(a[3])
	if opts&^(linux.WNOHANG|linux.WNOWAIT|linux.WEXITED|linux.WUNTRACED|linux.WCONTINUED|waitKernel) != 0 ||
		opts&(linux.WEXITED|linux.WUNTRACED|linux.WCONTINUED) == 0 {
		return errno(linux.EINVAL)
	}
	id := int32(a[1])
	switch a[0] {
	case linux.P_ALL:
	case linux.P_PID:
		if id <= 0 {
			return errno(linux.EINVAL)
		}
	case linux.P_PGID:
		if id < 0 {
			return errno(linux.EINVAL)
		}
	case linux.P_PIDFD:
		if _, e := t.fd(a[1]); e != 0 {
			return errno(e)
		}
		return errno(linux.EINVAL)
	default:
		return errno(linux.EINVAL)
	}
	return errno(linux.ECHILD)
}

// sysGetuid implements getuid(2), geteuid, getgid and getegid: root.
func sysGetuid(*Thread, *[6]uint64) int64 { return 0 }

// sysGetgroups implements getgroups(2): no supplementary groups.
func sysGetgroups(*Thread, *[6]uint64) int64 { return 0 }

// sysSetpgid implements setpgid(2): accepted, ignored.
func sysSetpgid(*Thread, *[6]uint64) int64 { return 0 }

// sysSetrlimit implements setrlimit(2): accepted, not enforced.
func sysSetrlimit(*Thread, *[6]uint64) int64 { return 0 }

// sysPersonality implements personality(2): always PER_LINUX.
func sysPersonality(*Thread, *[6]uint64) int64 { return 0 }

// sysFadvise64 implements fadvise64(2): the advice is checked and
// accepted; files live in RAM, so there is nothing to read ahead or drop.
func sysFadvise64(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	if of.f.Stat().Mode&linux.S_IFMT == linux.S_IFIFO {
		return errno(linux.ESPIPE)
	}
	if int64(a[2]) < 0 || a[3] > linux.POSIX_FADV_NOREUSE {
		return errno(linux.EINVAL)
	}
	return 0
}

// prioTarget checks getpriority/setpriority's which and who: the one
// process (its pid, any of its thread ids, its group, root's uid).
func (t *Thread) prioTarget(which, who uint64) Errno {
	w := int64(int32(who))
	switch which {
	case linux.PRIO_PROCESS:
		if w != 0 && w != Pid && t.p.thread(int(w)) == nil {
			return linux.ESRCH
		}
	case linux.PRIO_PGRP:
		if w != 0 && w != Pid {
			return linux.ESRCH
		}
	case linux.PRIO_USER:
		if w != 0 {
			return linux.ESRCH
		}
	default:
		return linux.EINVAL
	}
	return 0
}

// sysGetpriority implements getpriority(2): the kernel's answer is
// 20 - nice (1..40), which the C library turns back into the nice value.
func sysGetpriority(t *Thread, a *[6]uint64) int64 {
	if e := t.prioTarget(a[0], a[1]); e != 0 {
		return errno(e)
	}
	return 20 - int64(t.p.nice.Load())
}

// sysSetpriority implements setpriority(2): the nice value is recorded
// (clamped to -20..19, as Linux does) and reported back; one scheduling
// class runs everything.
func sysSetpriority(t *Thread, a *[6]uint64) int64 {
	if e := t.prioTarget(a[0], a[1]); e != 0 {
		return errno(e)
	}
	nice := min(max(int64(int32(a[2])), linux.PRIO_MIN), linux.PRIO_MAX-1)
	t.p.nice.Store(int32(nice))
	return 0
}
