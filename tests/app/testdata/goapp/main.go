// Command goapp is a Go application for the app tests: argv[1] picks what
// it does, and it prints what the test checks.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

type node struct {
	next *node
	val  int
}

var sink any

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: goapp MODE")
		os.Exit(64)
	}
	switch os.Args[1] {
	case "args":
		env := []string{}
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "RK_") {
				env = append(env, kv)
			}
		}
		sort.Strings(env)
		fmt.Printf("args=%q env=%q\n", os.Args[2:], env)
	case "stdin":
		// Counts the bytes other than newlines before the first '.' on
		// stdin (the UART has no end of file), reading them as they come.
		n, buf := 0, make([]byte, 512)
		for done := false; !done; {
			k, err := os.Stdin.Read(buf)
			for _, c := range buf[:k] {
				if c == '.' {
					done = true
					break
				}
				if c != '\n' {
					n++
				}
			}
			if err != nil && !done {
				fmt.Println("stdin:", err)
				break
			}
		}
		fmt.Printf("stdin: %d bytes before the dot\n", n)
	case "exit":
		fmt.Println("exiting 7")
		os.Exit(7)
	case "panic":
		var m map[string]int
		m["boom"]++ // panics: assignment to entry in nil map
	case "nil":
		var p *node
		defer func() {
			r := recover()
			fmt.Println("recovered:", r)
		}()
		fmt.Println(p.val)
	case "goroutines":
		var wg sync.WaitGroup
		results := make(chan int, 100)
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				time.Sleep(time.Duration(i%10) * time.Millisecond)
				results <- i * i
			}(i)
		}
		wg.Wait()
		close(results)
		sum := 0
		for v := range results {
			sum += v
		}
		ticker := time.NewTicker(10 * time.Millisecond)
		ticks := 0
		timeout := time.After(200 * time.Millisecond)
	loop:
		for {
			select {
			case <-ticker.C:
				ticks++
			case <-timeout:
				break loop
			}
		}
		ticker.Stop()
		fmt.Printf("sum=%d ticks>=10:%v threads>1:%v\n", sum, ticks >= 10, runtime.NumGoroutine() >= 1)
	case "churn":
		// Garbage four times the machine's memory (the test runs it with
		// 64 MiB), keeping a small live set.
		const total = 256 << 20
		live := make([]*node, 64)
		allocated := 0
		for i := 0; allocated < total; i++ {
			b := make([]byte, 32<<10)
			b[0] = byte(i)
			sink = b
			allocated += len(b)
			live[i%len(live)] = &node{val: i}
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("churned %d MiB, %d GCs, heap %d MiB\n", allocated>>20, ms.NumGC, ms.HeapAlloc>>20)
	case "spin":
		// A goroutine that never yields must not starve the others
		// (asynchronous preemption through SIGURG).
		stop := make(chan bool)
		go func() {
			x := 0
			for {
				x++
				if x == -1 {
					fmt.Println(x)
				}
			}
		}()
		go func() { time.Sleep(100 * time.Millisecond); close(stop) }()
		<-stop
		fmt.Println("not starved")
	default:
		fmt.Println("unknown mode", os.Args[1])
		os.Exit(64)
	}
}
