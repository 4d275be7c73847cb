// Package ship tests the ways an image leaves the machine that built it:
// as an OCI image through a registry (served here on loopback), and as a
// libvirt domain run by a libvirt daemon the test starts itself.
package ship

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/kubevirt"
	"github.com/runikraft/runikraft/internal/oci"
	"github.com/runikraft/runikraft/tests/harness"
)

var (
	runikraft string // the CLI, with the stock kernel next to it
	program   string // shipapp, a plain static riscv64 program
	image     string // shipapp baked with default args and environment
)

// What a run of image prints and how it ends: the baked arguments and
// environment, an empty stdin, exit status $RK_EXIT.
const (
	wantStdout = `args=["one" "two words"] env=["RK_EXIT=3" "RK_MODE=baked"] stdin=0 bytes err=<nil>` + "\n"
	wantStderr = "shipapp: a line on stderr\n"
	wantCode   = 3
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m, build)) }

func build(dir string) (err error) {
	if runikraft, err = harness.Tools(dir); err != nil {
		return err
	}
	app := filepath.Join(dir, "shipapp")
	if err := harness.BuildGo(app, "./testdata/shipapp"); err != nil {
		return err
	}
	program = app
	image = filepath.Join(dir, "shipapp.img")
	_, err = appimage.Write(appimage.Options{
		Kernel: filepath.Join(dir, "runikraft-kernel.img"),
		App:    app,
		Args:   []string{"one", "two words"},
		Env:    []string{"RK_EXIT=3", "RK_MODE=baked"},
	}, image)
	return err
}

// cli runs runikraft with env added to ours, bounded in time.
func cli(t *testing.T, env []string, args ...string) harness.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runikraft, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := harness.Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("runikraft %v: %v", args, err)
	}
	t.Logf("runikraft %v: exit %d\nstdout: %q\nstderr: %q", args, res.Code, res.Stdout, res.Stderr)
	return res
}

func ok(t *testing.T, r harness.Result) string {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout)
}

// TestOCIRoundTrip: pkg twice gives one digest and identical layouts;
// push to a registry on loopback; pull into a clean cache; run REF gives
// what running the image directly gives, and so does run REF on another
// clean cache, which pulls by itself.
func TestOCIRoundTrip(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/ship/app:1"
	// No credentials from this machine's Docker configuration.
	docker := "DOCKER_CONFIG=" + t.TempDir()
	cache := func() []string { return []string{"XDG_CACHE_HOME=" + t.TempDir(), docker} }

	direct := harness.Run(t, runikraft, nil, image)
	harness.Expect(t, direct, wantCode, wantStdout)

	builder := cache()
	lay1, lay2 := filepath.Join(t.TempDir(), "lay"), filepath.Join(t.TempDir(), "lay")
	d1 := ok(t, cli(t, builder, "pkg", "-t", ref, "--oci-dir", lay1, image))
	d2 := ok(t, cli(t, builder, "pkg", "-t", ref, "--oci-dir", lay2, image))
	if !strings.HasPrefix(d1, "sha256:") || d1 != d2 {
		t.Fatalf("two pkg runs: digests %q and %q, want one sha256 digest", d1, d2)
	}
	for _, f := range []string{"index.json", "oci-layout", "blobs/sha256/" + strings.TrimPrefix(d1, "sha256:")} {
		a, err1 := os.ReadFile(filepath.Join(lay1, f))
		b, err2 := os.ReadFile(filepath.Join(lay2, f))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("layouts differ in %s (%v, %v)", f, err1, err2)
		}
	}
	// A short name in the local store runs too, with no registry.
	if d := ok(t, cli(t, builder, "pkg", "-t", "shipapp:dev", image)); d != d1 {
		t.Errorf("pkg -t shipapp:dev: digest %s, want %s", d, d1)
	}
	if r := cli(t, builder, "run", "--timeout", "3m", "shipapp:dev"); r.Code != direct.Code || r.Stdout != direct.Stdout {
		t.Errorf("run shipapp:dev from the store: exit %d stdout %q", r.Code, r.Stdout)
	}
	if got := ok(t, cli(t, builder, "push", ref)); got != host+"/ship/app@"+d1 {
		t.Fatalf("push printed %q, want %s@%s", got, host+"/ship/app", d1)
	}

	puller := cache()
	if got := ok(t, cli(t, puller, "pull", ref)); got != host+"/ship/app@"+d1 {
		t.Fatalf("pull printed %q, want the pushed digest %s", got, d1)
	}
	srv.Close() // run REF must now use the pulled copy
	r := cli(t, puller, "run", "--timeout", "3m", ref)
	if r.Code != direct.Code || r.Stdout != direct.Stdout || !strings.Contains(r.Stderr, wantStderr) {
		t.Fatalf("run %s after pull: exit %d stdout %q; direct run: exit %d stdout %q", ref, r.Code, r.Stdout, direct.Code, direct.Stdout)
	}
}

