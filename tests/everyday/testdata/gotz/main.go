// Command gotz prints a fixed instant in the local zone ($TZ) and in the
// zone named by its argument (time.LoadLocation).
package main

import (
	"fmt"
	"os"
	"time"
)

const layout = "2006-01-02 15:04:05 MST -0700"

func main() {
	t := time.Unix(1700000000, 0)
	fmt.Println("local", t.Local().Format(layout))
	loc, err := time.LoadLocation(os.Args[1])
	if err != nil {
		fmt.Println("LoadLocation:", err)
		os.Exit(1)
	}
	fmt.Println("named", t.In(loc).Format(layout))
}
