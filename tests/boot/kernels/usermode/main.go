//go:build riscv64

// Command usermode is a kernel image that runs hand-assembled RISC-V code
// in U-mode through the hart layer: system calls come back to Go, a spin
// loop is preempted and kicked out, faults are reported, W^X holds, and
// bad user pointers give EFAULT. It prints "ok NAME" per check.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/hart"
)

const (
	protR, protW, protX = 1, 2, 4
	rA0, rA1, rA2, rA7  = 9, 10, 11, 16 // UserContext.X indices of a0, a1, a2, a7
	causeEcallU         = 8
	causeStorePage      = 15
	causeInstPage       = 12
	codeAddr            = 0x10000 // where static non-PIE binaries link
)

// hello: write(1, msg, 6); exit_group(5); msg: "hello\n"
var hello = []uint32{
	0x00100513, // li a0, 1
	0x00000597, // auipc a1, 0
	0x02058593, // addi a1, a1, 32
	0x00600613, // li a2, 6
	0x04000893, // li a7, 64
	0x00000073, // ecall
	0x00500513, // li a0, 5
	0x05e00893, // li a7, 94
	0x00000073, // ecall
}

func code(words []uint32, tail string) []byte {
	b := make([]byte, 0, 4*len(words)+len(tail))
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return append(b, tail...)
}

func load(addr uintptr, prog []byte) error {
	if _, e := hart.UserMap(addr, 4096, protR|protW, hart.MapFixed); e != 0 {
		return fmt.Errorf("map: %v", e)
	}
	if e := hart.CopyOut(addr, prog); e != 0 {
		return fmt.Errorf("copy: %v", e)
	}
	if e := hart.UserProtect(addr, 4096, protR|protX); e != 0 {
		return fmt.Errorf("protect: %v", e)
	}
	return nil
}

func check(name string, err error) {
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", name, err)
		os.Exit(1)
	}
	fmt.Println("ok", name)
}

func main() {
	check("w^x", func() error {
		if _, e := hart.UserMap(0, 4096, protW|protX, 0); e != syscall.EACCES {
			return fmt.Errorf("RWX mapping gave %v, want EACCES", e)
		}
		return nil
	}())
	check("syscalls", func() error {
		if err := load(codeAddr, code(hello, "hello\n")); err != nil {
			return err
		}
		var u hart.UserContext
		u.PC = codeAddr
		var out []byte
		for i := 0; i < 10; i++ {
			if err := hart.EnterUser(&u); err != nil {
				return err
			}
			if u.Cause != causeEcallU {
				return fmt.Errorf("left user mode with cause %#x at pc %#x", u.Cause, u.PC)
			}
			u.PC += 4
			switch u.X[rA7] {
			case 64:
				buf := make([]byte, u.X[rA2])
				if e := hart.CopyIn(buf, uintptr(u.X[rA1])); e != 0 {
					return fmt.Errorf("copy in: %v", e)
				}
				out = append(out, buf...)
				u.X[rA0] = uint64(len(buf))
			case 94:
				if string(out) != "hello\n" || u.X[rA0] != 5 {
					return fmt.Errorf("app wrote %q and exited %d", out, u.X[rA0])
				}
				return nil
			}
		}
		return fmt.Errorf("app did not exit")
	}())
	check("efault", func() error {
		buf := make([]byte, 16)
		if e := hart.CopyIn(buf, 0x7fff_0000); e != syscall.EFAULT {
			return fmt.Errorf("copy from unmapped user memory gave %v", e)
		}
		if e := hart.CopyIn(buf, 0x8020_0000); e != syscall.EFAULT {
			return fmt.Errorf("copy from kernel memory gave %v", e)
		}
		if e := hart.CopyOut(codeAddr, buf); e != syscall.EFAULT {
			return fmt.Errorf("copy into read-only code gave %v", e)
		}
		return nil
	}())
	check("fault", func() error {
		// sw zero, 0(zero+0x800) after li: store to the code page itself.
		prog := code([]uint32{0x00010537, 0x00052023}, "") // lui a0, 0x10; sw zero, 0(a0)
		if err := load(0x20000, prog); err != nil {
			return err
		}
		var u hart.UserContext
		u.PC = 0x20000
		if err := hart.EnterUser(&u); err != nil {
			return err
		}
		if u.Cause != causeStorePage || u.Tval != codeAddr || u.PC != 0x20004 {
			return fmt.Errorf("cause %#x tval %#x pc %#x, want a store fault at %#x", u.Cause, u.Tval, u.PC, codeAddr)
		}
		u.PC = 0x7000_0000 // nothing mapped: instruction page fault
		hart.EnterUser(&u)
		if u.Cause != causeInstPage {
			return fmt.Errorf("jump to unmapped code: cause %#x", u.Cause)
		}
		return nil
	}())
	check("preempt", func() error {
		if err := load(0x30000, code([]uint32{0x0000006f}, "")); err != nil { // j .
			return err
		}
		var u hart.UserContext
		u.PC = 0x30000
		var ticks atomic.Int32
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
					ticks.Add(1)
				}
			}
		}()
		go func() {
			time.Sleep(300 * time.Millisecond)
			u.Kick = 1
			hart.Kick(&u)
		}()
		start := time.Now()
		if err := hart.EnterUser(&u); err != nil {
			return err
		}
		close(stop)
		if u.Cause != hart.CauseKick {
			return fmt.Errorf("cause %#x, want kick", u.Cause)
		}
		if d := time.Since(start); d < 250*time.Millisecond || ticks.Load() < 10 {
			return fmt.Errorf("spun %v, kernel goroutine ticked %d times meanwhile", d, ticks.Load())
		}
		return nil
	}())
	fmt.Println("usermode: all passed")
}
