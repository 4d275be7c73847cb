// Command shipapp is the application the shipping tests move around: it
// prints its arguments and RK_ environment, reads stdin to its end, writes
// a line to stderr and exits with $RK_EXIT, so a run elsewhere (from a
// registry, under libvirt) can be compared with a direct one.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "RK_") {
			env = append(env, kv)
		}
	}
	sort.Strings(env)
	n, err := io.Copy(io.Discard, os.Stdin)
	fmt.Printf("args=%q env=%q stdin=%d bytes err=%v\n", os.Args[1:], env, n, err)
	fmt.Fprintln(os.Stderr, "shipapp: a line on stderr")
	code, _ := strconv.Atoi(os.Getenv("RK_EXIT"))
	os.Exit(code)
}
