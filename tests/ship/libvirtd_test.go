package ship

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// libvirtd is a libvirt daemon the test runs for itself: a session
// daemon (qemu:///session) whose sockets, configuration and state are in
// a temporary directory, so no system service is needed or touched. A
// session daemon runs QEMU as its own user, without the system daemon's
// cgroups, namespaces and user switching. Run as root (CI), it runs as
// nobody: libvirt has no session mode for root. virsh and runikraft
// reach it through its socket, which root may connect to.
type libvirtd struct {
	base     string // its directory, readable by it
	uri      string
	uid, gid int // -1 when it runs as ourselves
}

// own gives the daemon's user the paths (files QEMU reads, directories
// it writes in).
func (l *libvirtd) own(t *testing.T, paths ...string) {
	t.Helper()
	if l.uid < 0 {
		return
	}
	for _, p := range paths {
		if err := os.Chown(p, l.uid, l.gid); err != nil {
			t.Fatal(err)
		}
	}
}

func startLibvirtd(t *testing.T) *libvirtd {
	t.Helper()
	for _, tool := range []string{"libvirtd", "virsh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (Debian's libvirt-daemon-system and libvirt-clients): run ./install.sh", tool)
		}
	}
	// Not t.TempDir: its parent is private to us, and the daemon may be
	// another user.
	base, err := os.MkdirTemp("", "runikraft-libvirt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	l := &libvirtd{base: base, uid: -1, gid: -1}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("running as root, the session daemon needs an unprivileged user: %v", err)
		}
		l.uid, _ = strconv.Atoi(u.Uid)
		l.gid, _ = strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(l.uid), Gid: uint32(l.gid)}
	}
	home := filepath.Join(base, "home")
	run := filepath.Join(base, "run")
	conf := filepath.Join(home, "config", "libvirt")
	for _, d := range []string{home, run, filepath.Join(home, "config"), conf} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// QEMU's own messages to a file: without this the daemon would start
	// virtlogd for them, one more process to look after.
	qconf := filepath.Join(conf, "qemu.conf")
	if err := os.WriteFile(qconf, []byte("stdio_handler = \"file\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l.own(t, home, run, filepath.Join(home, "config"), conf, qconf)

	var logb bytes.Buffer
	// --timeout: it ends by itself when idle, should the test die first.
	cmd := exec.Command("libvirtd", "--timeout=600")
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"XDG_RUNTIME_DIR="+run,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
	)
	cmd.Dir = base
	cmd.Stdout, cmd.Stderr = &logb, &logb
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("libvirtd: %v", err)
	}
	exited := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("libvirtd's output:\n%s", logb.String())
		}
	})
	sock := filepath.Join(run, "libvirt", "libvirt-sock")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case <-exited:
			t.Fatalf("libvirtd exited: %v\n%s", werr, logb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("libvirtd: no socket %s after 60s\n%s", sock, logb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	l.uri = "qemu:///session?socket=" + sock
	return l
}
