package netposix

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	knet "github.com/runikraft/runikraft/kernel/net"
	"github.com/runikraft/runikraft/kernel/net/nettest"
	"github.com/runikraft/runikraft/posix"
)

// reqConns is the number of connections of BenchmarkRequestResponse,
// what the throughput benchmarks (bench/netprof, wrk) open.
const reqConns = 16

// BenchmarkRequestResponse is what a network server's request costs the
// kernel: a client stack sends a small request (40 bytes, a Redis SET's
// size) on each of 16 TCP connections to a server stack, and the server,
// through this package's endpoints as posix calls them (non-blocking
// reads and writes, woken by the endpoint's events as epoll is), answers
// with a small response or a 1 KiB one. Both stacks are kernel/net's
// (link endpoint, ack hold, clock), joined by a wire.
//
// Its CPU profile (go test -run '^$' -bench RequestResponse
// -cpuprofile F) shows the network path's hot functions on the host,
// and is what profile-guided optimisation of the kernel would take.
func BenchmarkRequestResponse(b *testing.B) {
	for _, size := range []int{10, 1024} {
		b.Run(map[int]string{10: "small", 1024: "1KiB"}[size], func(b *testing.B) {
			benchRequestResponse(b, size)
		})
	}
}

func benchRequestResponse(b *testing.B, respSize int) {
	da, db := nettest.NewWire(256, true) // virtio-net hands frames over as checksum-valid
	cfg := func(a string) knet.Config {
		return knet.Config{Mode: knet.ModeStatic, Addr: netip.MustParsePrefix(a), Hostname: knet.DefaultHostname}
	}
	client, err := knet.New(cfg("10.1.0.1/24"), da)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	server, err := knet.New(cfg("10.1.0.2/24"), db)
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()

	ls, e := Stack{S: server}.Socket(linux.AF_INET, linux.SOCK_STREAM, 0)
	if e != 0 {
		b.Fatal(e)
	}
	defer ls.Close()
	if e := ls.Bind(posix.InetAddr4([4]byte{10, 1, 0, 2}, 80)); e != 0 {
		b.Fatal(e)
	}
	if e := ls.Listen(reqConns); e != 0 {
		b.Fatal(e)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var served sync.WaitGroup
	defer served.Wait()
	defer cancel() // before the wait: servers stop at ctx's end
	go func() {
		wake := events(ls)
		for n := 0; n < reqConns; {
			c, _, e := ls.Accept()
			if e == linux.EAGAIN {
				if !wait(ctx, wake) {
					return
				}
				continue
			}
			if e != 0 {
				b.Error("accept:", e)
				return
			}
			n++
			served.Add(1)
			go func() {
				defer served.Done()
				serve(ctx, c, respSize)
			}()
		}
	}()

	conns := make([]net.Conn, reqConns)
	for i := range conns {
		c, err := gonet.DialContextTCP(ctx, client.Gvisor(), tcpip.FullAddress{Addr: tcpip.AddrFrom4([4]byte{10, 1, 0, 2}), Port: 80}, ipv4.ProtocolNumber)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		conns[i] = c
	}

	req := bytes.Repeat([]byte("r"), 40)
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, c := range conns {
		n := b.N / reqConns
		if i < b.N%reqConns {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := make([]byte, respSize)
			for range n {
				if _, err := c.Write(req); err != nil {
					b.Error("write:", err)
					return
				}
				if _, err := io.ReadFull(c, resp); err != nil {
					b.Error("read:", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
}

// events is a channel that gets a value when ep has an event.
func events(ep posix.NetEndpoint) chan struct{} {
	ch := make(chan struct{}, 1)
	ep.OnEvent(func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	})
	return ch
}

func wait(ctx context.Context, ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// serve answers every 40 bytes read from c with respSize bytes, as a
// server on epoll does: read until EAGAIN, write, wait for readiness.
func serve(ctx context.Context, c posix.NetEndpoint, respSize int) {
	defer c.Close()
	wake := events(c)
	buf := make([]byte, 16<<10)
	resp := bytes.Repeat([]byte("a"), respSize)
	have := 0
	for {
		n, _, _, e := c.Read(buf, false)
		switch {
		case e == linux.EAGAIN:
			if c.Readiness(linux.POLLIN) == 0 && !wait(ctx, wake) {
				return
			}
			continue
		case e != 0 || n == 0:
			return
		}
		for have += n; have >= 40; have -= 40 {
			for out := resp; len(out) > 0; {
				k, e := c.Write(out, posix.InetAddr{}, false)
				if e == linux.EAGAIN {
					if !wait(ctx, wake) {
						return
					}
					continue
				}
				if e != 0 {
					return
				}
				out = out[k:]
			}
		}
	}
}
