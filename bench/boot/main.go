// Command boot measures how the kernel boots and idles, next to a bare
// OpenSBI payload on the same QEMU in the same run, and prints a table:
//
//	go run ./bench/boot [-runs N] [-linux=false] [-apps=false]
//
// A C hello is timed from QEMU's start to its exit under runikraft run, on
// plain qemu -kernel, in a Linux 6.1 guest (bench/internal/linuxguest,
// built once into the user's cache directory: about 10-15 minutes the
// first time; -linux=false leaves it out) and under qemu-riscv64.
//
// Times are medians of N runs, reported as ratios to the bare payload
// because these machines are shared and noisy. It also prints the kernel
// image size, the smallest RAM the kernel boots in, QEMU's host CPU use
// while the kernel sleeps, a C hello built with runikraft-cc timed from
// start to exit through runikraft run and on plain QEMU next to the stock
// Go runtime alone (kernels/goruntime: the least any kernel on the stock
// runtime boots in) and their translated blocks (-hello, the
// default; hello.go), and (-apps, the default) the image sizes of GNU
// hello, Lua, cJSON and SQLite built with runikraft-cc and hello's time to
// greet next to the bare payload.
package main

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/internal/payload"
	"github.com/runikraft/runikraft/kernel/abi"
)

func main() {
	runs := flag.Int("runs", 5, "boots per measurement")
	linux := flag.Bool("linux", true, "time the C hello in the Linux guest too (builds it once, about 10-15 minutes)")
	mem := flag.String("m", "256M", "guest RAM for the C hello runs")
	apps := flag.Bool("apps", true, "also build GNU hello, Lua, cJSON and SQLite with runikraft-cc (tests/toolchain) and report their image sizes and hello's first output")
	hello := flag.Bool("hello", true, "also time a C hello built with runikraft-cc from start to exit: through runikraft run, and on plain qemu-system-riscv64 -kernel")
	flag.Parse()
	if err := bench(*runs, *apps, *hello, *linux, *mem); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// boot is one QEMU run: when the marker first appeared and when QEMU
// exited, measured from the start of QEMU, and the CPU time it used.
type boot struct {
	first, exit, cpu time.Duration
	code             int
}

func qemu(ctx context.Context, image, mem, marker string, args ...string) (boot, error) {
	argv := append([]string{"-M", "virt", "-m", mem, "-nographic", "-bios", "default", "-kernel", image}, args...)
	cmd := exec.CommandContext(ctx, "qemu-system-riscv64", argv...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return boot{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return boot{}, err
	}
	var b boot
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := out.Read(buf)
		if b.first == 0 && n > 0 {
			seen.Write(buf[:n])
			if bytes.Contains(seen.Bytes(), []byte(marker)) {
				b.first = time.Since(start)
			}
		}
		if err != nil {
			break
		}
	}
	err = cmd.Wait()
	b.exit = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		b.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return b, err
	}
	b.code = cmd.ProcessState.ExitCode()
	if b.first == 0 {
		return b, fmt.Errorf("%s never printed %q (exit %d)", image, marker, b.code)
	}
	return b, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func bench(runs int, apps, hello, linux bool, mem string) error {
	ctx := context.Background()
	var g *linuxguest.Guest
	if linux {
		var err error
		if g, err = linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr}); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "runikraft-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	bare := filepath.Join(dir, "bare.elf")
	if err := os.WriteFile(bare, payload.PrintAndExit("ok\n", 0), 0o644); err != nil {
		return err
	}
	images := map[string]string{}
	for _, k := range []string{"exit3", "sleep"} {
		img := filepath.Join(dir, k+".img")
		if _, err := kbuild.Build(ctx, kbuild.Options{Dir: ".", Pkg: "./tests/boot/kernels/" + k, Out: img, Stderr: os.Stderr}); err != nil {
			return err
		}
		images[k] = img
	}
	stock := filepath.Join(dir, "runikraft-kernel.img")
	if _, err := kbuild.Build(ctx, kbuild.Options{Dir: ".", Pkg: "github.com/runikraft/runikraft/kernel/cmd/kernel", Out: stock, Stderr: os.Stderr}); err != nil {
		return err
	}

	// Interleave bare and kernel boots so load changes hit both alike.
	var bFirst, bExit, kFirst, kExit []time.Duration
	for i := 0; i < runs; i++ {
		b, err := qemu(ctx, bare, "128M", "ok\n")
		if err != nil {
			return err
		}
		k, err := qemu(ctx, images["exit3"], "128M", abi.ConsoleMarker, "-append", abi.MarkerParam)
		if err != nil {
			return err
		}
		if k.code != 3 {
			return fmt.Errorf("kernel exited %d, want 3", k.code)
		}
		bFirst, bExit = append(bFirst, b.first), append(bExit, b.exit)
		kFirst, kExit = append(kFirst, k.first), append(kExit, k.exit)
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "measure\tbare OpenSBI payload\trunikraft kernel\tratio\n")
	row := func(name string, b, k time.Duration) {
		fmt.Fprintf(w, "%s\t%v\t%v\t%.2fx\n", name, b.Round(time.Millisecond), k.Round(time.Millisecond), float64(k)/float64(b))
	}
	row("first output (median of "+fmt.Sprint(runs)+")", median(bFirst), median(kFirst))
	row("power-off", median(bExit), median(kExit))
	w.Flush()
	fmt.Println()

	if hello {
		if err := benchHello(ctx, dir, bare, runs, mem, g); err != nil {
			return err
		}
	}

	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "image\tfile bytes\tloaded bytes (incl. .bss)\n")
	for _, name := range []string{images["exit3"], stock} {
		fi, err := os.Stat(name)
		if err != nil {
			return err
		}
		loaded, err := loadedSize(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%d\t%d\n", filepath.Base(name), fi.Size(), loaded)
	}
	w.Flush()
	fmt.Println()

	low, high := 4, 128 // MiB: find the smallest that boots and exits 3
	for low < high {
		mid := (low + high) / 2
		k, err := qemu(ctx, images["exit3"], fmt.Sprintf("%dM", mid), abi.ConsoleMarker, "-append", abi.MarkerParam)
		if err == nil && k.code == 3 {
			high = mid
		} else {
			low = mid + 1
		}
	}
	fmt.Printf("smallest RAM the kernel boots in: %d MiB\n", low)

	s, err := qemu(ctx, images["sleep"], "128M", "awake", "-append", "2s")
	if err != nil {
		return err
	}
	fmt.Printf("idle: QEMU used %v of host CPU over %v of wall time while the kernel slept 2s (%.1f%% of one core)\n",
		s.cpu.Round(time.Millisecond), s.exit.Round(time.Millisecond), 100*float64(s.cpu)/float64(s.exit))
	if !apps {
		return nil
	}
	fmt.Println()
	return benchApps(ctx, dir, bare, runs)
}

// loadedSize is the span of memory the image's segments occupy.
func loadedSize(path string) (int64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lo, hi := ^uint64(0), uint64(0)
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			lo, hi = min(lo, p.Vaddr), max(hi, p.Vaddr+p.Memsz)
		}
	}
	return int64(hi - lo), nil
}
