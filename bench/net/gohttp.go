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
	"github.com/runikraft/runikraft/bench/internal/rounds"
)

// benchGo builds bench/net/httpserver twice, with `runikraft go build`
// for the unikernel and as a static linux/riscv64 binary for the Linux
// guest (g, unless nil), boots each behind a QEMU user-network forward
// with one vCPU and loads it from the host with bench/internal/httpload
// (o.goConns kept-alive connections for o.goDur, through o.load), o.rounds
// times, and prints both columns per round; it returns the rates.
func benchGo(ctx context.Context, dir string, o options, g *linuxguest.Guest) (rounds.Series, error) {
	cli, err := filepath.Abs(filepath.Join("bin", "runikraft"))
	if err != nil {
		return rounds.Series{}, err
	}
	image := filepath.Join(dir, "httpserver")
	build := exec.CommandContext(ctx, cli, "go", "build", "-o", image, "./bench/net/httpserver")
	if out, err := build.CombinedOutput(); err != nil {
		return rounds.Series{}, fmt.Errorf("runikraft go build ./bench/net/httpserver: %v\n%s", err, out)
	}
	rk := func() (httpload.Result, error) {
		return httpload.Serve(o.load, o.goConns, o.goDur, "/1k.bin", 1024, func(port int) (httpload.Server, error) {
			return httpload.Runikraft(ctx, dir, cli, "--timeout", (o.goDur + 3*time.Minute).String(),
				"-p", fmt.Sprintf("127.0.0.1:%d:8080", port), image)
		})
	}
	var lg func() (httpload.Result, error)
	if g != nil {
		prog := filepath.Join(dir, "httpserver.linux")
		build := exec.CommandContext(ctx, "go", "build", "-o", prog, "./bench/net/httpserver")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=riscv64")
		if out, err := build.CombinedOutput(); err != nil {
			return rounds.Series{}, fmt.Errorf("go build ./bench/net/httpserver for linux/riscv64: %v\n%s", err, out)
		}
		lg = func() (httpload.Result, error) {
			return httpload.Serve(o.load, o.goConns, o.goDur, "/1k.bin", 1024, func(port int) (httpload.Server, error) {
				return httpload.LinuxGuest(ctx, g, prog, nil, nil, linuxguest.RunOptions{
					Forwards: []string{fmt.Sprintf("tcp:127.0.0.1:%d-:8080", port)},
					Timeout:  o.goDur + 3*time.Minute})
			})
		}
	}
	s, err := httpload.Rounds(os.Stdout, fmt.Sprintf("Go net/http, 1 KiB, %d conns, %v, %s", o.goConns, o.goDur, o.client), o.rounds, rk, lg)
	s.Name = "Go net/http req/s"
	return s, err
}
