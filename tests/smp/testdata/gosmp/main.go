// Command gosmp runs parallel goroutines over channels, sync and
// sync/atomic, and checks every count; tests/smp boots it with several
// harts. It prints the CPUs the runtime sees and one "ok" line, and
// exits 1 on a wrong count.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	procs := runtime.GOMAXPROCS(0)
	fmt.Printf("cpus=%d gomaxprocs=%d\n", runtime.NumCPU(), procs)
	const workers, per = 8, 20000

	// sync/atomic and a mutex under contention.
	var counter atomic.Int64
	var mu sync.Mutex
	locked := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				counter.Add(1)
				mu.Lock()
				locked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	// A pipeline of channels with a fan-out and fan-in.
	src := make(chan int, 16)
	dst := make(chan [32]byte, 16)
	go func() {
		for i := 0; i < 4000; i++ {
			src <- i
		}
		close(src)
	}()
	var hw sync.WaitGroup
	for w := 0; w < procs; w++ {
		hw.Add(1)
		go func() {
			defer hw.Done()
			for i := range src {
				dst <- sha256.Sum256([]byte(fmt.Sprint(i)))
			}
		}()
	}
	go func() { hw.Wait(); close(dst) }()
	var xor [32]byte
	hashes := 0
	for h := range dst {
		for i := range xor {
			xor[i] ^= h[i]
		}
		hashes++
	}
	var want [32]byte
	for i := 0; i < 4000; i++ {
		h := sha256.Sum256([]byte(fmt.Sprint(i)))
		for j := range want {
			want[j] ^= h[j]
		}
	}

	// sync.Once, sync.Cond and a RWMutex across goroutines.
	var once sync.Once
	onces := int32(0)
	var rw sync.RWMutex
	cond := sync.NewCond(&sync.Mutex{})
	ready := 0
	var cw sync.WaitGroup
	for w := 0; w < workers; w++ {
		cw.Add(1)
		go func() {
			defer cw.Done()
			once.Do(func() { atomic.AddInt32(&onces, 1) })
			rw.RLock()
			time.Sleep(time.Millisecond)
			rw.RUnlock()
			cond.L.Lock()
			ready++
			cond.Broadcast()
			for ready < workers {
				cond.Wait()
			}
			cond.L.Unlock()
		}()
	}
	cw.Wait()

	// Parallel CPU work: how many goroutines were running at once.
	var running, peak atomic.Int32
	var pw sync.WaitGroup
	for w := 0; w < procs; w++ {
		pw.Add(1)
		go func() {
			defer pw.Done()
			deadline := time.Now().Add(300 * time.Millisecond)
			for time.Now().Before(deadline) {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				h := sha256.Sum256(make([]byte, 4096))
				_ = h
				running.Add(-1)
			}
		}()
	}
	pw.Wait()

	ok := counter.Load() == workers*per && locked == workers*per && hashes == 4000 && xor == want && onces == 1 && ready == workers
	fmt.Printf("counter=%d locked=%d hashes=%d once=%d cond=%d peak=%d\n", counter.Load(), locked, hashes, onces, ready, peak.Load())
	if !ok {
		fmt.Println("FAIL")
		os.Exit(1)
	}
	fmt.Println("ok")
}
