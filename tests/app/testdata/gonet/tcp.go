package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// tcpLoopback serves TCP and HTTP on the loopback addresses and talks to
// itself, the way Go's own net tests do.
func tcpLoopback() error {
	for _, network := range []string{"tcp4", "tcp6"} {
		ln, err := net.Listen(network, "localhost:0")
		if err != nil {
			return fmt.Errorf("listen %s: %w", network, err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					io.Copy(c, c)
				}()
			}
		}()
		c, err := net.DialTimeout(network, ln.Addr().String(), 5*time.Second)
		if err != nil {
			return fmt.Errorf("dial %s: %w", ln.Addr(), err)
		}
		payload := strings.Repeat("0123456789abcdef", 1<<14) // 256 KiB: more than one window
		go fmt.Fprint(c, payload)
		got := make([]byte, len(payload))
		if _, err := io.ReadFull(c, got); err != nil {
			return fmt.Errorf("echo over %s: %w", network, err)
		}
		if string(got) != payload {
			return fmt.Errorf("echo over %s: bytes differ", network)
		}
		c.Close()
		ln.Close()
		fmt.Printf("%s echo: %d bytes\n", network, len(got))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.URL.Path)
	})}
	go srv.Serve(ln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/unikernel")
	if err != nil {
		return fmt.Errorf("http get: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("http: %d %s\n", resp.StatusCode, body)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	c, err := net.Dial("udp", udp.LocalAddr().String())
	if err != nil {
		return err
	}
	c.Write([]byte("datagram"))
	buf := make([]byte, 64)
	n, _, err := udp.ReadFrom(buf)
	if err != nil {
		return err
	}
	fmt.Printf("udp: %s\n", buf[:n])
	return nil
}

// serveHTTP answers on :PORT until a request for /quit, for the host.
func serveHTTP(port string) error {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	done := make(chan bool)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "served %s by a Runikraft unikernel\n", r.URL.Path)
		if r.URL.Path == "/quit" {
			close(done)
		}
	})}
	go srv.Serve(ln)
	fmt.Println("listening on", ln.Addr())
	<-done
	time.Sleep(100 * time.Millisecond) // let the reply go out
	return nil
}
