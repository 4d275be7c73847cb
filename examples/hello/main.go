// Command hello is the example application that ./install.sh builds and
// boots: an ordinary Go program, built for linux/riscv64 and run on the
// Runikraft kernel with runikraft run. Nothing in it knows about Runikraft.
package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

func main() {
	name := "world"
	if len(os.Args) > 1 {
		name = strings.Join(os.Args[1:], " ")
	}
	start := time.Now()
	var wg sync.WaitGroup
	results := make([]int, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100000; j++ {
				results[i] += j % (i + 2)
			}
		}()
	}
	wg.Wait()
	key := make([]byte, 8)
	rand.Read(key)
	fmt.Printf("Hello, %s! A Go %s program on %s/%s inside a Runikraft unikernel.\n",
		name, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("8 goroutines computed %v in %v; random bytes %x.\n",
		results, time.Since(start).Round(time.Millisecond), key)
}
