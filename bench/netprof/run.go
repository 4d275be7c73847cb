package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/bench/internal/hostfwd"
	"github.com/runikraft/runikraft/bench/internal/httpload"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/bench/internal/qemucpu"
	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/syncbuf"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

type options struct {
	image, program, redis, kernel, perf, callers string
	edges                                        string
	events                                       string
	linux, noPlugin, syscalls                    bool
	dur                                          time.Duration
	conns, top                                   int
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "netprof-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	info, prog := &appimage.Info{}, o.program
	if o.image != "" {
		if info, err = appimage.Read(o.image); err != nil {
			return err
		}
		if !info.Rootfs {
			return fmt.Errorf("%s has no root filesystem (not TestNginx's image?)", o.image)
		}
		app, err := cpio.ReadFile(info.Initrd, "init", 256<<20)
		if err != nil {
			return fmt.Errorf("the image's program: %w", err)
		}
		prog = filepath.Join(dir, "nginx")
		if err := os.WriteFile(prog, app, 0o755); err != nil {
			return err
		}
	}
	if o.redis != "" {
		// A plain program's image carries the program as its initrd.
		if info, err = appimage.Read(o.redis); err != nil {
			return err
		}
		if info.Rootfs {
			return fmt.Errorf("%s has a root filesystem (not TestRedis's image?)", o.redis)
		}
		prog = filepath.Join(dir, "redis-server")
		if err := os.WriteFile(prog, info.Initrd, 0o755); err != nil {
			return err
		}
		info = &appimage.Info{}
		info.Manifest.Args = redisArgs
	}

	var syms symtab
	var g *linuxguest.Guest
	if o.linux {
		if g, err = linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr}); err != nil {
			return err
		}
		err = syms.add(filepath.Join(g.Dir, "build", "vmlinux"), "")
	} else {
		err = syms.add(o.kernel, "")
	}
	if err != nil {
		return fmt.Errorf("symbols: %w", err)
	}
	if o.program != "" {
		// A static, non-PIE program's symbols are its addresses in the guest.
		if err := syms.add(o.program, "app:"); err != nil {
			return fmt.Errorf("the program's symbols: %w", err)
		}
	}

	countsFile := filepath.Join(dir, "counts")
	qemuArgs := append([]string(nil), qemucpu.Args...)
	if !o.noPlugin {
		plugin, args := "blocks", ",out="+countsFile
		if o.callers != "" {
			addr, ok := syms.addr(o.callers)
			if !ok {
				return fmt.Errorf("no symbol %s", o.callers)
			}
			plugin, args = "callers", fmt.Sprintf(",out=%s,watch=%x", countsFile, addr)
		}
		if o.edges != "" {
			plugin = "calledges"
		}
		so, err := buildPlugin(ctx, dir, plugin)
		if err != nil {
			return err
		}
		qemuArgs = append(qemuArgs, "-plugin", so+args)
	}

	var events *eventLog
	if o.events != "" {
		if events, err = newEventLog(dir, o.events); err != nil {
			return err
		}
		qemuArgs = append(qemuArgs, events.args...)
	}

	port, err := httpload.LoopbackPort()
	if err != nil {
		return err
	}
	guestPort := 8080
	if o.redis != "" {
		guestPort = 6379
	}
	var srv httpload.Server
	if o.linux {
		srv, err = httpload.LinuxGuest(ctx, g, prog, info.Manifest.Args, info.Manifest.Env, linuxguest.RunOptions{
			Rootfs: info.Initrd, Forwards: []string{fmt.Sprintf("tcp:127.0.0.1:%d-:%d", port, guestPort)},
			Timeout: o.dur + 3*time.Minute, QEMUArgs: qemuArgs[len(qemucpu.Args):]})
	} else {
		srv, err = startRunikraft(ctx, dir, o, info, prog, port, guestPort, qemuArgs)
	}
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/1k.bin", port)
	ready, load := func() error { return httpload.WaitReady(url, 2*time.Minute) }, func(d time.Duration) (int, float64, error) {
		res, err := httpload.Load(url, 1024, o.conns, d)
		return int(res.All), res.RPS(), err
	}
	if o.redis != "" {
		ready, load = func() error { return redisReady(port, 2*time.Minute) }, func(d time.Duration) (int, float64, error) {
			return redisLoad(ctx, port, o.conns, d)
		}
	}
	if err := ready(); err != nil {
		return fmt.Errorf("%w\nthe server's log:\n%s", err, srv.Stop())
	}
	pid, err := srv.PID()
	if err != nil {
		srv.Stop()
		return err
	}
	if o.redis != "" {
		// redis-benchmark connects 16 at once per test (bench/internal/hostfwd).
		if err := hostfwd.Widen(pid, port, 128); err != nil {
			fmt.Fprintln(os.Stderr, "netprof: the forward keeps its listen queue of 1 (runs may stall):", err)
		}
	}
	if _, _, err := load(2 * time.Second); err != nil {
		return fmt.Errorf("warm-up: %w\nthe server's log:\n%s", err, srv.Stop())
	}

	var perf *exec.Cmd
	if o.perf != "" {
		tid, err := vcpuThread(pid)
		if err != nil {
			srv.Stop()
			return err
		}
		perf = exec.Command("perf", "record", "-q", "-g", "-t", tid, "-o", o.perf)
		perf.Stderr = os.Stderr
		if err := perf.Start(); err != nil {
			srv.Stop()
			return fmt.Errorf("perf: %w", err)
		}
	}
	var trace *syscallTrace
	if o.syscalls {
		if trace, err = startSyscallTrace(dir, pid); err != nil {
			srv.Stop()
			return err
		}
	}
	var ev0, ev1 map[string]uint64
	var errEv0, errEv1 error
	if events != nil {
		ev0, errEv0 = events.count()
	}
	before, err1 := qemucpu.Read(pid)
	var c0, c1 counts
	var e0, e1 map[edge]uint64
	var err2, err3 error
	if o.edges != "" {
		e0, err2 = readEdges(countsFile)
	} else {
		c0, err2 = readCounts(countsFile, o.callers != "")
	}
	all, rps, err := load(o.dur)
	if o.edges != "" {
		e1, err3 = readEdges(countsFile)
	} else {
		c1, err3 = readCounts(countsFile, o.callers != "")
	}
	after, err4 := qemucpu.Read(pid)
	if events != nil {
		ev1, errEv1 = events.count()
	}
	if perf != nil {
		_ = perf.Process.Signal(syscall.SIGINT)
		_ = perf.Wait()
	}
	var sysc []threadSyscalls
	var errTrace error
	if trace != nil {
		sysc, errTrace = trace.stop()
	}
	log := srv.Stop()
	if err != nil {
		return fmt.Errorf("%w\nthe server's log:\n%s", err, log)
	}
	for _, e := range []error{err1, err4} {
		if e != nil {
			return e
		}
	}
	n := float64(all)
	if n == 0 {
		return fmt.Errorf("no request answered\nthe server's log:\n%s", log)
	}
	d := after.Sub(before)
	perReq := func(ticks uint64) float64 { return float64(ticks) * 1e6 / qemucpu.TicksPerSecond / n }
	fmt.Printf("%s: %d requests in %v (%.0f/s); QEMU vCPU %.0f µs, main loop %.0f µs per request\n",
		guestName(o), all, o.dur, rps, perReq(d.VCPU), perReq(d.Main))
	if trace != nil {
		if errTrace != nil {
			return errTrace
		}
		printSyscalls(os.Stdout, sysc, n)
	}
	if events != nil {
		if err := firstErr(errEv0, errEv1); err != nil {
			return err
		}
		events.print(os.Stdout, ev0, ev1, n)
	}
	if o.noPlugin {
		return nil
	}
	if err := firstErr(err2, err3); err != nil {
		return fmt.Errorf("the plugin's counts: %w", err)
	}
	if o.edges != "" {
		return writeEdges(o.edges, e0, e1, n)
	}
	report(os.Stdout, o, syms, c0, c1, n)
	return nil
}

