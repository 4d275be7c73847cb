// Command linuxguest builds the benchmarks' Linux guest (once, into the
// user's cache directory; bench/internal/linuxguest) and optionally runs
// one static riscv64 program in it:
//
//	go run ./bench/linuxguest                          # build if missing, print the paths
//	go run ./bench/linuxguest [flags] PROGRAM [ARGS...] # run PROGRAM in the guest
//
// The program's console output goes to stdout, then a line with its exit
// status and QEMU's wall time goes to stderr; the command exits with the
// program's status.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/runikraft/runikraft/bench/internal/linuxguest"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var env, fwd, shares list
	mem := flag.String("m", "256M", "guest RAM")
	cpus := flag.Int("cpus", 1, "vCPUs")
	net := flag.Bool("net", false, "QEMU user networking (10.0.2.15/24)")
	kernel := flag.String("kernel", "", "boot this kernel instead of the cached one (for trying another build)")
	console := flag.Bool("console", false, "print the whole console (firmware, kernel, init) instead of the program's output")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound on the run")
	flag.Var(&env, "e", "KEY=VALUE for the program's environment (repeats)")
	flag.Var(&fwd, "p", "QEMU hostfwd rule, e.g. tcp:127.0.0.1:8080-:80 (repeats; implies -net)")
	flag.Var(&shares, "v", "HOSTDIR:GUESTDIR shared over virtio-9p (repeats)")
	flag.Parse()
	ctx := context.Background()
	g, err := linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "linuxguest:", err)
		os.Exit(1)
	}
	if *kernel != "" {
		g.Kernel = *kernel
	}
	if flag.NArg() == 0 {
		fmt.Printf("kernel %s\ninit %s\nsource %s\n", g.Kernel, g.Init, g.Version)
		return
	}
	o := linuxguest.RunOptions{Mem: *mem, CPUs: *cpus, Net: *net, Forwards: fwd, Timeout: *timeout}
	for _, s := range shares {
		h, gd, ok := strings.Cut(s, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "linuxguest: -v %q: want HOSTDIR:GUESTDIR\n", s)
			os.Exit(2)
		}
		o.Shares = append(o.Shares, linuxguest.Share{HostDir: h, GuestDir: gd})
	}
	res, err := g.Run(ctx, flag.Arg(0), flag.Args()[1:], env, o)
	if res != nil {
		if *console || err != nil {
			os.Stdout.Write(res.Console)
		} else {
			os.Stdout.Write(res.Output)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "linuxguest:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "linuxguest: exit status %d, wall %v (program started at %v)\n", res.Status, res.Wall.Round(time.Millisecond), res.Started.Round(time.Millisecond))
	os.Exit(res.Status)
}
