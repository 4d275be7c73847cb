// Command gohash is bench/smp's Go workload: G goroutines each hash a
// fixed amount of data with SHA-256 (pure CPU, no allocation in the
// loop); it prints the elapsed wall time in ms measured in the guest.
// Around the timed part it makes system call 0x7ab0 (ENOSYS everywhere),
// which a hartprof kernel takes as the start and end of a profile window.
//
//	gohash GOROUTINES MIB-EACH
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// hartprofMark is the call a hartprof kernel (kernel/hart/hartprof.go)
// takes as a window mark: a0 = 1 opens the window, 2 closes it.
const hartprofMark = 0x7ab0

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gohash GOROUTINES MIB-EACH")
		os.Exit(2)
	}
	g, err1 := strconv.Atoi(os.Args[1])
	mib, err2 := strconv.Atoi(os.Args[2])
	if err1 != nil || err2 != nil || g < 1 || g > 64 || mib < 1 || mib > 4096 {
		fmt.Fprintln(os.Stderr, "gohash: bad arguments")
		os.Exit(2)
	}
	syscall.Syscall(hartprofMark, 1, 0, 0)
	start := time.Now()
	var wg sync.WaitGroup
	sums := make([][32]byte, g)
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			buf[0] = byte(i)
			h := sha256.New()
			for n := 0; n < mib*16; n++ {
				h.Write(buf)
			}
			copy(sums[i][:], h.Sum(nil))
		}(i)
	}
	wg.Wait()
	el := time.Since(start)
	syscall.Syscall(hartprofMark, 2, 0, 0)
	fmt.Printf("elapsed_ms %d\n", el.Milliseconds())
}
