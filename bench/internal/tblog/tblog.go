// Package tblog records and reads QEMU's in_asm log of a boot: the
// translation blocks QEMU translated (guest code run for the first time),
// in order, with the guest's privilege level at each. Under TCG each
// block costs about 10 µs of host CPU, and most of a boot is code that
// runs once, so the count is a load-independent measure of a boot's cost;
// with -icount shift=0,sleep=off it repeats to within a few dozen blocks.
package tblog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Block is one translation: the guest's privilege level then (3 machine,
// 1 supervisor, 0 user) and the block's first address.
type Block struct {
	Priv int
	PC   uint64
}

// Record boots image on plain qemu-system-riscv64 -M virt -kernel under
// -icount shift=0,sleep=off with QEMU's in_asm log (and its exec log, with
// chaining off, when insns is set) written to logFile, and returns QEMU's
// exit status. extra is appended to QEMU's command line.
func Record(ctx context.Context, image, mem, logFile string, insns bool, extra ...string) (int, error) {
	d := "in_asm"
	if insns {
		d = "in_asm,exec,nochain"
	}
	argv := append([]string{"-M", "virt", "-m", mem, "-nographic", "-bios", "default", "-kernel", image,
		"-icount", "shift=0,sleep=off", "-d", d, "-D", logFile}, extra...)
	cmd := exec.CommandContext(ctx, "qemu-system-riscv64", argv...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, fmt.Errorf("tblog: qemu: %w", err)
	}
	return cmd.ProcessState.ExitCode(), nil
}

// Blocks boots image as Record does, in a temporary directory, and
// returns its translations in order and QEMU's exit status.
func Blocks(ctx context.Context, image, mem string, extra ...string) ([]Block, int, error) {
	dir, err := os.MkdirTemp("", "tblog-")
	if err != nil {
		return nil, 0, fmt.Errorf("tblog: %w", err)
	}
	defer os.RemoveAll(dir)
	log := filepath.Join(dir, "in_asm.log")
	code, err := Record(ctx, image, mem, log, false, extra...)
	if err != nil {
		return nil, code, err
	}
	blocks, _, err := ReadLog(log)
	return blocks, code, err
}

// Phases are a boot's blocks by privilege and phase.
type Phases struct {
	Firmware    int // machine mode before the kernel's first block
	KernelBoot  int // supervisor mode up to the application's first block
	App         int // user mode
	KernelAfter int // supervisor mode after the application's first block
	SBI         int // machine mode after the kernel started (SBI calls)
}

// Total is every block of the boot.
func (p Phases) Total() int { return p.Firmware + p.KernelBoot + p.App + p.KernelAfter + p.SBI }

// Split sorts blocks into phases.
func Split(blocks []Block) Phases {
	var p Phases
	kernel, user := false, false
	for _, b := range blocks {
		switch {
		case b.Priv == 3 && !kernel:
			p.Firmware++
		case b.Priv == 3:
			p.SBI++
		case b.Priv == 0:
			user = true
			p.App++
		case user:
			kernel = true
			p.KernelAfter++
		default:
			kernel = true
			p.KernelBoot++
		}
	}
	return p
}

// ReadLog returns the translations in QEMU's in_asm log, in order, and,
// when the log has QEMU's exec lines too, the instructions executed in
// supervisor mode before the first user-mode block, by block address.
func ReadLog(name string) ([]Block, map[uint64]int, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("tblog: %w", err)
	}
	defer f.Close()
	var out []Block
	type tb struct{ priv, n int }
	tbs := map[uint64]*tb{}
	executed := map[uint64]int{}
	user := false
	var cur *tb
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	state := 0 // 1: after "IN:", 2: after its "Priv:" line, 3: in its instructions
	priv := -1
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "IN:"):
			state, priv, cur = 1, -1, nil
		case state == 1 && strings.HasPrefix(line, "Priv: "):
			p, _, _ := strings.Cut(strings.TrimPrefix(line, "Priv: "), ";")
			if n, err := strconv.Atoi(p); err == nil {
				priv = n
			}
			state = 2
		case state >= 1 && strings.HasPrefix(line, "0x"):
			if state == 3 {
				cur.n++
				continue
			}
			a, _, _ := strings.Cut(line, ":")
			pc, err := strconv.ParseUint(strings.TrimPrefix(a, "0x"), 16, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("tblog: %s: bad address line %q", name, line)
			}
			out = append(out, Block{priv, pc})
			cur = &tb{priv, 1}
			tbs[pc] = cur
			state = 3
		case strings.HasPrefix(line, "Trace "):
			// Trace 0: 0xHOST [00000000/PC/FLAGS/CFLAGS] ...
			state = 0
			_, rest, ok := strings.Cut(line, "[")
			if !ok {
				continue
			}
			parts := strings.Split(rest, "/")
			if len(parts) < 2 {
				continue
			}
			pc, err := strconv.ParseUint(parts[1], 16, 64)
			if err != nil {
				continue
			}
			t := tbs[pc]
			switch {
			case t == nil || user:
			case t.priv == 0:
				user = true
			case t.priv == 1:
				executed[pc] += t.n
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("tblog: %s: %w", name, err)
	}
	return out, executed, nil
}
