//go:build riscv64

// Command loader is a kernel image that runs a real static riscv64 Linux
// program (csrc/hello.c, built without libc) in U-mode through kernel/loader:
// once linked at 0x10000 (ET_EXEC) and once as a static-pie (ET_DYN) at a
// random base. The program checks its initial stack and auxv itself and
// prints one line. The Linux system call layer lives elsewhere, so this
// kernel serves just write, exit and exit_group. It prints "ok NAME" per
// check and "loader: all passed", and exits 1 on the first failure.
package main

// The images are committed (a few KB each); rebuild them with go generate
// when csrc/hello.c changes (needs riscv64-linux-gnu-gcc).
//go:generate riscv64-linux-gnu-gcc -nostdlib -static -O2 -o hello-static.elf csrc/hello.c
//go:generate riscv64-linux-gnu-gcc -nostdlib -static-pie -fPIE -O2 -Wl,--no-dynamic-linker -o hello-pie.elf csrc/hello.c

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/hart"
	"github.com/runikraft/runikraft/kernel/loader"
)

//go:embed hello-static.elf
var helloStatic []byte

//go:embed hello-pie.elf
var helloPIE []byte

func check(name string, err error) {
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", name, err)
		os.Exit(1)
	}
	fmt.Println("ok", name)
}

// run loads file, runs it to its exit and checks what it printed.
func run(name string, file []byte, pie bool) error {
	img, err := loader.Parse(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return err
	}
	if img.PIE() != pie {
		return fmt.Errorf("PIE() = %v, want %v", img.PIE(), pie)
	}
	argv := []string{"/bin/" + name, name, "second"}
	l, err := loader.Load(img, bytes.NewReader(file), argv, []string{"LOADER=yes"}, hart.RandomReader)
	if err != nil {
		return err
	}
	defer l.Unload()
	fmt.Println(l.Describe())
	if err := checkMemory(l); err != nil {
		return err
	}

	var u hart.UserContext
	l.InitContext(&u)
	var out []byte
	for calls := 0; calls < 100; calls++ {
		if err := hart.EnterUser(&u); err != nil {
			return err
		}
		if u.Cause != linux.EnvironmentCallFromUMode {
			return fmt.Errorf("app left user mode with cause %#x at pc %#x (tval %#x); it wrote %q", u.Cause, u.PC, u.Tval, out)
		}
		u.PC += 4
		switch u.X[abi.RegA7] {
		case linux.SYS_WRITE:
			buf := make([]byte, min(u.X[abi.RegA2], 4096))
			if e := hart.CopyIn(buf, uintptr(u.X[abi.RegA1])); e != 0 {
				u.X[abi.RegA0] = negErrno(e)
				continue
			}
			out = append(out, buf...)
			u.X[abi.RegA0] = uint64(len(buf))
		case linux.SYS_EXIT, linux.SYS_EXIT_GROUP:
			want := fmt.Sprintf("loader ok argc=3 argv1=%s env=LOADER=yes pie=%s\n", name, map[bool]string{false: "no", true: "yes"}[pie])
			fmt.Printf("app: %s", out)
			if code := int32(u.X[abi.RegA0]); code != 0 || string(out) != want {
				return fmt.Errorf("app exited %d after writing %q, want 0 after %q", code, out, want)
			}
			return nil
		default:
			u.X[abi.RegA0] = negErrno(linux.ENOSYS)
		}
	}
	return fmt.Errorf("app made 100 system calls without exiting; it wrote %q", out)
}

// negErrno is the system call return value for errno e: -e in a0.
func negErrno(e syscall.Errno) uint64 { return -uint64(e) }

// checkMemory checks the protections the loader left: code is not
// writable, the stack is, and the guard page below it is not mapped.
func checkMemory(l *loader.Loaded) error {
	if e := hart.CopyOut(uintptr(l.Entry), []byte{0}); e != syscall.EFAULT {
		return fmt.Errorf("writing the code at the entry point gave %v, want EFAULT (W^X)", e)
	}
	var b [8]byte
	if e := hart.CopyIn(b[:], uintptr(l.SP)); e != 0 || b[0] != 3 {
		return fmt.Errorf("reading argc at sp %#x: %v, %d", l.SP, e, b[0])
	}
	if e := hart.CopyIn(b[:], uintptr(l.Guard)); e != syscall.EFAULT {
		return fmt.Errorf("reading the stack guard page gave %v, want EFAULT", e)
	}
	if l.Brk%4096 != 0 || l.SP%16 != 0 || l.SP < l.StackLo || l.SP >= l.StackHi {
		return fmt.Errorf("brk %#x sp %#x stack [%#x, %#x)", l.Brk, l.SP, l.StackLo, l.StackHi)
	}
	return nil
}

func main() {
	check("static", run("hello-static", helloStatic, false))
	check("static-pie", run("hello-pie", helloPIE, true))
	// Unload freed the static image's fixed addresses for another load.
	check("static again", run("hello-static", helloStatic, false))
	check("reject", func() error {
		bad := bytes.Clone(helloStatic)
		bad[18] = 62 // e_machine = x86-64
		_, err := loader.Parse(bytes.NewReader(bad), int64(len(bad)))
		if err == nil || !strings.Contains(err.Error(), "want RISC-V") {
			return fmt.Errorf("x86-64 image: %v", err)
		}
		return nil
	}())
	fmt.Println("loader: all passed")
}
