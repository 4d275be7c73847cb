package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/runikraft/runikraft/internal/toolchain"
)

// TestRealToolchain compiles and links C programs with the real cross gcc
// and the repository's sysroot (when ./install.sh has built them) and runs
// them under qemu-riscv64 (when installed).
func TestRealToolchain(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	host := toolchain.Host{Getenv: os.Getenv, Exe: filepath.Join(root, "bin", tool)}
	if os.Getenv("RUNIKRAFT_SYSROOT") == "" {
		if _, err := host.Sysroot(); err != nil {
			t.Skip(err)
		}
	}
	if _, err := host.CrossGCC(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	progs := map[string]struct {
		src   string
		flags []string
		want  string
	}{
		"hello": {`#include <stdio.h>
#include <math.h>
int main(int argc, char **argv) { printf("%s %.3f\n", argv[1], sqrt(2.0)); return 7; }
`, []string{"-O2", "-lm"}, "hi 1.414\n"},
		"threads": {`#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
static __thread int tls = 1;
static atomic_char c;
static void *work(void *a) { tls += (int)(long)a; atomic_fetch_add(&c, 1); return (void *)(long)tls; }
int main(void) {
	pthread_t t[3]; long sum = 0;
	for (long i = 0; i < 3; i++) pthread_create(&t[i], 0, work, (void *)i);
	for (int i = 0; i < 3; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
	printf("%ld %d %d\n", sum, tls, c);
	return 7;
}
`, []string{"-pthread"}, "6 1 3\n"},
	}
	qemu, qerr := exec.LookPath("qemu-riscv64")
	for name, p := range progs {
		src := filepath.Join(dir, name+".c")
		if err := os.WriteFile(src, []byte(p.src), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name)
		var stderr bytes.Buffer
		args := append([]string{"--app-only", "-Wall", "-o", out, src}, p.flags...)
		if code := run(args, host, nil, &stderr, &stderr); code != 0 {
			t.Fatalf("%s: runikraft-cc exit %d:\n%s", name, code, stderr.String())
		}
		if err := toolchain.CheckApp(out); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if qerr != nil {
			continue
		}
		cmd := exec.Command(qemu, out, "hi")
		got, err := cmd.Output()
		if code := cmd.ProcessState.ExitCode(); code != 7 || string(got) != p.want {
			t.Errorf("%s under qemu-riscv64: exit %d (%v), output %q; want 7, %q", name, code, err, got, p.want)
		}
	}
}
