// Package redisping asks a Redis server whether it is up: the benchmarks
// wait for it because QEMU accepts on a forwarded port before the guest's
// server listens.
package redisping

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"time"
)

// Ping dials addr once and sends PING; nil means it answered +PONG.
func Ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(c, 512)).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
