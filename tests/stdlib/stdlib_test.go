// Package stdlib runs Go's own standard-library tests inside the unikernel:
// each package's test binary is built for linux/riscv64 and run with
// runikraft run on the stock kernel, as `go test -exec 'runikraft run'`
// does. Skips are listed with their reasons (and in the README).
package stdlib

import (
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/tests/harness"
)

// pkg is one package to run, with the tests that cannot pass yet.
type pkg struct {
	path string
	tags string
	skip map[string]string // test name → why it is skipped
}

var pkgs = []pkg{
	{path: "sort"},
	{path: "strings"},
	{path: "strconv"},
	{path: "bytes"},
	{path: "unicode/utf8"},
	{path: "math"},
	{path: "container/heap"},
	{path: "sync/atomic"},
	{path: "sync", skip: map[string]string{
		"TestMutexMisuse": "re-executes the test binary: no fork/exec, one application per image",
		"TestIssue76126":  "re-executes the test binary: no fork/exec, one application per image",
	}},
	{path: "time", tags: "timetzdata", skip: map[string]string{
		"TestLoadLocationFromTZData": "reads $GOROOT/lib/time/zoneinfo.zip, outside the package directory that --rootfs packs (timetzdata embeds the rest)",
	}},
	{path: "encoding/json", skip: map[string]string{
		"TestHTTPDecoding": "starts an HTTP server: no networking yet",
	}},
	{path: "regexp"},
	{path: "math/big"},
}

var runikraft string

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, func(dir string) (err error) {
		runikraft, err = harness.Tools(dir)
		return err
	}))
}

func TestStdlib(t *testing.T) {
	for _, p := range pkgs {
		t.Run(p.path, func(t *testing.T) {
			// Exactly what a user types: go test -exec 'runikraft run'.
			// --rootfs .: go test runs the command in the package's
			// directory, so its testdata is in the application's root.
			args := []string{"test", "-count=1", "-short", "-exec", runikraft + " run --timeout 20m --rootfs ."}
			if p.tags != "" {
				args = append(args, "-tags", p.tags)
			}
			if len(p.skip) > 0 {
				var names []string
				for name := range p.skip {
					names = append(names, "^"+name+"$")
				}
				sort.Strings(names)
				args = append(args, "-skip", strings.Join(names, "|"))
			}
			// A test binary's own -timeout catches a hang well before ours.
			args = append(args, "-timeout", "6m", p.path)
			// One retry, reported loudly: an intermittent hang (a runnable
			// goroutine never scheduled, seen once in unicode/utf8's
			// examples) is a known open bug, not a pass.
			for try := 1; ; try++ {
				cmd := exec.Command("go", args...)
				cmd.Env = kbuild.Env()
				start := time.Now()
				out, err := cmd.CombinedOutput()
				t.Logf("%s: %v in %v (try %d)", p.path, err, time.Since(start).Round(time.Second), try)
				if err == nil && passed.Match(out) {
					break
				}
				if try == 2 {
					t.Fatalf("%s failed inside the unikernel: %v\n%s", p.path, err, tail(string(out), 60))
				}
				t.Logf("KNOWN INTERMITTENT FAILURE, retrying once:\n%s", tail(string(out), 40))
			}
		})
	}
}

// passed matches go test's line for a package whose tests all passed.
var passed = regexp.MustCompile(`(?m)^ok\s`)

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
