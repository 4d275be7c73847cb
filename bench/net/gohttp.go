package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/runikraft/runikraft/bench/internal/httpload"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
)

// benchGo builds bench/net/httpserver twice, with `runikraft go build`
// for the unikernel and as a static linux/riscv64 binary for the Linux
// guest (g, unless nil), boots each behind a QEMU user-network forward
// with one vCPU and loads it from the host with bench/internal/httpload
// (conns kept-alive connections for duration), and prints both columns.
func benchGo(ctx context.Context, dir string, conns int, duration time.Duration, g *linuxguest.Guest) error {
	cli, err := filepath.Abs(filepath.Join("bin", "runikraft"))
	if err != nil {
		return err
	}
	image := filepath.Join(dir, "httpserver")
	build := exec.CommandContext(ctx, cli, "go", "build", "-o", image, "./bench/net/httpserver")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("runikraft go build ./bench/net/httpserver: %v\n%s", err, out)
	}
	rk, err := httpload.Serve(conns, duration, "/1k.bin", 1024, func(port int) (httpload.Server, error) {
		return httpload.Runikraft(ctx, dir, cli, "--timeout", (duration + 3*time.Minute).String(),
			"-p", fmt.Sprintf("127.0.0.1:%d:8080", port), image)
	})
	if err != nil {
		return fmt.Errorf("the Go server in Runikraft: %w", err)
	}
	var lg *httpload.Result
	if g != nil {
		prog := filepath.Join(dir, "httpserver.linux")
		build := exec.CommandContext(ctx, "go", "build", "-o", prog, "./bench/net/httpserver")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=riscv64")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./bench/net/httpserver for linux/riscv64: %v\n%s", err, out)
		}
		r, err := httpload.Serve(conns, duration, "/1k.bin", 1024, func(port int) (httpload.Server, error) {
			return httpload.LinuxGuest(ctx, g, prog, nil, nil, linuxguest.RunOptions{
				Forwards: []string{fmt.Sprintf("tcp:127.0.0.1:%d-:8080", port)},
				Timeout:  duration + 3*time.Minute})
		})
		if err != nil {
			return fmt.Errorf("the Go server in the Linux guest: %w", err)
		}
		lg = &r
	}
	return httpload.Table(os.Stdout, fmt.Sprintf("Go net/http, 1 KiB, %d conns, %v", conns, duration), rk, lg)
}
