package kvmrig

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
)

// The archive the rig's packages come from. trixie is the first Debian
// release whose riscv64 port is official; bookworm's debian-archive-keyring
// (2023.3+deb12u1 and later) already carries trixie's signing keys, so the
// stock keyring verifies its Release file.
const (
	Suite   = "trixie"
	Arch    = "riscv64"
	Keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
)

// apt runs apt-get and apt-cache with a private configuration: its own
// sources, lists, status file and download cache under dir, nothing of
// the machine's apt setup but the mirror and any proxy, and the
// architecture riscv64. apt verifies the suite's signed Release file
// against Keyring and every download against the hashes the Release
// file vouches for, as it does for the machine's own packages.
type apt struct {
	dir  string
	conf string // APT_CONFIG file
	log  io.Writer
}

// newApt writes the private configuration under dir for mirror.
func newApt(dir, mirror string, log io.Writer) (*apt, error) {
	a := &apt{dir: dir, conf: filepath.Join(dir, "apt.conf"), log: log}
	for _, d := range []string{"etc/apt.conf.d", "etc/preferences.d", "etc/sources.list.d", "etc/trusted.gpg.d",
		"state/lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("kvm rig: %w", err)
		}
	}
	if _, err := os.Stat(Keyring); err != nil {
		return nil, fmt.Errorf("kvm rig: the Debian archive keyring is missing (%w); install debian-archive-keyring", err)
	}
	sources := fmt.Sprintf("deb [signed-by=%s] %s %s main\n", Keyring, mirror, Suite)
	if err := os.WriteFile(filepath.Join(dir, "etc/sources.list"), []byte(sources), 0o644); err != nil {
		return nil, fmt.Errorf("kvm rig: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state/status"), nil, 0o644); err != nil {
		return nil, fmt.Errorf("kvm rig: %w", err)
	}
	var c strings.Builder
	set := func(k, v string) { fmt.Fprintf(&c, "%s %q;\n", k, v) }
	// Dir::Etc also moves the parts directories (apt.conf.d, trusted.gpg.d),
	// so none of the machine's configuration or keys take part.
	set("Dir::Etc", filepath.Join(dir, "etc"))
	set("Dir::State", filepath.Join(dir, "state"))
	set("Dir::State::status", filepath.Join(dir, "state/status"))
	set("Dir::Cache", filepath.Join(dir, "cache"))
	set("APT::Architecture", Arch)
	fmt.Fprintf(&c, "APT::Architectures { %q; };\n", Arch)
	set("APT::Install-Recommends", "false")
	set("APT::Install-Suggests", "false")
	set("Acquire::Languages", "none")
	// Refuse anything the keyring does not vouch for (apt's default,
	// stated so no inherited setting can weaken it).
	set("Acquire::AllowInsecureRepositories", "false")
	set("Acquire::AllowDowngradeToInsecureRepositories", "false")
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		// apt drops to _apt for downloads, which cannot enter a private
		// cache under root's home; say so instead of a warning per run.
		set("APT::Sandbox::User", "root")
	}
	for _, k := range []string{"Acquire::http::Proxy", "Acquire::https::Proxy"} {
		if v := systemAptValue(k); v != "" {
			set(k, v)
		}
	}
	if err := os.WriteFile(a.conf, []byte(c.String()), 0o644); err != nil {
		return nil, fmt.Errorf("kvm rig: %w", err)
	}
	return a, nil
}

// systemAptValue is a value of the machine's own apt configuration (a
// proxy the machine needs to reach the archive), or "".
func systemAptValue(key string) string {
	cmd := exec.Command("apt-config", "shell", "V", key)
	cmd.Env = append(os.Environ(), "APT_CONFIG=")
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "V=")
	if !ok {
		return ""
	}
	return strings.Trim(v, "'")
}

