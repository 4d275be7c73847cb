package tzdata

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Go's own archive parses, has the zones the tests use, and every file
// is TZif; Source makes a Go file that holds it byte for byte.
func TestGoZoneinfo(t *testing.T) {
	zip := goZoneinfo(t)
	zones, err := parse(string(zip))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, z := range zones {
		names[z.Name] = true
		if !strings.HasPrefix(z.Data, "TZif") {
			t.Errorf("%s: not TZif", z.Name)
		}
	}
	for _, want := range []string{"Europe/Paris", "America/New_York", "UTC"} {
		if !names[want] {
			t.Errorf("no %s among %d zones", want, len(zones))
		}
	}
	_, err = parser.ParseFile(token.NewFileSet(), "zz.go", Source(zip), 0)
	if err != nil {
		t.Fatal(err)
	}
	src := string(Source(zip))
	i := strings.Index(src, "\"")
	j := strings.LastIndex(src[:strings.Index(src, "func init")], "\"")
	s, err := strconv.Unquote(src[i : j+1])
	if err != nil || s != string(zip) {
		t.Fatalf("Source does not hold the archive: %v", err)
	}
}

func TestParseRejectsDamage(t *testing.T) {
	zip := goZoneinfo(t)
	for _, cut := range []int{1, 10, 30, len(zip) / 2} {
		if _, err := parse(string(zip[cut:])); err == nil {
			t.Errorf("archive without its first %d bytes parsed", cut)
		}
	}
	bad := []byte(string(zip))
	bad[len(bad)-6] ^= 0x40 // directory offset
	if _, err := parse(string(bad)); err == nil {
		t.Error("a wrong directory offset parsed")
	}
	if z, err := parse(""); z != nil || err != nil {
		t.Errorf("empty: %v %v", z, err)
	}
}

// goZoneinfo is the Go toolchain's zoneinfo.zip, which the kernel build
// embeds: a missing one fails the test in CI (the kernel could not be
// built) and skips it elsewhere.
func goZoneinfo(t *testing.T) []byte {
	t.Helper()
	zip, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no zoneinfo.zip in GOROOT: %v", err)
		}
		t.Skipf("no zoneinfo.zip in GOROOT: %v", err)
	}
	return zip
}
