// Command nginx measures nginx, built unchanged from Debian's source with
// runikraft-cc, serving a static 1 KiB file to the host:
//
//	go run ./bench/nginx [-conns 16] [-duration 10s] [-rounds 3] [-client wrk|go]
//
// It builds the image through tests/toolchain's TestNginx (the one place
// that knows how; it needs the binfmt_misc entry install.sh registers),
// boots it with `runikraft run -p` on QEMU user networking, and loads it
// from the host with Debian's wrk (or, with -client go, Go's HTTP client):
// -conns kept-alive connections, each sending its next GET as soon as
// the last answer is read, for -duration after a one-second warm-up. It
// prints requests per second and latency percentiles, and (unless
// -linux=false) the same for the same nginx program and root filesystem
// in the Linux guest (bench/internal/linuxguest) behind the same kind of
// forward; -rounds times, alternating which guest goes first, then the
// median of the rounds' ratios.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/runikraft/runikraft/bench/internal/appbuild"
	"github.com/runikraft/runikraft/bench/internal/httpload"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/bench/internal/rounds"
	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

func main() {
	conns := flag.Int("conns", 16, "concurrent kept-alive connections (1-64: nginx is configured for 64)")
	duration := flag.Duration("duration", 10*time.Second, "how long to measure (1s-5m)")
	linux := flag.Bool("linux", true, "measure the same nginx in the Linux guest too (builds it once, about 10-15 minutes)")
	image := flag.String("image", "", "measure this nginx image (one TestNginx kept with RUNIKRAFT_KEEP_IMAGES) instead of building one")
	client := flag.String("client", "wrk", "the load: wrk (Debian's, on the host) or go (Go's HTTP client in this process)")
	nRounds := flag.Int("rounds", 3, "rounds of both guests, alternating which goes first (1-20); the summary gives the median ratio")
	flag.Parse()
	if *conns < 1 || *conns > 64 || *duration < time.Second || *duration > 5*time.Minute || *nRounds < 1 || *nRounds > 20 {
		fmt.Fprintln(os.Stderr, "bench: -conns must be 1-64, -duration 1s-5m and -rounds 1-20")
		os.Exit(2)
	}
	load, err := httpload.LoaderNamed(*client)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	o := options{conns: *conns, duration: *duration, linux: *linux, image: *image, client: *client, load: load, rounds: *nRounds}
	if err := bench(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	conns, rounds int
	duration      time.Duration
	linux         bool
	image, client string
	load          httpload.Loader
}

func bench(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(o.rounds)*(2*o.duration+10*time.Minute))
	defer cancel()
	dir, err := os.MkdirTemp("", "runikraft-bench-nginx-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	image := o.image
	if image == "" {
		fmt.Fprintln(os.Stderr, "bench: building nginx through tests/toolchain (TestNginx, a few minutes)")
		if err := appbuild.Build(ctx, dir, "^TestNginx$", "nginx", 20*time.Minute); err != nil {
			return err
		}
		image = filepath.Join(dir, "nginx")
	}
	if _, err := os.Stat(image); err != nil {
		return fmt.Errorf("no nginx image (TestNginx skipped? it needs binfmt_misc): %w", err)
	}
	runikraft := filepath.Join(dir, "runikraft")
	build := exec.CommandContext(ctx, "go", "build", "-o", runikraft, "./cmd/runikraft")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building runikraft: %v\n%s", err, out)
	}
	// The CLI finds the kernels next to itself; the image has its own
	// kernel baked in, so none is needed here.

	rk := func() (httpload.Result, error) {
		return httpload.Serve(o.load, o.conns, o.duration, "/1k.bin", 1024, func(port int) (httpload.Server, error) {
			return httpload.Runikraft(ctx, dir, runikraft, "--timeout", (o.duration + 3*time.Minute).String(),
				"-p", fmt.Sprintf("127.0.0.1:%d:8080", port), image)
		})
	}
	var lg func() (httpload.Result, error)
	if o.linux {
		g, err := linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr})
		if err != nil {
			return err
		}
		// The same nginx and root filesystem in the Linux guest: the
		// image carries both (the program as the root's /init).
		info, err := appimage.Read(image)
		if err != nil {
			return err
		}
		if !info.Rootfs {
			return errors.New("the nginx image has no root filesystem")
		}
		app, err := cpio.ReadFile(info.Initrd, "init", 256<<20)
		if err != nil {
			return fmt.Errorf("the nginx image's root filesystem: %w", err)
		}
		prog := filepath.Join(dir, "nginx.app")
		if err := os.WriteFile(prog, app, 0o755); err != nil {
			return err
		}
		// A failed Linux run leaves its round without a ratio (Rounds
		// reports it) rather than losing the Runikraft column.
		lg = func() (httpload.Result, error) {
			return httpload.Serve(o.load, o.conns, o.duration, "/1k.bin", 1024, func(port int) (httpload.Server, error) {
				return httpload.LinuxGuest(ctx, g, prog, info.Manifest.Args, info.Manifest.Env, linuxguest.RunOptions{
					Rootfs: info.Initrd, Forwards: []string{fmt.Sprintf("tcp:127.0.0.1:%d-:8080", port)},
					Timeout: o.duration + 3*time.Minute})
			})
		}
	}
	title := fmt.Sprintf("nginx, static 1 KiB, %d conns, %v, %s", o.conns, o.duration, o.client)
	s, err := httpload.Rounds(os.Stdout, title, o.rounds, rk, lg)
	if err != nil {
		return err
	}
	s.Name = "nginx req/s"
	return rounds.Summary(os.Stdout, "summary", []rounds.Series{s})
}
