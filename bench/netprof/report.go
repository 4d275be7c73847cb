package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// report prints what ran between the two readings, per request.
func report(w io.Writer, o options, syms symtab, c0, c1 counts, n float64) {
	byFunc := map[string]uint64{}
	var total, inMulti uint64
	for addr, v := range c1.byAddr {
		d := v - min(v, c0.byAddr[addr])
		if d == 0 {
			continue
		}
		total += d
		if c1.multi[addr] {
			inMulti += d
		}
		byFunc[syms.lookup(addr)] += d
	}
	if o.callers != "" {
		fmt.Fprintf(w, "%s: %.3f calls per request (%d in the window), from:\n", o.callers, float64(total)/n, total)
		list(w, byFunc, total, n, o.top)
		return
	}
	fmt.Fprintf(w, "guest instructions per request: %.0f (%.0f in functions of the kernel's symbol table)\n",
		float64(total)/n, float64(total-byFunc["?"])/n)
	fmt.Fprintf(w, "blocks run per request: %.0f\n", float64(c1.blocksRun-min(c1.blocksRun, c0.blocksRun))/n)
	fmt.Fprintf(w, "translated blocks: %d; addresses translated more than once: %d, holding %.0f%% of the window's instructions\n",
		c1.translations, len(c1.multi), 100*float64(inMulti)/float64(max(total, 1)))
	byPkg := map[string]uint64{}
	for f, v := range byFunc {
		byPkg[pkgOf(f)] += v
	}
	fmt.Fprintln(w, "by package (instructions per request, share):")
	list(w, byPkg, total, n, 25)
	fmt.Fprintln(w, "by function:")
	list(w, byFunc, total, n, o.top)
}

func list(w io.Writer, m map[string]uint64, total uint64, n float64, top int) {
	type kv struct {
		k string
		v uint64
	}
	var l []kv
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v || l[i].v == l[j].v && l[i].k < l[j].k })
	for i, e := range l {
		if i >= top {
			break
		}
		fmt.Fprintf(w, "%10.1f %5.1f%%  %s\n", float64(e.v)/n, 100*float64(e.v)/float64(max(total, 1)), e.k)
	}
}

// pkgOf is a Go symbol's package path (a C symbol is its own), with the
// program's "app:" prefix kept.
func pkgOf(sym string) string {
	prefix := ""
	if rest, ok := strings.CutPrefix(sym, "app:"); ok {
		prefix, sym = "app:", rest
	}
	slash := strings.LastIndex(sym, "/")
	if dot := strings.Index(sym[slash+1:], "."); dot >= 0 {
		return prefix + sym[:slash+1+dot]
	}
	return prefix + sym
}
