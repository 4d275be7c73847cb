package main

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/floor"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/bench/internal/tblog"
	"github.com/runikraft/runikraft/internal/kbuild"
)

const greeting = "Hello, world!"

// runtimeMarker is what bench/boot/kernels/goruntime prints.
const runtimeMarker = "go runtime up"

// benchHello times one static C hello (csrc/hello.c, glibc, the same
// binary everywhere) from QEMU's start to its exit: under runikraft run,
// baked with runikraft-ld and booted on plain qemu-system-riscv64
// -kernel, in the Linux guest (g, nil to leave it out) and under
// qemu-riscv64, next to the bare payload; runs interleaved, medians
// printed, ratios from the same run, by wall time and by the host CPU
// time used (which a loaded machine disturbs much less).
func benchHello(ctx context.Context, dir, bare string, runs int, mem string, g *linuxguest.Guest) error {
	hello := filepath.Join(dir, "hello")
	if out, err := exec.Command("riscv64-linux-gnu-gcc", "-static", "-O2", "-o", hello, "bench/boot/csrc/hello.c").CombinedOutput(); err != nil {
		return fmt.Errorf("cc hello: %v\n%s", err, out)
	}
	img := filepath.Join(dir, "hello.img")
	if out, err := exec.Command("bin/runikraft-ld", "--bake", hello, "-o", img).CombinedOutput(); err != nil {
		return fmt.Errorf("runikraft-ld --bake hello: %v\n%s", err, out)
	}

	// The stock Go runtime alone: the hart layer's boot and the runtime's
	// start, a println and a return from main (kernels/goruntime).
	rt := filepath.Join(dir, "goruntime.img")
	if _, err := kbuild.Build(ctx, kbuild.Options{Dir: ".", Pkg: "./bench/boot/kernels/goruntime", Out: rt, Stderr: os.Stderr}); err != nil {
		return err
	}

	// Wall times, and the host CPU time each run used (QEMU's, and for
	// runikraft run its own plus QEMU's): on a loaded machine the wall
	// time waits for a core, the CPU time much less so.
	var fl, gr, rr, pk, lg, qu, dry timings
	for i := 0; i < runs; i++ {
		f, err := qemu(ctx, bare, mem, "ok\n")
		if err != nil {
			return err
		}
		fl.add(f.exit, f.cpu)
		r, err := qemu(ctx, rt, mem, runtimeMarker)
		if err != nil {
			return err
		}
		if r.code != 0 {
			return fmt.Errorf("goruntime.img on plain QEMU exited %d", r.code)
		}
		gr.add(r.exit, r.cpu)
		d, cpu, err := timeHello(ctx, "bin/runikraft", "run", "--cpus", "1", "-m", mem, hello)
		if err != nil {
			return err
		}
		rr.add(d, cpu)
		k, err := qemu(ctx, img, mem, greeting)
		if err != nil {
			return err
		}
		if k.code != 0 {
			return fmt.Errorf("hello.img on plain QEMU exited %d", k.code)
		}
		pk.add(k.exit, k.cpu)
		if g != nil {
			res, err := g.Run(ctx, hello, nil, nil, linuxguest.RunOptions{Mem: mem})
			if err != nil {
				return err
			}
			if res.Status != 0 || !strings.Contains(string(res.Output), greeting) {
				return fmt.Errorf("hello in the Linux guest: status %d, output %q", res.Status, res.Output)
			}
			lg.add(res.Wall, res.CPU)
		}
		d, cpu, err = timeHello(ctx, "qemu-riscv64", hello)
		if err != nil {
			return err
		}
		qu.add(d, cpu)
		// runikraft's own start-up: everything up to the point where it
		// would start QEMU.
		d, cpu, err = timed(ctx, "qemu-system-riscv64", "bin/runikraft", "run", "--dry-run", "--cpus", "1", "-m", mem, hello)
		if err != nil {
			return err
		}
		dry.add(d, cpu)
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	hdr := fmt.Sprintf("C hello, QEMU start to exit (median of %d, -m %s)\twall\tx floor\t", runs, mem)
	if g != nil {
		hdr += "x linux guest\t"
	}
	hdr += "host CPU\tx floor\t"
	fmt.Fprintln(w, hdr)
	base, lin := floor.Median(fl.wall), floor.Median(lg.wall)
	baseCPU := floor.Median(fl.cpu)
	row := func(name string, t timings) {
		m, c := floor.Median(t.wall), floor.Median(t.cpu)
		line := fmt.Sprintf("%s\t%v\t%.2fx\t", name, m.Round(time.Millisecond), float64(m)/float64(base))
		if g != nil {
			line += fmt.Sprintf("%.2fx\t", float64(m)/float64(lin))
		}
		line += fmt.Sprintf("%v\t%.2fx\t", c.Round(time.Millisecond), float64(c)/float64(baseCPU))
		fmt.Fprintln(w, line)
	}
	row("bare OpenSBI payload (floor)", fl)
	row("stock Go runtime alone (hart layer, runtime, println), plain qemu -kernel", gr)
	row("runikraft run hello", rr)
	row("  of which runikraft's own start-up (run --dry-run)", dry)
	row("runikraft-ld --bake, plain qemu -kernel", pk)
	if g != nil {
		row("linux guest ("+g.Version+")", lg)
	}
	row("qemu-riscv64 (user mode, no boot)", qu)
	if err := w.Flush(); err != nil {
		return err
	}

	if err := printBlocks(ctx, mem, bare, rt, img); err != nil {
		return err
	}

	fi, err := os.Stat(img)
	if err != nil {
		return err
	}
	loaded, err := loadedSize(img)
	if err != nil {
		return err
	}
	fmt.Printf("hello image (kernel + app): %d bytes, %d loaded with zeroed memory", fi.Size(), loaded)
	if g != nil {
		ki, err := os.Stat(g.Kernel)
		if err != nil {
			return err
		}
		ii, err := os.Stat(g.Init)
		if err != nil {
			return err
		}
		hi, err := os.Stat(hello)
		if err != nil {
			return err
		}
		fmt.Printf("; linux guest: kernel Image %d bytes + init %d + hello %d", ki.Size(), ii.Size(), hi.Size())
	}
	fmt.Println()
	// The size target is for what runikraft-cc makes of the same source
	// (musl, the kernel chosen for the program), not for glibc baked.
	ccImg := filepath.Join(dir, "hello-cc")
	if out, err := exec.CommandContext(ctx, "bin/runikraft-cc", "-O2", "-o", ccImg, "bench/boot/csrc/hello.c").CombinedOutput(); err != nil {
		return fmt.Errorf("runikraft-cc hello.c: %v\n%s", err, out)
	}
	ci, err := os.Stat(ccImg)
	if err != nil {
		return err
	}
	cl, err := loadedSize(ccImg)
	if err != nil {
		return err
	}
	fmt.Printf("runikraft-cc hello image: %d bytes, %d loaded with zeroed memory\n\n", ci.Size(), cl)
	return nil
}

// printBlocks counts the blocks QEMU translates booting the floor, the
// Go runtime alone and the baked hello on plain QEMU (tblog: one run
// each under -icount, which repeats to within a few dozen blocks), and
// prints them by phase: what a boot costs under TCG, free of the host's
// load. The Go runtime alone's kernel blocks are split further at its
// milestones (runtimeSegments).
func printBlocks(ctx context.Context, mem, bare, rt, hello string) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "blocks translated, plain qemu -kernel -icount\tfirmware\tkernel to first user insn\tapplication\tkernel after\tSBI\ttotal\tbeyond the floor\t")
	var floorTotal int
	var rtBlocks []tblog.Block
	for _, im := range []struct{ name, path string }{
		{"bare OpenSBI payload (floor)", bare},
		{"stock Go runtime alone", rt},
		{"hello baked", hello},
	} {
		blocks, code, err := tblog.Blocks(ctx, im.path, mem)
		if err != nil {
			return fmt.Errorf("blocks of %s: %w", im.name, err)
		}
		if code != 0 {
			return fmt.Errorf("blocks of %s: QEMU exited %d", im.name, code)
		}
		if im.path == rt {
			rtBlocks = blocks
		}
		p := tblog.Split(blocks)
		if floorTotal == 0 {
			floorTotal = p.Total()
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", im.name, p.Firmware, p.KernelBoot, p.App, p.KernelAfter, p.SBI, p.Total(), p.Total()-floorTotal)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	segs, err := runtimeSegments(rt, rtBlocks)
	if err != nil {
		return err
	}
	fmt.Print("stock Go runtime alone, kernel blocks:")
	for i, s := range segs {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Printf("%s %s %d", sep, s.name, s.n)
	}
	fmt.Println(" (go run ./bench/bootprof -image IMG -kernel IMG for the detail)")
	return nil
}

// segment is a stretch of a boot's kernel blocks.
type segment struct {
	name string
	n    int
}

// runtimeSegments splits the supervisor-mode blocks of the kernel image
// at path, in boot order, where the runtime's entry, the first package
// init outside the runtime and main.main are first translated (that is,
// first run): the hart layer's boot, the runtime's start, the package
// inits, and main with the exit.
func runtimeSegments(path string, blocks []tblog.Block) ([]segment, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("symbols of %s: %w", path, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("symbols of %s: %w", path, err)
	}
	// Where each milestone function starts; inits are the functions
	// named PKG.init or PKG.init.N, the runtime's own excepted.
	start := map[uint64]int{}
	for _, s := range syms {
		switch {
		case s.Name == "_rt0_riscv64_linux":
			start[s.Value] = 1
		case s.Name == "main.main":
			start[s.Value] = 3
		case !strings.HasPrefix(s.Name, "runtime.") && isInit(s.Name):
			if _, ok := start[s.Value]; !ok {
				start[s.Value] = 2
			}
		}
	}
	segs := []segment{{"hart layer before the runtime", 0}, {"runtime start", 0}, {"package inits", 0}, {"main and exit", 0}}
	cur := 0
	for _, b := range blocks {
		if b.Priv != 1 {
			continue
		}
		if next, ok := start[b.PC]; ok && next > cur {
			cur = next
		}
		segs[cur].n++
	}
	if segs[1].n == 0 || segs[3].n == 0 {
		return nil, fmt.Errorf("%s: the runtime's entry or main.main never ran", path)
	}
	return segs, nil
}

// isInit reports whether a symbol is a package's init function.
func isInit(name string) bool {
	i := strings.LastIndex(name, ".init")
	if i <= 0 {
		return false
	}
	rest := name[i+len(".init"):]
	if rest == "" {
		return !strings.ContainsAny(name[:i], "()*")
	}
	if rest[0] != '.' || len(rest) == 1 {
		return false
	}
	for _, c := range rest[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return !strings.ContainsAny(name[:i], "()*")
}

// timings are the wall and host CPU times of a series of runs.
type timings struct{ wall, cpu []time.Duration }

func (t *timings) add(wall, cpu time.Duration) {
	t.wall, t.cpu = append(t.wall, wall), append(t.cpu, cpu)
}

// cpuOf is the CPU time a finished command used, with the children it
// waited for (runikraft run's QEMU).
func cpuOf(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// timeHello runs argv, checks it greets and exits 0, and returns its wall
// and CPU time.
func timeHello(ctx context.Context, argv ...string) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil || !strings.Contains(out.String(), greeting) {
		return 0, 0, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out.Bytes())
	}
	return d, cpuOf(cmd), nil
}

// timed runs a command to its exit and returns how long it took and the
// CPU time it used; its output must contain want.
func timed(ctx context.Context, want, name string, args ...string) (time.Duration, time.Duration, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return d, 0, err
	}
	if err != nil || !strings.Contains(string(out), want) {
		return d, 0, fmt.Errorf("%s %s: %v, output %q", name, strings.Join(args, " "), err, out)
	}
	return d, cpuOf(cmd), nil
}
