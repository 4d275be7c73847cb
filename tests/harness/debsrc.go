package harness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/flock"
)

// CacheDir is where downloads are kept between runs:
// $RUNIKRAFT_CACHE, or ~/.cache/runikraft (libc-shim/build.sh uses the
// same directory for musl's source package).
func CacheDir() (string, error) {
	if d := os.Getenv("RUNIKRAFT_CACHE"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("neither RUNIKRAFT_CACHE nor HOME is set: %v", err)
	}
	return filepath.Join(home, ".cache", "runikraft"), nil
}

// srcFile is one file of a source package as apt names it.
type srcFile struct {
	uri, name string
	size      int64
	algo, sum string // e.g. "SHA256", hex digest
}

// aptURI is a line of `apt-get source --print-uris`:
// 'URI' NAME SIZE ALGO:HEX
var aptURI = regexp.MustCompile(`^'([^']+)' (\S+) (\d+) (\w+):([0-9a-fA-F]+)$`)

// DebianSource returns the top directory of the upstream source of the
// Debian source package pkg (a source or binary package name, as for
// apt-get source), unpacked into a fresh t.TempDir(): the orig tarball
// only, exactly as upstream released it, without Debian's debian/
// directory and patches.
//
// The source package is fetched with `apt-get source --download-only`
// into CacheDir()/src once and reused by later runs while its files
// still match the checksums apt lists; concurrent test processes fetch
// it one at a time (a lock file) and files appear there only whole
// (fetched into a temporary directory, checked, then renamed).
func DebianSource(t testing.TB, pkg string) string {
	t.Helper()
	start := time.Now()
	files, err := debianSourceFiles(pkg)
	if err != nil {
		t.Fatalf("DebianSource(%s): %v", pkg, err)
	}
	orig := origTarball(files)
	if orig == nil {
		t.Fatalf("DebianSource(%s): the source package has no upstream tarball; its files: %v", pkg, fileNames(files))
	}
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(cache, "src")
	fetched, err := fetchSource(src, pkg, files)
	if err != nil {
		t.Fatalf("DebianSource(%s): %v", pkg, err)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// tar keeps the files' times, which autotools trees rely on (no
	// spurious re-run of autoconf or automake).
	cmd := exec.CommandContext(ctx, "tar", "-xf", filepath.Join(src, orig.name), "-C", dir, "--no-same-owner")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("DebianSource(%s): unpacking %s: %v\n%s(needs tar, and xz-utils for .xz: run ./install.sh)", pkg, orig.name, err, out)
	}
	top := dir
	if ents, err := os.ReadDir(dir); err == nil && len(ents) == 1 && ents[0].IsDir() {
		top = filepath.Join(dir, ents[0].Name())
	}
	how := "cached"
	if fetched {
		how = "downloaded"
	}
	t.Logf("DebianSource(%s): %s (%s in %s), unpacked into %s in %v", pkg, orig.name, how, src, top, time.Since(start).Round(time.Millisecond))
	return top
}

// debianSourceFiles asks apt (from its local indexes, no download) which
// files make up the source package pkg.
func debianSourceFiles(pkg string) ([]srcFile, error) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return nil, errors.New("apt-get not found: Debian source packages need a Debian machine with dpkg-dev (run ./install.sh)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "apt-get", "source", "--print-uris", "-qq", pkg)
	cmd.Dir = os.TempDir() // apt-get source looks at the current directory
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var files []srcFile
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		m := aptURI.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		size, _ := strconv.ParseInt(m[3], 10, 64)
		files = append(files, srcFile{uri: m[1], name: m[2], size: size, algo: strings.ToUpper(m[4]), sum: strings.ToLower(m[5])})
	}
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("`apt-get source --print-uris %s` found no source package (%v): %s\n"+
			"Source packages need a deb-src entry for bookworm in /etc/apt (./install.sh adds one) and a fresh `apt-get update`; "+
			"`apt-cache showsrc %s` should list it", pkg, err, strings.TrimSpace(stderr.String()+stdout.String()), pkg)
	}
	return files, nil
}

// origTarball picks the upstream tarball: NAME_VERSION.orig.tar.* (not
// its signature, not an orig-COMPONENT tarball), or for a native package
// its only tarball.
func origTarball(files []srcFile) *srcFile {
	var native *srcFile
	for i, f := range files {
		switch {
		case strings.HasSuffix(f.name, ".asc") || strings.HasSuffix(f.name, ".sig"):
		case strings.Contains(f.name, ".orig.tar."):
			return &files[i]
		case strings.Contains(f.name, ".tar.") && !strings.Contains(f.name, ".debian.tar.") && !strings.Contains(f.name, ".orig-"):
			native = &files[i]
		}
	}
	return native
}

func fileNames(files []srcFile) []string {
	var names []string
	for _, f := range files {
		names = append(names, f.name)
	}
	return names
}

// fetchSource makes sure every file of the source package is in src with
// the size and checksum apt lists; it reports whether it downloaded.
func fetchSource(src, pkg string, files []srcFile) (bool, error) {
	if allPresent(src, files) {
		return false, nil
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return false, err
	}
	unlock, err := flock.Lock(filepath.Join(src, ".debsrc.lock"))
	if err != nil {
		return false, err
	}
	defer unlock()
	if allPresent(src, files) { // another process fetched it meanwhile
		return false, nil
	}

	tmp, err := os.MkdirTemp(src, ".fetch-"+pkg+"-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	// apt's download sandbox user (_apt) may write here: otherwise apt
	// runs the download as root with a warning.
	os.Chmod(tmp, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "apt-get", "source", "--download-only", "-q", pkg)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("`apt-get source --download-only %s` failed: %v\n%s\n"+
			"Check that this machine reaches the Debian archive in /etc/apt; to fetch it by hand: mkdir -p %s && cd %s && apt-get source --download-only %s",
			pkg, err, out, src, src, pkg)
	}
	for _, f := range files {
		p := filepath.Join(tmp, f.name)
		if err := verify(p, f); err != nil {
			return false, fmt.Errorf("apt-get source %s: %v", pkg, err)
		}
		if err := os.Rename(p, filepath.Join(src, f.name)); err != nil {
			return false, err
		}
	}
	return true, nil
}

func allPresent(src string, files []srcFile) bool {
	for _, f := range files {
		if verify(filepath.Join(src, f.name), f) != nil {
			return false
		}
	}
	return true
}

// verify checks a file's size and checksum against what apt lists.
func verify(path string, f srcFile) error {
	fd, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fd.Close()
	var h hash.Hash
	switch f.algo {
	case "SHA256":
		h = sha256.New()
	case "SHA512":
		h = sha512.New()
	case "SHA1":
		h = sha1.New()
	case "MD5SUM", "MD5":
		h = md5.New()
	default:
		return fmt.Errorf("%s: unknown checksum %s", f.name, f.algo)
	}
	n, err := io.Copy(h, fd)
	if err != nil {
		return err
	}
	if n != f.size {
		return fmt.Errorf("%s: %d bytes, want %d", f.name, n, f.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.sum {
		return fmt.Errorf("%s: %s %s, want %s", f.name, f.algo, got, f.sum)
	}
	return nil
}
