// Command kvm times images booted under nested KVM (runikraft run
// --kvm-nested: QEMU TCG with the H extension → Debian's riscv64 Linux
// with KVM → qemu-system-riscv64 -accel kvm) next to the same images
// under plain TCG (runikraft run), in the same run, and prints a table:
//
//	go run ./bench/kvm [-runs N]
//
// Times are medians of N runs of the whole command, from start to exit
// (the nested column includes booting the outer Linux, about 5 s here),
// and of how long the nested QEMU itself ran by the outer Linux's clock
// (the image under KVM alone; runikraft run --kvm-nested --debug says).
// The first run builds the rig if the cache has none (see internal/kvmrig).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/internal/kvmrig"
)

func main() {
	runs := flag.Int("runs", 3, "boots per measurement")
	flag.Parse()
	if *runs < 1 || *runs > 50 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be 1..50")
		os.Exit(2)
	}
	if err := bench(*runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// image is one measured image with its arguments and expected status.
type image struct {
	name, path string
	args       []string
	code       int
}

func bench(runs int) error {
	dir, err := os.MkdirTemp("", "runikraft-bench-kvm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cli := filepath.Join(dir, "runikraft")
	if err := goBuild(cli, "./cmd/runikraft"); err != nil {
		return err
	}
	ctx := context.Background()
	kernel := func(out, pkg string) error {
		_, err := kbuild.Build(ctx, kbuild.Options{Dir: ".", Pkg: pkg, Out: out, Stderr: os.Stderr})
		return err
	}
	if err := kernel(filepath.Join(dir, "runikraft-kernel.img"), "./kernel/cmd/kernel"); err != nil {
		return err
	}
	images := []image{{name: "exit3 (kernel only)", path: filepath.Join(dir, "exit3.img"), code: 3}}
	if err := kernel(images[0].path, "./tests/boot/kernels/exit3"); err != nil {
		return err
	}
	if c, err := cHello(dir); err != nil {
		fmt.Fprintf(os.Stderr, "bench: skipping the C image: %v\n", err)
	} else {
		images = append(images, image{name: "C hello (runikraft-cc)", path: c, args: []string{"x", "0"}})
	}
	goapp := filepath.Join(dir, "goapp")
	if out, err := exec.Command(cli, "go", "build", "-o", goapp, "./tests/app/testdata/goapp").CombinedOutput(); err != nil {
		return fmt.Errorf("runikraft go build: %v\n%s", err, out)
	}
	images = append(images,
		image{name: "Go goroutines+timers", path: goapp, args: []string{"goroutines"}},
		image{name: "Go GC churn (256 MiB)", path: goapp, args: []string{"churn"}})

	start := time.Now()
	rig, err := kvmrig.Ensure(ctx, kvmrig.Options{Log: os.Stderr})
	if err != nil {
		return err
	}
	rigTime := time.Since(start)

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "image\tTCG\tnested KVM\tnested/TCG\tof which nested QEMU\t\n")
	for _, im := range images {
		var tcg, kvm, inner []time.Duration
		for i := 0; i < runs; i++ { // interleaved, so load spikes hit both
			d, _, err := timeRun(cli, im, false)
			if err != nil {
				return err
			}
			tcg = append(tcg, d)
			d, in, err := timeRun(cli, im, true)
			if err != nil {
				return err
			}
			kvm, inner = append(kvm, d), append(inner, in)
		}
		t, k := median(tcg), median(kvm)
		fmt.Fprintf(tw, "%s\t%v\t%v\t%.1f×\t%v\t\n", im.name, t.Round(10*time.Millisecond), k.Round(10*time.Millisecond),
			float64(k)/float64(t), median(inner).Round(10*time.Millisecond))
	}
	tw.Flush()
	fmt.Printf("\nmedians of %d runs, wall time of runikraft run from start to exit\n", runs)
	fmt.Printf("nested: host QEMU %s TCG -cpu rv64,h=true → Linux %s (%s) with kvm.ko → QEMU %s -accel kvm\n",
		hostQEMU(), rig.Versions.Linux, rig.Versions.KernelPackage, rig.Versions.QEMU)
	fmt.Printf("rig: %s (ready in %v)\n", rig.Dir, rigTime.Round(time.Millisecond))
	return nil
}

// nestedRan is the line runikraft run --kvm-nested --debug ends with.
var nestedRan = regexp.MustCompile(`runikraft: kvm: the nested QEMU ran (\S+) of `)

// timeRun runs im once and returns the wall time and, nested, how long
// the nested QEMU ran.
func timeRun(cli string, im image, nested bool) (wall, inner time.Duration, err error) {
	argv := []string{"run", "--timeout", "5m"}
	if nested {
		argv = append(argv, "--kvm-nested", "--debug")
	}
	argv = append(append(argv, im.path), im.args...)
	cmd := exec.Command(cli, argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		return 0, 0, err
	}
	if code != im.code {
		return 0, 0, fmt.Errorf("%s (nested %v): exit %d, want %d\n%s%s", im.name, nested, code, im.code, out.Bytes(), errb.Bytes())
	}
	if nested {
		m := nestedRan.FindSubmatch(errb.Bytes())
		if m == nil {
			return 0, 0, fmt.Errorf("%s: runikraft run --kvm-nested --debug did not say how long the nested QEMU ran", im.name)
		}
		if inner, err = time.ParseDuration(string(m[1])); err != nil {
			return 0, 0, fmt.Errorf("%s: %v", im.name, err)
		}
	}
	return wall, inner, nil
}

// cHello builds tests/app/testdata/c/hello.c with runikraft-cc, which
// needs the musl sysroot (libc-shim/build.sh).
func cHello(dir string) (string, error) {
	sysroot, err := filepath.Abs("sysroot")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(sysroot, "lib/libc.a")); err != nil {
		return "", errors.New("no musl sysroot (run ./install.sh or libc-shim/build.sh)")
	}
	cc := filepath.Join(dir, "runikraft-cc")
	if err := goBuild(cc, "./cc-wrapper"); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "c-hello")
	cmd := exec.Command(cc, "-O2", "-o", out, "tests/app/testdata/c/hello.c")
	cmd.Env = append(os.Environ(), "RUNIKRAFT_SYSROOT="+sysroot)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("runikraft-cc: %v\n%s", err, b)
	}
	return out, nil
}

func goBuild(out, pkg string) error {
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func hostQEMU() string {
	out, err := exec.Command("qemu-system-riscv64", "--version").Output()
	if err != nil {
		return "?"
	}
	f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0])
	if len(f) >= 4 {
		return f[3]
	}
	return "?"
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
