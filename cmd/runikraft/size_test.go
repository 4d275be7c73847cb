package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/appimage"
)

func TestSymbolPackage(t *testing.T) {
	for name, want := range map[string]string{
		"runtime.mallocgc": "runtime",
		"github.com/runikraft/runikraft/posix.(*T).Read": "github.com/runikraft/runikraft/posix",
		"internal/runtime/maps.(*Map).Get":               "internal/runtime/maps",
		"sync.OnceValue[go.shape.[]*github.com/x/y.T]":   "sync",
		"type:*os.File": "type:*os",
		"main.main":     "main",
	} {
		if got := symbolPackage(name); got != want {
			t.Errorf("symbolPackage(%q) = %q, want %q", name, got, want)
		}
	}
	for pkg, want := range map[string]string{
		"runtime": grpRuntime, "internal/runtime/maps": grpRuntime, "fmt": grpStd,
		"github.com/runikraft/runikraft/kernel/hart": grpKernel, "gvisor.dev/gvisor/pkg/tcpip": grpOther,
	} {
		if got := packageGroup(pkg); got != want {
			t.Errorf("packageGroup(%q) = %q, want %q", pkg, got, want)
		}
	}
}

// TestInspectSize bakes an application on the stock kernel and checks
// that inspect --size accounts for the image: the parts add up to what
// is loaded, the runtime and the hart layer are named, the application
// is its manifest's size.
func TestInspectSize(t *testing.T) {
	kernel, app := needStock(t)
	img := filepath.Join(t.TempDir(), "img")
	m, err := appimage.Write(appimage.Options{Kernel: kernel, App: app}, img)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "inspect", "--size", img)
	if code != 0 {
		t.Fatalf("inspect --size: %d %q", code, errs)
	}
	t.Log(out)
	total := regexp.MustCompile(`\(with zeroed \.bss\)`)
	if !total.MatchString(out) {
		t.Fatalf("no header line:\n%s", out)
	}
	// The first data rows' last column is the part's total.
	var sum float64
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "kernel: ") && !strings.HasPrefix(l, "app: ") {
			continue
		}
		f := strings.Fields(l)
		n, err := strconv.ParseFloat(f[len(f)-2], 64)
		if err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		sum += n * map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20}[f[len(f)-1]]
	}
	info, err := appimage.Read(img)
	if err != nil {
		t.Fatal(err)
	}
	loaded := float64(info.ImageEnd - info.LoadStart)
	if sum < 0.97*loaded || sum > 1.03*loaded {
		t.Errorf("the parts add up to %.0f bytes, the image loads %.0f", sum, loaded)
	}
	for _, want := range []string{"kernel: Go runtime", "  kernel/hart ", "  posix ", "kernel: pclntab", "app: streamapp", "symbol table"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if m.AppSize <= 0 {
		t.Fatal("manifest has no app size")
	}
	// A kernel alone is measured too.
	if code, out, errs := runCLI(t, "inspect", "--size", kernel); code != 0 || strings.Contains(out, "app: ") || !strings.Contains(out, "kernel: Go runtime") {
		t.Errorf("inspect --size on a kernel: %d %q %q", code, out, errs)
	}
	if _, err := os.Stat(img); err != nil {
		t.Fatal(err)
	}
}
