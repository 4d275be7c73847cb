package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
)

// unixSockets exercises AF_UNIX through Go's net package (non-blocking
// sockets on the runtime's netpoller, epoll) and syscall.Socketpair,
// and prints one line per check.
func unixSockets() error {
	for _, addr := range []string{"/tmp/goapp.sock", "@goapp-abstract"} {
		ln, err := net.Listen("unix", addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		done := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			line, err := bufio.NewReader(c).ReadString('\n')
			if err == nil {
				_, err = fmt.Fprintf(c, "echo %s", strings.ToUpper(line))
			}
			done <- err
		}()
		c, err := net.Dial("unix", addr)
		if err != nil {
			return fmt.Errorf("dial %s: %w", addr, err)
		}
		fmt.Fprintf(c, "hello %s\n", addr)
		reply, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return fmt.Errorf("read reply: %w", err)
		}
		if err := <-done; err != nil {
			return fmt.Errorf("server: %w", err)
		}
		fmt.Printf("stream %s: %s", addr, reply)
		c.Close()
		ln.Close()
	}

	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "@goapp-dgram", Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("listen unixgram: %w", err)
	}
	cli, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: "@goapp-dgram", Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("dial unixgram: %w", err)
	}
	if _, err := cli.Write([]byte("one datagram")); err != nil {
		return fmt.Errorf("write datagram: %w", err)
	}
	buf := make([]byte, 64)
	n, _, err := srv.ReadFrom(buf)
	if err != nil {
		return fmt.Errorf("read datagram: %w", err)
	}
	fmt.Printf("datagram: %s\n", buf[:n])

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	// Pass b's descriptor over a to itself, and read through the copy.
	rights := syscall.UnixRights(int(b.Fd()))
	if err := syscall.Sendmsg(int(a.Fd()), []byte("x"), rights, nil, 0); err != nil {
		return fmt.Errorf("sendmsg: %w", err)
	}
	oob := make([]byte, syscall.CmsgSpace(4))
	_, oobn, _, _, err := syscall.Recvmsg(int(b.Fd()), make([]byte, 1), oob, 0)
	if err != nil {
		return fmt.Errorf("recvmsg: %w", err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("control messages: %v %w", msgs, err)
	}
	got, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(got) != 1 {
		return fmt.Errorf("rights: %v %w", got, err)
	}
	passed := os.NewFile(uintptr(got[0]), "passed")
	if _, err := a.Write([]byte("through the passed descriptor")); err != nil {
		return err
	}
	n, err = passed.Read(buf)
	if err != nil {
		return fmt.Errorf("read passed: %w", err)
	}
	fmt.Printf("rights: %s\n", buf[:n])
	return nil
}
