//go:build linux

package fdt

import (
	"syscall"
	"testing"
)

// guard is a mapping whose last page is PROT_NONE. place puts a blob so that
// it ends exactly at that page, so any read past the blob's end faults
// instead of going unnoticed (the parser reads through unsafe pointers, so
// Go's bounds checks would not catch it).
type guard struct {
	mem  []byte
	page int
}

func newGuard(t testing.TB, size int) *guard {
	t.Helper()
	page := syscall.Getpagesize()
	n := (size+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	if err := syscall.Mprotect(mem[n-page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	return &guard{mem: mem, page: page}
}

func (g *guard) place(b []byte) []byte {
	end := len(g.mem) - g.page
	if len(b) > end {
		panic("guard too small")
	}
	dst := g.mem[end-len(b) : end : end]
	copy(dst, b)
	return dst
}
