// Command goprog prints its arguments, $GREETING and /data/hello.txt (if
// the root filesystem has it): runikraft go build's image options.
package main

import (
	"fmt"
	"os"
)

func main() {
	data, err := os.ReadFile("/data/hello.txt")
	file := string(data)
	if err != nil {
		file = "(none)"
	}
	fmt.Printf("args=%q GREETING=%q file=%q\n", os.Args[1:], os.Getenv("GREETING"), file)
}
