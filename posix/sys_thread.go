package posix

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Threads: clone for new threads (no fork: one application per image),
// exit, ids, scheduling hints. Futexes are in sys_futex.go.

// put32, put64, get32 and get64 go through t.word rather than a local
// array: the CPU is an interface, so a local would escape and cost an
// allocation per call. Only the thread's own goroutine uses them.

func (t *Thread) put32(addr uintptr, v uint32) Errno {
	b := t.word[:4]
	binary.LittleEndian.PutUint32(b, v)
	return t.p.cpu.CopyOut(addr, b)
}

func (t *Thread) put64(addr uintptr, v uint64) Errno {
	b := t.word[:8]
	binary.LittleEndian.PutUint64(b, v)
	return t.p.cpu.CopyOut(addr, b)
}

func (t *Thread) get32(addr uintptr) (uint32, Errno) {
	b := t.word[:4]
	if e := t.p.cpu.CopyIn(b, addr); e != 0 {
		return 0, e
	}
	return binary.LittleEndian.Uint32(b), 0
}

func (t *Thread) get64(addr uintptr) (uint64, Errno) {
	b := t.word[:8]
	if e := t.p.cpu.CopyIn(b, addr); e != 0 {
		return 0, e
	}
	return binary.LittleEndian.Uint64(b), 0
}

// sysClone implements clone(2).
func sysClone(t *Thread, a *[6]uint64) int64 {
	flags, stack, ptid, tls, ctid := a[0], a[1], uintptr(a[2]), a[3], uintptr(a[4])
	if flags&(linux.CLONE_VM|linux.CLONE_THREAD|linux.CLONE_SIGHAND) != linux.CLONE_VM|linux.CLONE_THREAD|linux.CLONE_SIGHAND || flags&linux.CLONE_VFORK != 0 {
		if _, seen := t.p.reported.LoadOrStore("fork", true); !seen {
			t.p.logf("app tried to fork (clone flags %#x): one application per image, ENOSYS", flags)
		}
		return errno(linux.ENOSYS)
	}
	c := t.p.newThread()
	*c.u = *t.u // registers, FP state, and the PC past the ecall
	c.u.Tid = uint32(c.tid)
	c.u.X[abi.RegA0] = 0
	c.u.Kick = 0
	if stack != 0 {
		c.u.X[abi.RegSP] = stack
	}
	if flags&linux.CLONE_SETTLS != 0 {
		c.u.X[abi.RegTP] = tls
	}
	c.sig.mask.Store(t.sig.mask.Load())
	if flags&linux.CLONE_PARENT_SETTID != 0 {
		t.put32(ptid, uint32(c.tid))
	}
	if flags&linux.CLONE_CHILD_SETTID != 0 {
		t.put32(ctid, uint32(c.tid))
	}
	if flags&linux.CLONE_CHILD_CLEARTID != 0 {
		c.clearTID = ctid
	}
	go c.run()
	return int64(c.tid)
}

// sysExit implements exit(2).
func sysExit(t *Thread, a *[6]uint64) int64 {
	t.p.lastStatus.Store(int32(a[0] & 0xff))
	t.exiting.Store(true)
	return noReturn
}

// sysExitGroup implements exit_group(2).
func sysExitGroup(t *Thread, a *[6]uint64) int64 {
	t.p.exit(int(a[0] & 0xff))
	return noReturn
}

// sysSetTidAddress implements set_tid_address(2).
func sysSetTidAddress(t *Thread, a *[6]uint64) int64 {
	t.clearTID = uintptr(a[0])
	return int64(t.tid)
}

// sysSetRobustList implements set_robust_list(2).
func sysSetRobustList(t *Thread, a *[6]uint64) int64 {
	if a[1] != 24 { // sizeof(struct robust_list_head)
		return errno(linux.EINVAL)
	}
	t.robust = uintptr(a[0])
	return 0
}

// sysGetRobustList implements get_robust_list(2).
func sysGetRobustList(t *Thread, a *[6]uint64) int64 {
	o := t
	if a[0] != 0 {
		if o = t.p.thread(int(a[0])); o == nil {
			return errno(linux.ESRCH)
		}
	}
	if e := t.put64(uintptr(a[1]), uint64(o.robust)); e != 0 {
		return errno(e)
	}
	return errno(t.put64(uintptr(a[2]), 24))
}