// TestRunPullsByItself: run REF on a clean cache pulls the image, by tag
// and by digest.
func TestRunPullsByItself(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/ship/self:2"
	docker := "DOCKER_CONFIG=" + t.TempDir()
	builder := []string{"XDG_CACHE_HOME=" + t.TempDir(), docker}
	d := ok(t, cli(t, builder, "pkg", "-t", ref, image))
	ok(t, cli(t, builder, "push", ref))
	for _, r := range []string{ref, host + "/ship/self@" + d} {
		res := cli(t, []string{"XDG_CACHE_HOME=" + t.TempDir(), docker}, "run", "--timeout", "3m", r)
		if res.Code != wantCode || res.Stdout != wantStdout || !strings.Contains(res.Stderr, "pulling") {
			t.Errorf("run %s on a clean cache: exit %d stdout %q stderr %q", r, res.Code, res.Stdout, res.Stderr)
		}
	}
}

// exitReport finds the kernel's exit status line in a console log.
func exitReport(console []byte) (int, bool) {
	sc := bufio.NewScanner(bytes.NewReader(console))
	status, found := 0, false
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.Index(line, bootargs.ExitReport)
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(line[i+len(bootargs.ExitReport):])
		if err == nil && n >= 0 && n <= 255 {
			status, found = n, true
		}
	}
	return status, found
}

