// Command 9p measures file I/O on a 9p volume (runikraft run -v) next to
// the kernel's ramfs (/tmp) in the same run: sequential write (with
// fsync) and read of a large file in 1 MiB pieces, and creating,
// stat'ing and deleting many small files, timed inside the guest.
//
//	go run ./bench/9p [-mib 256] [-files 10000] [-m 1G]
//
// It needs bin/runikraft and bin/runikraft-kernel.img (./install.sh) and
// riscv64-linux-gnu-gcc. The same binary then runs in the benchmarks'
// Linux guest (bench/internal/linuxguest, built once) on its own 9p mount
// of a host directory and on its tmpfs, on the same QEMU with the same
// memory; -linux=false leaves those columns out.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/bench/internal/results"
)

func main() {
	mib := flag.Int("mib", 256, "size of the sequential file in MiB")
	files := flag.Int("files", 10000, "small files to create, stat and delete")
	mem := flag.String("m", "1G", "guest memory (ramfs holds the large file)")
	linux := flag.Bool("linux", true, "run the same in the Linux guest too, on its 9p mount and its tmpfs (builds the guest once, about 10-15 minutes)")
	flag.Parse()
	if err := run(*mib, *files, *mem, *linux); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func measure(name string, argv ...string) (map[string]float64, []string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %v\n%s", name, strings.Join(argv, " "), err, errb.Bytes())
	}
	res, order := results.Parse(out)
	return res, order, nil
}

func run(mib, files int, mem string, linux bool) error {
	ctx := context.Background()
	var g *linuxguest.Guest
	if linux {
		var err error
		if g, err = linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr}); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "runikraft-bench-9p-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "fsbench")
	cc := exec.Command("riscv64-linux-gnu-gcc", "-static", "-O2", "-o", bin, "bench/9p/csrc/fsbench.c")
	if out, err := cc.CombinedOutput(); err != nil {
		return fmt.Errorf("cc: %v\n%s", err, out)
	}
	share := filepath.Join(dir, "share")
	if err := os.Mkdir(share, 0o755); err != nil {
		return err
	}
	m, f := strconv.Itoa(mib), strconv.Itoa(files)
	nine, order, err := measure("9p", "bin/runikraft", "run", "--cpus", "1", "-m", mem, "-v", share+":/vol", bin, "/vol", m, f)
	if err != nil {
		return err
	}
	ram, _, err := measure("ramfs", "bin/runikraft", "run", "--cpus", "1", "-m", mem, bin, "/tmp", m, f)
	if err != nil {
		return err
	}
	var lin, ltmp map[string]float64
	if g != nil {
		lshare := filepath.Join(dir, "linux-share")
		if err := os.Mkdir(lshare, 0o755); err != nil {
			return err
		}
		if lin, err = inLinux(ctx, g, bin, mem, "/vol", m, f, []linuxguest.Share{{HostDir: lshare, GuestDir: "/vol"}}); err != nil {
			return err
		}
		if ltmp, err = inLinux(ctx, g, bin, mem, "/tmp", m, f, nil); err != nil {
			return err
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	head := fmt.Sprintf("%d MiB file, %d files\trunikraft 9p volume\trunikraft ramfs", mib, files)
	if lin != nil {
		head += "\tLinux guest 9p\tLinux guest tmpfs"
	}
	fmt.Fprintln(w, head)
	for _, k := range order {
		line := fmt.Sprintf("%s\t%.1f\t%.1f", k, nine[k], ram[k])
		if lin != nil {
			line += fmt.Sprintf("\t%.1f\t%.1f", lin[k], ltmp[k])
		}
		fmt.Fprintln(w, line)
	}
	return w.Flush()
}

// inLinux runs fsbench on dir in the Linux guest and parses its lines.
func inLinux(ctx context.Context, g *linuxguest.Guest, bin, mem, dir, mib, files string, shares []linuxguest.Share) (map[string]float64, error) {
	r, err := g.Run(ctx, bin, []string{dir, mib, files}, nil, linuxguest.RunOptions{Mem: mem, Shares: shares, Timeout: 30 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("linux guest, %s: %w", dir, err)
	}
	if r.Status != 0 {
		return nil, fmt.Errorf("linux guest, %s: fsbench exited %d\n%s", dir, r.Status, r.Output)
	}
	res, _ := results.Parse(r.Output)
	return res, nil
}