func (a *apt) run(ctx context.Context, dir string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "APT_CONFIG="+a.conf, "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	cmd.Stderr = a.log
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("kvm rig: %s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}

// update fetches and verifies the suite's indexes.
func (a *apt) update(ctx context.Context) error {
	if _, err := a.run(ctx, a.dir, "apt-get", "update", "-q"); err != nil {
		return fmt.Errorf("%w (if apt says NO_PUBKEY: %s %s needs debian-archive-keyring 2023.3+deb12u1 or later; ./install.sh upgrades it)", err, Suite, Keyring)
	}
	return nil
}

// downloadWithDeps downloads pkg and everything it depends on (nothing is
// installed: the status file is empty) into dest and returns the .deb
// files there.
func (a *apt) downloadWithDeps(ctx context.Context, dest, pkg string) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(dest, "partial"), 0o755); err != nil {
		return nil, err
	}
	if _, err := a.run(ctx, a.dir, "apt-get", "install", "-q", "-y", "--download-only",
		"-o", "Dir::Cache::archives="+dest, pkg); err != nil {
		return nil, err
	}
	return filepath.Glob(filepath.Join(dest, "*.deb"))
}

// download downloads pkg alone into dest and returns its .deb file.
func (a *apt) download(ctx context.Context, dest, pkg string) (string, error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return "", err
	}
	if _, err := a.run(ctx, dest, "apt-get", "download", "-q", pkg); err != nil {
		return "", err
	}
	debs, err := filepath.Glob(filepath.Join(dest, pkg+"_*.deb"))
	if err != nil || len(debs) != 1 {
		return "", fmt.Errorf("kvm rig: apt-get download %s left %d .deb files in %s", pkg, len(debs), dest)
	}
	return debs[0], nil
}

// dependency returns the first package pkg depends on whose name starts
// with prefix: the versioned kernel package behind linux-image-riscv64.
func (a *apt) dependency(ctx context.Context, pkg, prefix string) (string, error) {
	out, err := a.run(ctx, a.dir, "apt-cache", "depends", pkg)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if dep, ok := strings.CutPrefix(strings.TrimSpace(l), "Depends: "); ok && strings.HasPrefix(dep, prefix) {
			return dep, nil
		}
	}
	return "", fmt.Errorf("kvm rig: %s depends on no %s* package in %s", pkg, prefix, Suite)
}

// DebianMirror returns the Debian archive URI this machine's apt uses
// (the first non-security entry for the machine's own release, in
// one-line or deb822 sources), so the rig fetches from the same place.
func DebianMirror() (string, error) {
	codename := osRelease("VERSION_CODENAME")
	var files []string
	for _, g := range []string{"/etc/apt/sources.list", "/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if uri := mirrorIn(string(b), strings.HasSuffix(f, ".sources"), codename); uri != "" {
			return uri, nil
		}
	}
	return "", errors.New("kvm rig: found no Debian archive entry in /etc/apt (sources.list or sources.list.d)")
}

// mirrorIn finds a "deb" entry for suite codename (any suite if codename
// is empty) in a sources file's text.
func mirrorIn(text string, deb822 bool, codename string) string {
	suiteOK := func(suites []string) bool {
		for _, s := range suites {
			if codename == "" || s == codename {
				return true
			}
		}
		return false
	}
	if !deb822 {
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 3 || f[0] != "deb" {
				continue
			}
			f = f[1:]
			if strings.HasPrefix(f[0], "[") { // options, possibly several words
				for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
					f = f[1:]
				}
				if len(f) > 0 {
					f = f[1:]
				}
			}
			if len(f) >= 2 && suiteOK(f[1:2]) {
				return f[0]
			}
		}
		return ""
	}
	for _, stanza := range strings.Split(text, "\n\n") {
		fields := map[string]string{}
		for _, l := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
				fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		types, uris := strings.Fields(fields["types"]), strings.Fields(fields["uris"])
		hasDeb := false
		for _, t := range types {
			hasDeb = hasDeb || t == "deb"
		}
		if hasDeb && len(uris) > 0 && fields["enabled"] != "no" && suiteOK(strings.Fields(fields["suites"])) {
			return uris[0]
		}
	}
	return ""
}

func osRelease(key string) string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}