func guestName(o options) string {
	if o.linux {
		return "Linux guest"
	}
	return "Runikraft"
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// startRunikraft runs prog (the image's nginx with its root filesystem,
// arguments and environment, or -program) on the kernel o.kernel (which
// has its symbols, unlike the one baked into an image).
func startRunikraft(ctx context.Context, dir string, o options, info *appimage.Info, prog string, port, guestPort int, qemuArgs []string) (httpload.Server, error) {
	var rootArgs []string
	if len(info.Initrd) > 0 {
		root := filepath.Join(dir, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			return httpload.Server{}, err
		}
		unpack := exec.CommandContext(ctx, "cpio", "-idm", "--quiet", "--no-absolute-filenames")
		unpack.Dir, unpack.Stdin = root, bytes.NewReader(info.Initrd)
		if out, err := unpack.CombinedOutput(); err != nil {
			return httpload.Server{}, fmt.Errorf("unpacking the root filesystem: %v\n%s", err, out)
		}
		if err := os.Remove(filepath.Join(root, "init")); err != nil {
			return httpload.Server{}, err
		}
		rootArgs = []string{"--rootfs", root}
	}
	wrapper := filepath.Join(dir, "qemu")
	script := "#!/bin/sh\nexec qemu-system-riscv64 \"$@\" " + strings.Join(qemuArgs, " ") + "\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return httpload.Server{}, err
	}
	args := append([]string{"run", "--qemu", wrapper, "--cpus", "1", "--kernel", o.kernel,
		"--timeout", (o.dur + 3*time.Minute).String(), "-p", fmt.Sprintf("127.0.0.1:%d:%d", port, guestPort)}, rootArgs...)
	for _, e := range info.Manifest.Env {
		args = append(args, "-e", e)
	}
	args = append(append(args, prog), info.Manifest.Args...)
	cmd := exec.CommandContext(ctx, "runikraft", args...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return httpload.Server{}, fmt.Errorf("runikraft run (on PATH): %w", err)
	}
	return httpload.Server{
		Stop: func() string { _ = cmd.Process.Kill(); _ = cmd.Wait(); return out.String() },
		PID:  func() (int, error) { return qemucpu.ChildQEMU(cmd.Process.Pid) },
	}, nil
}

// vcpuThread is the thread id of QEMU process pid's first vCPU.
func vcpuThread(pid int) (string, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return "", err
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/comm", pid, t.Name()))
		if err == nil && strings.HasPrefix(string(b), "CPU 0/") {
			return t.Name(), nil
		}
	}
	return "", fmt.Errorf("QEMU %d has no thread named CPU 0/...", pid)
}
