package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"time"

	"github.com/runikraft/runikraft/bench/internal/redisping"
)

// redisArgs are bench/net's: no persistence, reachable through the forward.
var redisArgs = []string{"--save", "", "--appendonly", "no", "--protected-mode", "no"}

// redisReady waits until the server on the host's port answers PING (QEMU
// accepts on a forward before the guest listens).
func redisReady(port int, timeout time.Duration) error {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = redisping.Ping(addr); last == nil {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("redis-server did not answer PING at %s within %v: %v", addr, timeout, last)
}

// redisLoad runs the host's redis-benchmark -t get,set over conns
// connections for about d: a short probe run, then one sized from it.
// It returns the requests (GETs and SETs) of both and their rate.
func redisLoad(ctx context.Context, port, conns int, d time.Duration) (int, float64, error) {
	bench := func(n int) (time.Duration, error) {
		cctx, cancel := context.WithTimeout(ctx, d+5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, "redis-benchmark", "-h", "127.0.0.1", "-p", strconv.Itoa(port),
			"-t", "get,set", "-n", strconv.Itoa(n), "-c", strconv.Itoa(conns), "-q")
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("redis-benchmark: %v\n%s", err, out)
		}
		return time.Since(t0), nil
	}
	probe := 500
	took, err := bench(probe)
	if err != nil {
		return 0, 0, err
	}
	n := int(float64(probe) * (d - took).Seconds() / max(took.Seconds(), 0.001))
	n = min(max(n, 200), 1_000_000)
	took2, err := bench(n)
	if err != nil {
		return 0, 0, err
	}
	all := 2 * (probe + n)
	return all, float64(all) / (took + took2).Seconds(), nil
}
