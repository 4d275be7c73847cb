//go:build riscv64

package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/runikraft/runikraft/kernel/hart"
)

// logAccount writes where every page of RAM is (runikraft run --debug),
// at a moment named by when: firmware and what else the allocator never
// got, the kernel image by part, then the allocator's pages: page
// tables, the hart layer's stacks, the kernel runtime's pages (split by
// the runtime's own statistics), device memory, the application's pages,
// and the free pages, the kernel's reserve first. The parts add up to
// the RAM; tests/memory checks that they do. The hart layer's counters
// are read first: the runtime's ReadMemStats backs some 0.3 MiB of the
// kernel runtime's pages the first time it runs (measured at 16M), which
// a run with --debug then carries.
func logAccount(w io.Writer, when string) {
	s := hart.ReadMemStats()
	var rs runtime.MemStats
	runtime.ReadMemStats(&rs)
	limit := debug.SetMemoryLimit(-1)
	kib := func(n uint64) uint64 { return n >> 10 }
	image := s.ImageText + s.ImageRodata + s.ImageData
	outside := s.RAM - min(s.RAM, s.Total+image)
	free := s.Total - min(s.Total, s.InUse)
	reserve := min(s.Reserve, free)
	kernel := s.InUse - min(s.InUse, s.App)
	other := kernel - min(kernel, s.PageTables+s.Stacks+s.Tables+s.Runtime+s.DMA)
	fmt.Fprintf(w, "runikraft: memory account %s, KiB of RAM %d:\n", when, kib(s.RAM))
	fmt.Fprintf(w, "runikraft:   firmware and device tree (not the allocator's) %6d\n", kib(outside))
	fmt.Fprintf(w, "runikraft:   kernel image                                %6d  (code %d, read-only data %d, data and .bss %d, of which fixed hart tables %d)\n",
		kib(image), kib(s.ImageText), kib(s.ImageRodata), kib(s.ImageData), kib(s.HartTables))
	fmt.Fprintf(w, "runikraft:   page tables                                 %6d\n", kib(s.PageTables))
	fmt.Fprintf(w, "runikraft:   hart tables (threads, area maps)            %6d\n", kib(s.Tables))
	fmt.Fprintf(w, "runikraft:   hart stacks (main thread, trap, emergency)  %6d\n", kib(s.Stacks))
	fmt.Fprintf(w, "runikraft:   kernel runtime's pages                      %6d  (Go heap in use %d, goal %d, limit %d, %d collections; goroutine and thread stacks %d; runtime metadata %d; free in the heap, not returned %d)\n",
		kib(s.Runtime), kib(rs.HeapInuse), kib(rs.NextGC), kib(uint64(max(limit, 0))), rs.NumGC, kib(rs.StackInuse),
		kib(rs.MSpanSys+rs.MCacheSys+rs.BuckHashSys+rs.GCSys+rs.OtherSys), kib(rs.HeapIdle-min(rs.HeapIdle, rs.HeapReleased)))
	fmt.Fprintf(w, "runikraft:   device memory (DMA)                         %6d\n", kib(s.DMA))
	if other != 0 {
		fmt.Fprintf(w, "runikraft:   other kernel pages                          %6d\n", kib(other))
	}
	fmt.Fprintf(w, "runikraft:   application                                 %6d  (most so far %d)\n", kib(s.App), kib(s.AppPeak))
	fmt.Fprintf(w, "runikraft:   free: the kernel's reserve                  %6d\n", kib(reserve))
	fmt.Fprintf(w, "runikraft:   free: the application's room                %6d\n", kib(free-reserve))
}
