// Command syscall measures the cost of system calls inside the unikernel
// next to the same static binary under qemu-riscv64 (user-mode QEMU, which
// translates syscalls to the host's) on the same machine in the same run:
//
//	go run ./bench/syscall [-n CALLS]
//
// It needs bin/runikraft and bin/runikraft-kernel.img (./install.sh).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

func main() {
	n := flag.Int("n", 20000, "calls per measurement")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func measure(argv ...string) (map[string]float64, []string, error) {
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	res := map[string]float64{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		res[f[0]] = v
		order = append(order, f[0])
	}
	return res, order, nil
}

func run(n int) error {
	dir, err := os.MkdirTemp("", "runikraft-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "calls")
	cc := exec.Command("riscv64-linux-gnu-gcc", "-static", "-O2", "-pthread", "-o", bin, "bench/syscall/csrc/calls.c")
	if out, err := cc.CombinedOutput(); err != nil {
		return fmt.Errorf("cc: %v\n%s", err, out)
	}
	args := strconv.Itoa(n)
	rk, order, err := measure("bin/runikraft", "run", bin, args)
	if err != nil {
		return err
	}
	qu, _, err := measure("qemu-riscv64", bin, args)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "call (ns, %d calls)\trunikraft\tqemu-riscv64 (user mode)\tratio\n", n)
	for _, k := range order {
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%.1fx\n", k, rk[k], qu[k], rk[k]/qu[k])
	}
	return w.Flush()
}