func TestExitReport(t *testing.T) {
	for in, want := range map[string]int{
		"banner\n\x1b]0;runikraft\x07runikraft: exit status 3\n": 3,
		"runikraft: exit status 0\r\n":                           0,
	} {
		if got, ok := exitReport([]byte(in)); !ok || got != want {
			t.Errorf("exitReport(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "runikraft: exit status x\n", "runikraft: exit status 300\n"} {
		if _, ok := exitReport([]byte(in)); ok {
			t.Errorf("exitReport(%q) found a status", in)
		}
	}
}

// pollState waits until virsh says the domain is shut off.
func pollState(t *testing.T, virsh func(...string) (string, error), name string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		state, err := virsh("domstate", "--reason", name)
		if err == nil && strings.HasPrefix(state, "shut off") {
			t.Logf("domain %s: %s", name, state)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("domain %s not shut off after %v: %q %v", name, limit, state, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestLibvirt defines images with runikraft libvirt --define on a libvirt
// daemon of its own, starts them with virsh, sees them shut off and finds
// the application's output and exit status in their files: the baked
// image as is, and the plain program on the stock kernel with ARGS and -e.
func TestLibvirt(t *testing.T) {
	lv := startLibvirtd(t)
	img := filepath.Join(lv.base, "shipapp.img")
	copyFile(t, image, img)
	prog := filepath.Join(lv.base, "shipapp")
	copyFile(t, program, prog)
	// The stock kernel too: the daemon's user cannot read the build
	// directory.
	kernel := filepath.Join(lv.base, "runikraft-kernel.img")
	copyFile(t, filepath.Join(filepath.Dir(runikraft), "runikraft-kernel.img"), kernel)
	lv.own(t, img, prog, kernel)

	t.Run("image", func(t *testing.T) {
		code, stdout, stderr := runLibvirt(t, lv, "image", img)
		if code != wantCode || stdout != wantStdout || stderr != wantStderr {
			t.Fatalf("under libvirt: exit %d stdout %q stderr %q; want exit %d stdout %q stderr %q", code, stdout, stderr, wantCode, wantStdout, wantStderr)
		}
	})
	t.Run("program", func(t *testing.T) {
		direct := harness.Run(t, runikraft, []string{"-e", "RK_EXIT=5"}, prog, "x y")
		code, stdout, _ := runLibvirt(t, lv, "program", "--kernel", kernel, "-e", "RK_EXIT=5", prog, "x y")
		if want := `args=["x y"] env=["RK_EXIT=5"] stdin=0 bytes err=<nil>` + "\n"; direct.Code != 5 || direct.Stdout != want {
			t.Fatalf("direct run: exit %d stdout %q, want 5 and %q", direct.Code, direct.Stdout, want)
		}
		if code != direct.Code || stdout != direct.Stdout {
			t.Fatalf("under libvirt: exit %d stdout %q; direct run: exit %d stdout %q", code, stdout, direct.Code, direct.Stdout)
		}
	})
}

// runLibvirt defines a domain for args (runikraft libvirt's flags and
// IMAGE [ARGS]), runs it to its end and returns the exit status from the
// console report and what the application wrote.
func runLibvirt(t *testing.T, lv *libvirtd, tag string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	virsh := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "virsh", append([]string{"-c", lv.uri}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	out := filepath.Join(lv.base, "out-"+tag)
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	lv.own(t, out)

	name := fmt.Sprintf("rk-ship-%s-%d", tag, os.Getpid())
	flags := []string{"libvirt", "--define", "--connect", lv.uri, "--name", name, "--dir", out}
	r := cli(t, nil, append(flags, args...)...)
	if got := ok(t, r); got != name {
		t.Fatalf("libvirt --define printed %q, want %s", got, name)
	}
	defer virsh("undefine", name)
	// A domain outlives its daemon: if the test stops early, QEMU must not
	// stay behind.
	defer virsh("destroy", name)
	// QEMU opens the stdin port's files read-write, as the daemon's user.
	lv.own(t, filepath.Join(out, "stdin.in"), filepath.Join(out, "stdin.out"))
	xml, err := virsh("dumpxml", name)
	if err != nil {
		t.Fatalf("dumpxml: %v: %s", err, xml)
	}
	for _, want := range []string{"runikraft.report=", `name="runikraft.stdout"`, `type="virtio-mmio"`, `machine="virt"`} {
		if !strings.Contains(strings.ReplaceAll(xml, "'", `"`), want) {
			t.Errorf("defined domain lacks %s:\n%s", want, xml)
		}
	}
	if s, err := virsh("start", name); err != nil {
		t.Fatalf("virsh start: %v: %s", err, s)
	}
	pollState(t, virsh, name, 3*time.Minute)

	console, _ := os.ReadFile(filepath.Join(out, "console.log"))
	o, _ := os.ReadFile(filepath.Join(out, "stdout"))
	e, _ := os.ReadFile(filepath.Join(out, "stderr"))
	code, found := exitReport(console)
	if !found {
		t.Fatalf("no %q line on the console:\n%s", bootargs.ExitReport, console)
	}
	return code, string(o), string(e)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKubeVirtManifest: runikraft kubevirt on the baked image writes a
// VirtualMachine and Service that decode strictly into KubeVirt's and
// Kubernetes' types and carry the image's command line. (No cluster runs
// here: this is as far as KubeVirt is checked.)
func TestKubeVirtManifest(t *testing.T) {
	ref := "registry.example:5000/ship/app:1"
	r := cli(t, []string{"XDG_CACHE_HOME=" + t.TempDir()}, "kubevirt", "--image", ref, "-m", "128M", "-p", "8080:80", image)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	vm, svc, err := kubevirt.Decode([]byte(r.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	kb := vm.Spec.Template.Spec.Domain.Firmware.KernelBoot
	if kb.Container.Image != ref || kb.Container.KernelPath != oci.KernelPath {
		t.Errorf("kernel boot container %+v", kb.Container)
	}
	args, env, err := bootargs.Decode(kb.KernelArgs)
	if err != nil || strings.Join(args, "|") != "shipapp|one|two words" || strings.Join(env, "|") != "RK_EXIT=3|RK_MODE=baked" {
		t.Errorf("kernel args %q: argv %q env %q (%v)", kb.KernelArgs, args, env, err)
	}
	if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort.IntValue() != 80 {
		t.Errorf("service %+v", svc)
	}
	if m := vm.Spec.Template.Spec.Domain.Memory.Guest; m == nil || m.Value() != 128<<20 {
		t.Errorf("guest memory %v", m)
	}
}
