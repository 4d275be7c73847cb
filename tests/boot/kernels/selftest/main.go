//go:build riscv64

// Command selftest is a kernel image that exercises the Go runtime on the
// hart layer: scheduling, channels, timers, the garbage collector, maps and
// panics. It prints one "ok NAME" line per check and exits 0 only if all
// passed; tests/boot checks the lines and the status.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runikraft/runikraft/kernel/hart"
)

func main() {
	checks := []struct {
		name string
		fn   func() error
	}{
		{"ring", ring},
		{"select", selects},
		{"sleep", sleep},
		{"gc", gcStress},
		{"maps", maps},
		{"recover", recovers},
		{"mutex", mutexes},
	}
	failed := 0
	for _, c := range checks {
		start := time.Now()
		if err := c.fn(); err != nil {
			fmt.Printf("FAIL %s: %v\n", c.name, err)
			failed++
			continue
		}
		fmt.Printf("ok %s (%v)\n", c.name, time.Since(start).Round(time.Millisecond))
	}
	if failed > 0 {
		os.Exit(1)
	}
	fmt.Println("selftest: all passed")
}

// ring passes a token around 10,000 goroutines 3 times.
func ring() error {
	const n, laps = 10000, 3
	first := make(chan int)
	in := first
	for i := 0; i < n; i++ {
		out := make(chan int)
		go func(in <-chan int, out chan<- int) {
			for v := range in {
				out <- v + 1
			}
			close(out)
		}(in, out)
		in = out
	}
	last := in
	for lap := 0; lap < laps; lap++ {
		first <- 0
		if got := <-last; got != n {
			return fmt.Errorf("token came back as %d, want %d", got, n)
		}
	}
	close(first)
	for range last {
	}
	return nil
}

// selects multiplexes producers, a timeout and a quit channel.
func selects() error {
	a, b, quit := make(chan int), make(chan int), make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			a <- i
		}
	}()
	go func() {
		for i := 0; i < 100; i++ {
			b <- -i
		}
		close(quit)
	}()
	sumA, sumB := 0, 0
	for done := false; !done; {
		select {
		case v := <-a:
			sumA += v
		case v := <-b:
			sumB += v
		case <-quit:
			done = true
		case <-time.After(5 * time.Second):
			return errors.New("select timed out")
		}
	}
	for sumA < 4950 {
		sumA += <-a
	}
	if sumA != 4950 || sumB != -4950 {
		return fmt.Errorf("sums %d %d", sumA, sumB)
	}
	select {
	case <-a:
		return errors.New("value from a drained channel")
	default:
	}
	return nil
}

// sleep checks time.Sleep against the kernel's clock and marks a span of
// 10 sleeps of 50 ms whose length the kernel prints; the host compares it
// with its own clock.
func sleep() error {
	fmt.Println("mark start")
	t0 := time.Now()
	for i := 0; i < 10; i++ {
		t := time.Now()
		time.Sleep(50 * time.Millisecond)
		if d := time.Since(t); d < 50*time.Millisecond {
			return fmt.Errorf("Sleep(50ms) returned after %v", d)
		}
	}
	fmt.Printf("mark end %d\n", time.Since(t0).Nanoseconds())
	if y := time.Now().Year(); y < 2024 {
		return fmt.Errorf("wall clock says year %d", y)
	}
	return nil
}

var sink []byte

// gcStress allocates ten times the machine's RAM as garbage (or N
// times with selftest.gc=N on the command line: tests/smp's runs with
// many harts on few host cores keep it short).
func gcStress() error {
	m := hart.Machine()
	var ram uint64
	for i := 0; i < m.NMem; i++ {
		ram += m.Mem[i].Size
	}
	if ram == 0 {
		return errors.New("no memory in the device tree")
	}
	target := 10 * ram
	for _, w := range strings.Fields(hart.Bootargs()) {
		if v, ok := strings.CutPrefix(w, "selftest.gc="); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 10 {
				target = uint64(n) * ram
			}
		}
	}
	var total uint64
	keep := make([][]byte, 16)
	for i := 0; total < target; i++ {
		n := 64<<10 + (i%64)<<12
		b := make([]byte, n)
		b[0], b[n-1] = byte(i), byte(i)
		keep[i%len(keep)] = b
		sink = b
		total += uint64(n)
	}
	for _, b := range keep {
		if b[0] != b[len(b)-1] {
			return errors.New("live data corrupted")
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	hs := hart.ReadMemStats()
	fmt.Printf("gc: allocated %d MiB in %d MiB of RAM, %d GCs, RAM in use %d MiB\n",
		total>>20, ram>>20, ms.NumGC, hs.InUse>>20)
	if ms.NumGC < 5 {
		return fmt.Errorf("only %d GCs", ms.NumGC)
	}
	return nil
}

func maps() error {
	m := map[string]int{}
	for i := 0; i < 100000; i++ {
		m[fmt.Sprint(i)] = i
	}
	for i := 0; i < 100000; i += 2 {
		delete(m, fmt.Sprint(i))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != 50000 || m["99999"] != 99999 || !strings.HasPrefix(keys[0], "1") {
		return fmt.Errorf("map has %d keys", len(keys))
	}
	return nil
}

func recovers() (err error) {
	order := []string{}
	func() {
		defer func() {
			r := recover()
			order = append(order, fmt.Sprint("recovered:", r))
		}()
		defer func() { order = append(order, "deferred") }()
		var s []int
		_ = s[len(order)+5] // index out of range panic
	}()
	if len(order) != 2 || order[0] != "deferred" || !strings.Contains(order[1], "index out of range") {
		return fmt.Errorf("defer/recover order %q", order)
	}
	return nil
}

// mutexes runs contended goroutines across the runtime's threads.
func mutexes() error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	n := 0
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				mu.Lock()
				n++
				mu.Unlock()
				if i%100 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
	if n != 64000 {
		return fmt.Errorf("counter %d, want 64000", n)
	}
	return nil
}
