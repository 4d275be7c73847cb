// Command 9p measures file I/O on a 9p volume (runikraft run -v) next to
// the kernel's ramfs (/tmp) in the same run: sequential write (with
// fsync) and read of a large file in 1 MiB pieces, and creating,
// stat'ing and deleting many small files, timed inside the guest.
//
//	go run ./bench/9p [-mib 256] [-files 10000] [-m 1G]
//
// It needs bin/runikraft and bin/runikraft-kernel.img (./install.sh) and
// riscv64-linux-gnu-gcc. A Linux guest's column (its own 9p mount on the
// same QEMU) is added by -linux-cmd: a command that runs csrc/fsbench.c's
// program as "fsbench DIR MIB FILES" in a Linux guest on a 9p mount and
// prints its output (the Linux guest baseline in bench/ provides one).
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
	mib := flag.Int("mib", 256, "size of the sequential file in MiB")
	files := flag.Int("files", 10000, "small files to create, stat and delete")
	mem := flag.String("m", "1G", "guest memory (ramfs holds the large file)")
	linux := flag.String("linux-cmd", "", "shell command running fsbench in a Linux guest on a 9p mount (column left out when empty); $FSBENCH, $MIB and $FILES are set")
	flag.Parse()
	if err := run(*mib, *files, *mem, *linux); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parse reads "name value" lines.
func parse(out []byte) (map[string]float64, []string) {
	res := map[string]float64{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			res[f[0]] = v
			order = append(order, f[0])
		}
	}
	return res, order
}

func measure(name string, argv ...string) (map[string]float64, []string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %v\n%s", name, strings.Join(argv, " "), err, errb.Bytes())
	}
	res, order := parse(out)
	return res, order, nil
}

func run(mib, files int, mem, linuxCmd string) error {
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
	nine, order, err := measure("9p", "bin/runikraft", "run", "-m", mem, "-v", share+":/vol", bin, "/vol", m, f)
	if err != nil {
		return err
	}
	ram, _, err := measure("ramfs", "bin/runikraft", "run", "-m", mem, bin, "/tmp", m, f)
	if err != nil {
		return err
	}
	var lin map[string]float64
	if linuxCmd != "" {
		c := exec.Command("sh", "-c", linuxCmd)
		c.Env = append(os.Environ(), "FSBENCH="+bin, "MIB="+m, "FILES="+f)
		out, err := c.Output()
		if err != nil {
			return fmt.Errorf("-linux-cmd: %v", err)
		}
		lin, _ = parse(out)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	head := fmt.Sprintf("%d MiB file, %d files\trunikraft 9p volume\trunikraft ramfs", mib, files)
	if lin != nil {
		head += "\tLinux guest 9p"
	}
	fmt.Fprintln(w, head)
	for _, k := range order {
		line := fmt.Sprintf("%s\t%.1f\t%.1f", k, nine[k], ram[k])
		if lin != nil {
			line += fmt.Sprintf("\t%.1f", lin[k])
		}
		fmt.Fprintln(w, line)
	}
	return w.Flush()
}
