// Command netprof shows where a network server guest's time goes per
// request: nginx (an image TestNginx kept with RUNIKRAFT_KEEP_IMAGES)
// under the same closed-loop load as bench/nginx, in Runikraft or in the
// Linux guest, with
//
//   - guest instructions per request, by function and by package: a QEMU
//     TCG plugin (plugin/blocks.c, built with the host's cc) counts each
//     translated block's executions, and the counts of the measured
//     window are mapped to the kernel's symbols (Runikraft: -kernel, a
//     kernel image with its symbol table; Linux: the guest's vmlinux).
//     Addresses no symbol covers (the application, the firmware) show
//     as "?". Instruction counts do not move with the host's load.
//
//   - blocks run per request: under TCG each block ends in a jump to
//     the next, and those that leave the page (calls, and every return:
//     an indirect jump) go through QEMU's block lookup, a large share of
//     the vCPU's time; a load-independent measure of calls saved;
//
//   - how many blocks have more than one translation (TCG keys them by
//     flags such as the FP state; kernel code flipping between two
//     states misses QEMU's jump cache at every flip);
//
//   - QEMU's vCPU and main-loop CPU time per request;
//
//   - with -events LIST, how often each of QEMU's trace events in LIST
//     (e.g. virtio_queue_notify: the guest's kicks; virtio_notify: its
//     interrupts) fired per request;
//
//   - with -perf FILE, a perf record -g of the vCPU thread;
//
//   - with -syscalls, QEMU's system calls per request by thread (perf
//     trace -s over the measured window): the main loop's ppoll returns
//     are its wake-ups, the vCPU thread's writes the event-notifier
//     writes that cause them (a bottom half scheduled, a QEMU timer
//     moved earlier);
//
//   - with -edges FILE, instead of the profile, the kernel's calls
//     (call site, callee, count) in the measured window, for
//     bench/pgoprof to turn into the kernel's PGO profile
//     (plugin/calledges.c);
//
//   - with -callers SYMBOL, instead of the profile, which blocks run just
//     before SYMBOL's entry (its callers) and how often per request.
//
// -redis does the same for redis-server (an image TestRedis kept) under
// the host's redis-benchmark -t get,set; a request is one GET or SET.
//
//	go run ./bench/netprof -image KEPT/nginx [-kernel bin/runikraft-kernel-net.img] [-linux] [-callers runtime.memmove]
//
// A development tool, not a benchmark: the plugin slows the guest.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.image, "image", "", "nginx image kept by TestNginx (RUNIKRAFT_KEEP_IMAGES)")
	flag.StringVar(&o.program, "program", "", "instead of -image: a static riscv64 server program serving GET /1k.bin on port 8080 (bench/net/httpserver built for linux/riscv64)")
	flag.StringVar(&o.redis, "redis", "", "instead of -image: a redis-server image TestRedis kept, loaded with the host's redis-benchmark -t get,set (-conns connections) for about -duration")
	flag.StringVar(&o.kernel, "kernel", "bin/runikraft-kernel-net.img", "Runikraft kernel with symbols that runs the image's nginx")
	flag.BoolVar(&o.linux, "linux", false, "profile the Linux guest instead")
	flag.DurationVar(&o.dur, "duration", 8*time.Second, "measured window (1s-2m), after 2 s of warm-up")
	flag.IntVar(&o.conns, "conns", 16, "kept-alive connections (1-64)")
	flag.StringVar(&o.perf, "perf", "", "also perf record -g the vCPU thread into this file")
	flag.StringVar(&o.events, "events", "", "also count these QEMU trace events per request (comma-separated, e.g. virtio_queue_notify,virtio_notify)")
	flag.BoolVar(&o.syscalls, "syscalls", false, "also count QEMU's system calls by thread per request (perf trace -s over the measured window)")
	flag.StringVar(&o.callers, "callers", "", "count the callers of this function (a symbol) instead of profiling")
	flag.StringVar(&o.edges, "edges", "", "write the kernel's call edges of the window to this file instead of profiling (for bench/pgoprof)")
	flag.BoolVar(&o.noPlugin, "no-plugin", false, "CPU times only (no plugin slowing the guest)")
	flag.IntVar(&o.top, "top", 40, "functions to list")
	flag.Parse()
	if b2i(o.image != "")+b2i(o.program != "")+b2i(o.redis != "") != 1 || o.dur < time.Second || o.dur > 2*time.Minute || o.conns < 1 || o.conns > 64 || o.top < 0 {
		fmt.Fprintln(os.Stderr, "netprof: one of -image, -program and -redis is required; -duration 1s-2m, -conns 1-64")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "netprof:", err)
		os.Exit(1)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
