// Command goroutines is bench/memory's test program: Goroutines
// goroutines all alive at once, each with Live bytes of live data, run
// Rounds rounds of allocation (up to Garbage bytes each), yielding
// between rounds so they interleave and the runtime collects often.
//
//	goroutines GOROUTINES ROUNDS LIVE GARBAGE
//
// It prints the checksum (churn.Expected), the runtime's own count of
// memory taken from the OS and the process's peak resident memory
// (getrusage's ru_maxrss), and exits 0; bad arguments exit 2.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/runikraft/runikraft/bench/memory/churn"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: goroutines GOROUTINES ROUNDS LIVE GARBAGE")
		os.Exit(2)
	}
	var v [4]int
	for i := range v {
		n, err := strconv.Atoi(os.Args[i+1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "goroutines:", err)
			os.Exit(2)
		}
		v[i] = n
	}
	p := churn.Params{Goroutines: v[0], Rounds: v[1], Live: v[2], Garbage: v[3]}
	if !p.Valid() {
		fmt.Fprintln(os.Stderr, "goroutines: parameters out of range")
		os.Exit(2)
	}
	var (
		made, done sync.WaitGroup
		start      = make(chan struct{})
		mu         sync.Mutex
		total      uint64
	)
	made.Add(p.Goroutines)
	done.Add(p.Goroutines)
	for id := 0; id < p.Goroutines; id++ {
		go func() {
			defer done.Done()
			w := churn.NewWorker(p, id)
			made.Done()
			<-start // every goroutine and its live data exist before any round
			for r := 0; r < p.Rounds; r++ {
				w.Round(p, r)
				runtime.Gosched()
			}
			s := w.Sum()
			mu.Lock()
			total += s
			mu.Unlock()
		}()
	}
	made.Wait()
	close(start)
	done.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("sum %016x\n", total)
	fmt.Printf("runtime: sys %d KiB, heap sys %d KiB, stacks %d KiB, GCs %d\n", ms.Sys>>10, ms.HeapSys>>10, ms.StackSys>>10, ms.NumGC)
	// The most resident memory the process had, as its OS counts it
	// (ru_maxrss, KiB on Linux): the same figure from either guest, so
	// the two kernels' backing of the same program can be compared.
	var ru syscall.Rusage
	peak := int64(-1)
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		peak = int64(ru.Maxrss)
	}
	fmt.Printf("peak resident %d KiB\n", peak)
}
