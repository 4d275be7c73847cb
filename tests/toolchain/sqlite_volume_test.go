package toolchain

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sqliteOnVolume runs the SQLite shell on a database in a 9p volume
// (runikraft run -v): one made in WAL mode is read back by the host's
// sqlite3 after the VM exits, and one whose VM is killed with SIGKILL
// right after a COMMIT returned keeps the committed row.
func sqliteOnVolume(t *testing.T, sqlite string) {
	need(t, "sqlite3", "sqlite3")
	host := t.TempDir()
	vol := []string{"-v", host + ":/db"}
	sql := "PRAGMA journal_mode=WAL;\nCREATE TABLE t(x INTEGER, s TEXT);\n" +
		"INSERT INTO t VALUES(1,'one'),(2,'two'),(3,'three');\nSELECT count(*), sum(x) FROM t;\n"
	r := run(t, []byte(sql), vol, sqlite, "/db/wal.db")
	if r.Code != 0 || r.Stdout != "wal\n3|6\n" {
		t.Errorf("sqlite3 /db/wal.db on a volume: exit %d, stdout %q, stderr %q; want exit 0 and \"wal\\n3|6\\n\"", r.Code, r.Stdout, r.Stderr)
	}
	if got := hostSQLite(t, filepath.Join(host, "wal.db"), "PRAGMA journal_mode; SELECT group_concat(s) FROM t;"); got != "wal\none,two,three\n" {
		t.Errorf("the host's sqlite3 on the guest's database: %q; want \"wal\\none,two,three\\n\"", got)
	}

	// SIGKILL of QEMU once the COMMIT has returned: -interactive makes the
	// shell flush its output (the marker) before it waits for more input.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runikraft, append(append([]string{"run", "--timeout", "150s"}, vol...), sqlite, "-interactive", "/db/kill.db")...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "PRAGMA journal_mode=WAL;\nCREATE TABLE t(x);\nBEGIN;\nINSERT INTO t VALUES(42);\nCOMMIT;\nSELECT 'commit-'||'returned';\n")
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "commit-returned") {
			pid, err := childQEMU(cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
			break
		}
	}
	stdin.Close()
	go io.Copy(io.Discard, stdout)
	cmd.Wait()
	if !killed {
		t.Fatalf("sqlite3 -interactive never printed the marker after COMMIT")
	}
	if got := hostSQLite(t, filepath.Join(host, "kill.db"), "SELECT x FROM t;"); got != "42\n" {
		t.Errorf("after SIGKILL of QEMU right after COMMIT, the host's sqlite3 reads %q; want \"42\\n\"", got)
	}
}

func hostSQLite(t *testing.T, db, sql string) string {
	t.Helper()
	out, err := exec.Command("sqlite3", db, sql).CombinedOutput()
	if err != nil {
		t.Errorf("host sqlite3 %s %q: %v\n%s", db, sql, err, out)
	}
	return string(out)
}

// childQEMU finds the QEMU process runikraft run (pid) started.
func childQEMU(pid int) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "qemu-system") {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			return p, nil
		}
	}
	return 0, os.ErrNotExist
}
