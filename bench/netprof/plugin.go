package main

import (
	"context"
	_ "embed"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

//go:embed plugin/blocks.c
var blocksC []byte

//go:embed plugin/callers.c
var callersC []byte

//go:embed plugin/calledges.c
var calledgesC []byte

//go:embed plugin/shared.h
var sharedH []byte

// buildPlugin compiles plugin name (blocks or callers) with the host's
// cc into dir and returns the shared object's path.
func buildPlugin(ctx context.Context, dir, name string) (string, error) {
	src := map[string][]byte{"blocks": blocksC, "callers": callersC, "calledges": calledgesC}[name]
	c := filepath.Join(dir, name+".c")
	so := filepath.Join(dir, name+".so")
	if err := os.WriteFile(c, src, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "shared.h"), sharedH, 0o644); err != nil {
		return "", err
	}
	if out, err := exec.CommandContext(ctx, "cc", "-O2", "-shared", "-fPIC", "-o", so, c).CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the %s plugin: %v\n%s", name, err, out)
	}
	return so, nil
}

// counts are instructions (blocks) or calls (callers) by block address.
type counts struct {
	byAddr       map[uint64]uint64
	translations int    // blocks translated (blocks plugin)
	blocksRun    uint64 // blocks executed (blocks plugin)
	multi        map[uint64]bool
}

// maxEntries bounds what is read of a counts file (the blocks plugin's
// capacity).
const maxEntries = 1 << 22

// readCounts reads the plugin's shared file as it is now. The blocks
// plugin's file has a 32-byte header (entries used first, blocks run
// last) and one {address, instructions} pair per translation; the
// callers plugin's is a table of {address, calls} pairs, empty where
// the address is 0.
func readCounts(path string, callers bool) (counts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return counts{}, err
	}
	c := counts{byAddr: map[uint64]uint64{}, multi: map[uint64]bool{}}
	start, n := 0, len(b)/16
	if !callers {
		if len(b) < 32 {
			return c, fmt.Errorf("%s: %d bytes", path, len(b))
		}
		start, n = 32, int(min(binary.LittleEndian.Uint64(b), maxEntries))
		c.translations = n
		c.blocksRun = binary.LittleEndian.Uint64(b[24:])
	}
	seen := map[uint64]bool{}
	for i := 0; i < n && start+16*i+16 <= len(b); i++ {
		e := b[start+16*i:]
		addr, v := binary.LittleEndian.Uint64(e), binary.LittleEndian.Uint64(e[8:])
		if callers && addr == 0 && v == 0 {
			continue
		}
		if seen[addr] {
			c.multi[addr] = true
		}
		seen[addr] = true
		c.byAddr[addr] += v
	}
	return c, nil
}

// edge is a call counted by the calledges plugin: the call
// instruction's address and the block it went to (the callee's entry).
type edge struct{ site, callee uint64 }

// readEdges reads the calledges plugin's shared file as it is now: a
// table of {site, callee, count} triples, empty where site is 0.
func readEdges(path string) (map[edge]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[edge]uint64{}
	for i := 0; i+24 <= len(b); i += 24 {
		site := binary.LittleEndian.Uint64(b[i:])
		if site == 0 {
			continue
		}
		m[edge{site, binary.LittleEndian.Uint64(b[i+8:])}] += binary.LittleEndian.Uint64(b[i+16:])
	}
	return m, nil
}

// writeEdges writes the calls of the window (e1 less e0) to path, one
// "site callee calls" line each (hexadecimal addresses), after a
// "# requests N" line: the input of bench/pgoprof.
func writeEdges(path string, e0, e1 map[edge]uint64, n float64) error {
	var b []byte
	b = fmt.Appendf(b, "# requests %.0f\n", n)
	for e, v := range e1 {
		if d := v - min(v, e0[e]); d > 0 {
			b = fmt.Appendf(b, "%x %x %d\n", e.site, e.callee, d)
		}
	}
	return os.WriteFile(path, b, 0o644)
}