// sysSchedGetaffinity implements sched_getaffinity(2): the thread's
// mask (sched_setaffinity), all online CPUs if it has none.
func sysSchedGetaffinity(t *Thread, a *[6]uint64) int64 {
	o, e := affinityTarget(t, a[0])
	if e != 0 {
		return errno(e)
	}
	size := a[1]
	if size < 8 || size%8 != 0 {
		return errno(linux.EINVAL)
	}
	mask := uint64(atomic.LoadUint32(&o.u.Affinity)) & onlineCPUs()
	if mask == 0 {
		mask = onlineCPUs()
	}
	if e := t.put64(uintptr(a[2]), mask); e != 0 {
		return errno(e)
	}
	return 8
}

// affinityTarget is the thread a sched_*affinity call names: the caller
// for 0, else the thread with that id.
func affinityTarget(t *Thread, pid uint64) (*Thread, linux.Errno) {
	if pid == 0 {
		return t, 0
	}
	if pid > 1<<31 {
		return nil, linux.ESRCH
	}
	o := t.p.thread(int(pid))
	if o == nil {
		return nil, linux.ESRCH
	}
	return o, 0
}

// onlineCPUs is the mask of online CPUs that an affinity can name
// (UserContext.Affinity has 32 bits).
func onlineCPUs() uint64 { return uint64(1)<<uint(min(ncpu(), 32)) - 1 }

// sysGetcpu implements getcpu(2): the CPU on which the thread's own code
// last ran, just before this call (as on Linux, it may be elsewhere by the
// time it looks); with sched_setaffinity, one in its mask.
func sysGetcpu(t *Thread, a *[6]uint64) int64 {
	if a[0] != 0 {
		if e := t.put32(uintptr(a[0]), uint32(currentCPU(t.u))); e != 0 {
			return errno(e)
		}
	}
	if a[1] != 0 {
		if e := t.put32(uintptr(a[1]), 0); e != 0 {
			return errno(e)
		}
	}
	return 0
}

// sysGettid implements gettid(2).
func sysGettid(t *Thread, _ *[6]uint64) int64 { return int64(t.tid) }

// sysGetpid implements getpid(2) (and getpgid, getsid, setsid: the
// application is process 1, leading its group and session).
func sysGetpid(*Thread, *[6]uint64) int64 { return Pid }

// sysGetppid implements getppid(2): init has no parent.
func sysGetppid(*Thread, *[6]uint64) int64 { return 0 }

// sysSchedYield implements sched_yield(2).
func sysSchedYield(*Thread, *[6]uint64) int64 { yield(); return 0 }

// sysSchedSetaffinity implements sched_setaffinity(2): the thread's user
// code runs only on the online CPUs of mask from its next return to user
// mode (a mask with none is EINVAL, like Linux). Another thread named by
// its id moves at its next trap into the kernel. The kernel's handling of
// the thread's system calls still runs on any hart, as its goroutine
// does.
func sysSchedSetaffinity(t *Thread, a *[6]uint64) int64 {
	o, e := affinityTarget(t, a[0])
	if e != 0 {
		return errno(e)
	}
	size := a[1]
	if size == 0 {
		return errno(linux.EINVAL)
	}
	var b [8]byte
	n := min(size, 8)
	if e := t.p.cpu.CopyIn(b[:n], uintptr(a[2])); e != 0 {
		return errno(e)
	}
	mask := binary.LittleEndian.Uint64(b[:]) & onlineCPUs()
	if mask == 0 {
		return errno(linux.EINVAL)
	}
	if mask == onlineCPUs() {
		mask = 0 // any: the hart layer need not look
	}
	atomic.StoreUint32(&o.u.Affinity, uint32(mask))
	return 0
}

// currentCPU is the CPU on which the thread with u last ran user code;
// the hart layer's on riscv64 (hartcpu_riscv64.go), 0 elsewhere.
var currentCPU = func(*abi.UserContext) int { return 0 }

// sysSchedSetscheduler implements sched_setscheduler(2): accepted, ignored.
func sysSchedSetscheduler(*Thread, *[6]uint64) int64 { return 0 }

// sysSchedGetscheduler implements sched_getscheduler(2): SCHED_OTHER.
func sysSchedGetscheduler(*Thread, *[6]uint64) int64 { return linux.SCHED_NORMAL }

// sysSchedGetparam implements sched_getparam(2): priority 0.
func sysSchedGetparam(t *Thread, a *[6]uint64) int64 { return errno(t.put32(uintptr(a[1]), 0)) }

// sysSchedGetPriority implements sched_get_priority_max(2) and _min: 0.
func sysSchedGetPriority(*Thread, *[6]uint64) int64 { return 0 }
