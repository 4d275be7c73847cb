// Command httpserver is bench/net's Go net/http server: it answers GET
// /1k.bin with 1 KiB (Content-Length set, keep-alive as net/http does)
// on -addr. bench/net builds the same program twice, with `runikraft go
// build` for the unikernel and as a static linux/riscv64 binary for the
// Linux guest, and loads both the same way.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	flag.Parse()
	page := make([]byte, 1024)
	for i := range page {
		page[i] = byte('a' + i%26)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /1k.bin", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page)
	})
	fmt.Fprintln(os.Stderr, "httpserver: listening on", *addr)
	if err := http.ListenAndServe(*addr, mux); err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
}
