package redisping

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// serve answers one connection's first line with reply.
func serve(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback:", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			c.Write([]byte(reply))
		}
	}()
	return ln.Addr().String()
}

func TestPing(t *testing.T) {
	if err := Ping(serve(t, "+PONG\r\n")); err != nil {
		t.Fatalf("PONG: %v", err)
	}
	if err := Ping(serve(t, "-LOADING\r\n")); err == nil || !strings.Contains(err.Error(), "LOADING") {
		t.Fatalf("LOADING: got %v, want an error naming the answer", err)
	}
}
