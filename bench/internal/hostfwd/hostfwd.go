//go:build linux

// Package hostfwd widens the listen queue of a QEMU user-network
// forward (-netdev user,hostfwd=tcp:127.0.0.1:PORT-:GUESTPORT).
//
// QEMU's user network (libslirp) listens on a forwarded port with a
// backlog of 1, and accepts one connection per main-loop round. When a
// load generator opens 16 connections at once (redis-benchmark does, at
// the start of every test), the host kernel's accept queue overflows: it
// drops SYNs, and worse, the handshake's last ACK, so a client believes
// it is connected and its first request waits in retransmission backoff
// for seconds while the guest idles. Which runs hit that is luck, and one
// such connection decides a whole redis-benchmark test's rate, in either
// guest. Calling listen again on a listening socket only changes its
// backlog (Linux allows it), so the benchmark takes a copy of QEMU's
// socket (pidfd_getfd) and gives it a normal queue; nothing else about
// the forward changes.
package hostfwd

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Widen gives the TCP socket that process pid listens with on
// 127.0.0.1:port a listen backlog of backlog (the host's somaxconn caps
// it).
func Widen(pid, port, backlog int) error {
	if port <= 0 || port > 65535 || backlog < 1 {
		return fmt.Errorf("hostfwd: port %d, backlog %d", port, backlog)
	}
	inode, err := listenInode(port)
	if err != nil {
		return err
	}
	target, err := fdOfInode(pid, inode)
	if err != nil {
		return err
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("hostfwd: pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	fd, err := unix.PidfdGetfd(pidfd, target, 0)
	if err != nil {
		return fmt.Errorf("hostfwd: pidfd_getfd %d/%d: %w", pid, target, err)
	}
	defer unix.Close(fd)
	if err := unix.Listen(fd, backlog); err != nil {
		return fmt.Errorf("hostfwd: listen(%d): %w", backlog, err)
	}
	return nil
}

// listenInode finds the inode of the socket listening on 127.0.0.1:port
// in /proc/net/tcp.
func listenInode(port int) (string, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", fmt.Errorf("hostfwd: %w", err)
	}
	defer f.Close()
	want := fmt.Sprintf("0100007F:%04X", port)
	s := bufio.NewScanner(f)
	for s.Scan() {
		inode, ok := parseListenLine(s.Text(), want)
		if ok {
			return inode, nil
		}
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("hostfwd: /proc/net/tcp: %w", err)
	}
	return "", fmt.Errorf("hostfwd: nothing listens on 127.0.0.1:%d", port)
}

// parseListenLine returns the inode of a /proc/net/tcp line whose local
// address is local and whose state is LISTEN (0A).
func parseListenLine(line, local string) (string, bool) {
	f := strings.Fields(line)
	// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
	if len(f) < 10 || f[1] != local || f[3] != "0A" {
		return "", false
	}
	if _, err := strconv.ParseUint(f[9], 10, 64); err != nil || f[9] == "0" {
		return "", false
	}
	return f[9], true
}

// fdOfInode finds which of process pid's descriptors is socket inode.
func fdOfInode(pid int, inode string) (int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("hostfwd: %w", err)
	}
	want := "socket:[" + inode + "]"
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == want {
			return strconv.Atoi(e.Name())
		}
	}
	return 0, fmt.Errorf("hostfwd: process %d holds no descriptor of socket %s", pid, inode)
}
