// Command bootprof shows where a boot's translated blocks go: it boots an
// image on plain qemu-system-riscv64 -M virt -kernel under -icount
// shift=0,sleep=off with QEMU's -d in_asm log, and prints the blocks QEMU
// translated (guest code run for the first time; under TCG each costs
// about 11 µs of host CPU, and most of a boot is such code) by privilege
// (firmware, kernel before the application's first instruction,
// application, kernel after), and the kernel's boot blocks by function,
// by package and by boot segment.
//
//	go run ./bench/bootprof -image hello.img [-kernel bin/runikraft-kernel-notz.img] [-top 40]
//
// A boot segment starts where a package's init function (or one of the
// runtime's milestones: rt0_go, schedinit, runtime.main, main.main) is
// translated, that is, first run, and lasts until the next one starts:
// package inits run once and one after another, so the blocks translated
// in between are that init's own and those of the code it runs for the
// first time (the runtime's map, allocation and sync code, say).
// Addresses come from -kernel, a kernel image with its symbol table built
// from the same source as the image's kernel (application images leave
// the kernel's symbols out).
//
// A development tool, not a benchmark: the counts do not move with the
// host's load, and repeat to within a few dozen blocks.
package main

import (
	"context"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/tblog"
)

func main() {
	image := flag.String("image", "", "image to boot (kernel + application)")
	kernel := flag.String("kernel", "bin/runikraft-kernel-notz.img", "kernel image with its symbol table, built from the same source as the image's kernel")
	mem := flag.String("m", "256M", "guest RAM")
	appendArgs := flag.String("append", "", "kernel command line (QEMU -append)")
	qemuArgs := flag.String("qemu", "", "more QEMU arguments, separated by spaces (devices, -initrd: runikraft run --dry-run prints its own)")
	top := flag.Int("top", 40, "functions to list")
	detail := flag.Int("detail", 0, "list this many functions of each boot segment")
	log := flag.String("log", "", "keep QEMU's in_asm log in this file")
	insns := flag.Bool("insns", false, "also count the instructions the kernel executes before the application's first (QEMU -d exec,nochain: slower, a log of some 100 MB)")
	flag.Parse()
	if *image == "" || *top < 0 {
		fmt.Fprintln(os.Stderr, "bootprof: -image is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, *image, *kernel, *mem, *appendArgs, strings.Fields(*qemuArgs), *log, *top, *detail, *insns); err != nil {
		fmt.Fprintln(os.Stderr, "bootprof:", err)
		os.Exit(1)
	}
}

// block is one translation (tblog.Block).
type block = tblog.Block

func run(ctx context.Context, image, kernel, mem, appendArgs string, qemuArgs []string, keep string, top, detail int, insns bool) error {
	syms, err := readSymbols(kernel)
	if err != nil {
		return fmt.Errorf("kernel symbols: %w", err)
	}
	logFile := keep
	if logFile == "" {
		dir, err := os.MkdirTemp("", "bootprof-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		logFile = filepath.Join(dir, "in_asm.log")
	}
	extra := qemuArgs
	if appendArgs != "" {
		extra = append(extra, "-append", appendArgs)
	}
	if _, err := tblog.Record(ctx, image, mem, logFile, insns, extra...); err != nil {
		return err
	}
	blocks, executed, err := tblog.ReadLog(logFile)
	if err != nil {
		return err
	}
	report(os.Stdout, blocks, syms, top, detail)
	if insns {
		reportInsns(os.Stdout, executed, syms, top)
	}
	return nil
}

// reportInsns prints the kernel's instructions before the application's
// first, by package and by function.
func reportInsns(w io.Writer, executed map[uint64]int, syms symtab, top int) {
	byFunc, byPkg := map[string]int{}, map[string]int{}
	total := 0
	for pc, n := range executed {
		name := syms.lookup(pc)
		byFunc[name] += n
		byPkg[pkgOf(name)] += n
		total += n
	}
	fmt.Fprintf(w, "\nkernel instructions executed before the application's first: %d\nby package\n", total)
	printTop(w, byPkg, top)
	fmt.Fprintf(w, "\nby function (top %d)\n", top)
	printTop(w, byFunc, top)
}

type symbol struct {
	addr, size uint64
	name       string
}

type symtab []symbol

func readSymbols(path string) (symtab, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ss, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	var t symtab
	for _, s := range ss {
		if typ := elf.ST_TYPE(s.Info); typ == elf.STT_FUNC || typ == elf.STT_NOTYPE && s.Size > 0 {
			t = append(t, symbol{s.Value, s.Size, s.Name})
		}
	}
	sort.Slice(t, func(i, j int) bool { return t[i].addr < t[j].addr })
	return t, nil
}

// lookup names the function holding addr, or "?".
func (t symtab) lookup(addr uint64) string {
	i := sort.Search(len(t), func(i int) bool { return t[i].addr > addr }) - 1
	if i >= 0 && addr < t[i].addr+t[i].size {
		return t[i].name
	}
	return "?"
}

// pkgOf is the package path of a Go symbol name.
func pkgOf(sym string) string {
	if sym == "?" {
		return "?"
	}
	slash := strings.LastIndexByte(sym, '/')
	rest := sym[slash+1:]
	if dot := strings.IndexByte(rest, '.'); dot >= 0 {
		return sym[:slash+1+dot]
	}
	return sym
}

// initRE matches a package's init function (and its numbered parts).
var initRE = regexp.MustCompile(`^((?:[^()*]*/)?[^./()*]+)\.init(\.\d+)?$`)

// milestones start boot segments of their own.
var milestones = map[string]string{
	"_rt0_riscv64_linux":             "runtime start (rt0, args, osinit)",
	"runtime.schedinit":              "runtime.schedinit",
	"runtime.mallocinit":             "runtime.mallocinit",
	"runtime.mcommoninit":            "runtime.mcommoninit",
	"runtime.goenvs":                 "runtime.goenvs",
	"runtime.gcinit":                 "runtime.gcinit",
	"runtime.procresize":             "runtime.procresize",
	"runtime.newproc":                "runtime.newproc (first goroutine)",
	"runtime.mstart":                 "runtime.mstart",
	"runtime.main":                   "runtime.main (up to the runtime's inits)",
	"runtime.gcenable":               "runtime.gcenable",
	"main.main":                      "main.main",
	rk + "internal/bootargs.Parse":   "kernel: command line",
	rk + "kernel/loader.Parse":       "kernel: loader (parse)",
	rk + "kernel/loader.LoadAt":      "kernel: loader (load)",
	rk + "kernel/loader.KeepSymbols": "kernel: keep symbols, release initrd",
	rk + "posix.Start":               "kernel: posix.Start",
	rk + "posix.(*Process).initFS":   "kernel: posix file tree",
	rk + "kernel/hart.enterUser":     "kernel: first user entry",
}

// rk is the project's module path.
const rk = "github.com/runikraft/runikraft/"

func report(w io.Writer, blocks []block, syms symtab, top, detail int) {
	// Phases by privilege: the firmware runs in machine mode before the
	// kernel's first block; the kernel's boot lasts until the first
	// user-mode block.
	var firmware, bootK, app, afterK, machineLater int
	firstUser := len(blocks)
	for i, b := range blocks {
		if b.Priv == 0 {
			firstUser = i
			break
		}
	}
	byFunc := map[string]int{}
	byPkg := map[string]int{}
	bySeg := map[string]int{}
	segFuncs := map[string]map[string]int{}
	afterFuncs := map[string]int{}
	var segOrder []string
	seg := "kernel entry (boot stub, hart layer before the runtime)"
	kernelStarted := false
	for i, b := range blocks {
		switch {
		case b.Priv == 3 && !kernelStarted:
			firmware++
			continue
		case b.Priv == 3:
			machineLater++
			continue
		case b.Priv == 0:
			app++
			continue
		case i > firstUser:
			afterK++
			afterFuncs[syms.lookup(b.PC)]++
			continue
		}
		kernelStarted = true
		bootK++
		name := syms.lookup(b.PC)
		byFunc[name]++
		byPkg[pkgOf(name)]++
		if m, ok := milestones[name]; ok && b.PC == symAddr(syms, b.PC) {
			seg = m
		} else if mm := initRE.FindStringSubmatch(name); mm != nil && b.PC == symAddr(syms, b.PC) {
			seg = "init " + mm[1]
		}
		if _, ok := bySeg[seg]; !ok {
			segOrder = append(segOrder, seg)
		}
		bySeg[seg]++
		if segFuncs[seg] == nil {
			segFuncs[seg] = map[string]int{}
		}
		segFuncs[seg][name]++
	}
	fmt.Fprintf(w, "blocks translated: %d in all\n", len(blocks))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "firmware (machine mode, before the kernel)\t%d\t\n", firmware)
	fmt.Fprintf(tw, "kernel, entry to the application's first instruction\t%d\t\n", bootK)
	fmt.Fprintf(tw, "application (user mode)\t%d\t\n", app)
	fmt.Fprintf(tw, "kernel after the first user instruction\t%d\t\n", afterK)
	fmt.Fprintf(tw, "machine mode after the kernel started (SBI calls)\t%d\t\n", machineLater)
	tw.Flush()

	fmt.Fprintf(w, "\nkernel boot blocks by segment, in boot order\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range segOrder {
		fmt.Fprintf(tw, "%6d\t== %s\n", bySeg[s], s)
		if detail > 0 {
			tw.Flush()
			printTop(w, segFuncs[s], detail)
		}
	}
	tw.Flush()

	if detail > 0 {
		fmt.Fprintf(w, "%6d  == kernel after the first user instruction (the application's system calls, exit)\n", afterK)
		printTop(w, afterFuncs, detail)
	}

	fmt.Fprintf(w, "\nkernel boot blocks by package\n")
	printTop(w, byPkg, -1)
	fmt.Fprintf(w, "\nkernel boot blocks by function (top %d)\n", top)
	printTop(w, byFunc, top)
}

// symAddr is the start of the function holding pc (0 if none).
func symAddr(t symtab, pc uint64) uint64 {
	i := sort.Search(len(t), func(i int) bool { return t[i].addr > pc }) - 1
	if i >= 0 && pc < t[i].addr+t[i].size {
		return t[i].addr
	}
	return 0
}

func printTop(w io.Writer, m map[string]int, n int) {
	type kv struct {
		k string
		v int
	}
	var s []kv
	for k, v := range m {
		s = append(s, kv{k, v})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].v > s[j].v || s[i].v == s[j].v && s[i].k < s[j].k })
	if n >= 0 && len(s) > n {
		s = s[:n]
	}
	for _, e := range s {
		fmt.Fprintf(w, "%6d  %s\n", e.v, strings.TrimPrefix(e.k, rk))
	}
}
