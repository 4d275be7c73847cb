package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// storm is a TCP line server for the robustness test the host drives
// through -p: it echoes each line, answers "stats" with the connections
// open now and the most at once and the kernel's free memory
// (/proc/meminfo), and ends on "quit". Connections the host abandons
// (opened and dropped at once) just end.
func storm(port string) error {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	var open, most atomic.Int64
	quit := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := open.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			go func() {
				defer open.Add(-1)
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch strings.TrimSpace(line) {
					case "stats":
						fmt.Fprintf(c, "open=%d most=%d free=%d\n", open.Load(), most.Load(), memFreeKB())
					case "quit":
						// The reply must reach the host before the
						// process exits and the VM goes away: wait,
						// bounded, for the host to close its end.
						fmt.Fprintln(c, "bye")
						c.(*net.TCPConn).CloseWrite()
						c.SetReadDeadline(time.Now().Add(5 * time.Second))
						io.Copy(io.Discard, r)
						close(quit)
						return
					default:
						c.Write([]byte(line))
					}
				}
			}()
		}
	}()
	fmt.Println("listening on", ln.Addr())
	<-quit
	return nil
}

// memFreeKB reads MemFree from /proc/meminfo (-1 if missing).
func memFreeKB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(l, "MemFree: %d kB", &kb); err == nil {
			return kb
		}
	}
	return -1
}
