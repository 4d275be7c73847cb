// Command pgoprof turns the kernel's calls, counted in the guest under
// TCG by netprof -edges (plugin/calledges.c), into a CPU profile in
// pprof's format that go build takes for profile-guided optimisation
// (kernel/cmd/kernel/default.pgo; see kernel/cmd/kernel/pgo.sh).
//
// Go's PGO keys a call edge by the calling function's name, the call's
// line less the line the calling function starts on, and the callee's
// name. The call instruction may sit in code inlined into the function
// that holds it: the caller is then the innermost inlined function,
// which only the DWARF of the profiled kernel tells (its ELF as linked,
// kept with RUNIKRAFT_KBUILD_ELF; images have no DWARF). The call's line
// comes from the same DWARF's line table, each function's first line
// from its DW_AT_decl_line.
//
// Each sample is the two-frame stack [callee, caller at the call's line]
// weighted by the calls counted. Every input file (one server's window)
// is scaled to the same total weight first, so no one server drowns the
// others; -keep drops the coldest edges (Go's PGO treats as hot the
// edges that make up 99% of the weight, and a dense call count would
// make nearly every call hot and the kernel much larger).
//
//	go run ./bench/pgoprof -elf KERNEL.elf -o default.pgo redis.edges nginx.edges go.edges
package main

import (
	"bufio"
	"debug/dwarf"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	elfPath := flag.String("elf", "", "the profiled kernel as linked, with DWARF (RUNIKRAFT_KBUILD_ELF)")
	out := flag.String("o", "", "profile to write")
	keep := flag.Float64("keep", 100, "keep the hottest edges that make up this percentage of the weight")
	total := flag.Float64("total", 1e6, "total weight of the profile's samples")
	verbose := flag.Bool("v", false, "list the edges kept")
	flag.Parse()
	if *elfPath == "" || *out == "" || flag.NArg() == 0 || *keep <= 0 || *keep > 100 || *total < 1 {
		fmt.Fprintln(os.Stderr, "usage: pgoprof -elf KERNEL.elf -o OUT.pgo [-keep PCT] [-total W] EDGES...")
		os.Exit(2)
	}
	if err := run(*elfPath, *out, *keep, *total, *verbose, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "pgoprof:", err)
		os.Exit(1)
	}
}

// key is a call edge as Go's PGO sees it.
type key struct {
	caller string
	line   int // the call's line
	callee string
}

func run(elfPath, out string, keep, total float64, verbose bool, inputs []string) error {
	f, err := elf.Open(elfPath)
	if err != nil {
		return err
	}
	defer f.Close()
	text := f.Section(".text")
	if text == nil {
		return fmt.Errorf("%s: no .text", elfPath)
	}
	d, err := f.DWARF()
	if err != nil {
		return fmt.Errorf("%s: %w (link it without -w: RUNIKRAFT_KBUILD_ELF)", elfPath, err)
	}
	inl, err := readInlining(d)
	if err != nil {
		return err
	}
	lines, err := readLines(d)
	if err != nil {
		return err
	}
	fns, err := entries(f, inl)
	if err != nil {
		return err
	}

	weight := map[key]float64{}
	start := map[string]int{} // function -> first line
	var dropped, all float64
	for _, in := range inputs {
		edges, err := readEdges(in)
		if err != nil {
			return err
		}
		var sum float64
		for e, v := range edges {
			// The application's calls (its code is not the kernel's text).
			if e.site < text.Addr || e.site >= text.Addr+text.Size {
				delete(edges, e)
				continue
			}
			sum += float64(v)
		}
		if sum == 0 {
			return fmt.Errorf("%s: no calls", in)
		}
		scale := total / float64(len(inputs)) / sum
		for e, v := range edges {
			w := float64(v) * scale
			all += w
			callee, ok := fns[e.callee]
			fr, ok2 := inl.at(e.site)
			line, ok3 := lines.at(e.site)
			if !ok || !ok2 || !ok3 {
				// Not a function's entry (an interrupt taken right after
				// the call), or code without DWARF (assembly).
				dropped += w
				if verbose {
					fmt.Printf("dropped %x (%v %v %v) -> %x %.0f\n", e.site, ok, ok2, ok3, e.callee, w)
				}
				continue
			}
			start[fr.name] = fr.declLine
			if _, seen := start[callee.name]; !seen || start[callee.name] == 0 {
				start[callee.name] = callee.declLine
			}
			weight[key{fr.name, line, callee.name}] += w
		}
	}
	fmt.Fprintf(os.Stderr, "pgoprof: %.1f%% of the calls symbolised\n", 100*(all-dropped)/max(all, 1))

	type kw struct {
		k key
		w float64
	}
	var l []kw
	var sum float64
	for k, w := range weight {
		l = append(l, kw{k, w})
		sum += w
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].w != l[j].w {
			return l[i].w > l[j].w
		}
		a, b := l[i].k, l[j].k
		if a.caller != b.caller {
			return a.caller < b.caller
		}
		if a.line != b.line {
			return a.line < b.line
		}
		return a.callee < b.callee
	})
	var p profile
	var cum float64
	for _, e := range l {
		if cum >= sum*keep/100 {
			break
		}
		cum += e.w
		n := int64(e.w + 0.5)
		if n == 0 {
			continue
		}
		if verbose {
			fmt.Printf("%10d %s:%d (+%d) -> %s\n", n, e.k.caller, e.k.line, e.k.line-start[e.k.caller], e.k.callee)
		}
		p.add(e.k.callee, start[e.k.callee], start[e.k.callee], e.k.caller, start[e.k.caller], e.k.line, n)
	}
	fmt.Fprintf(os.Stderr, "pgoprof: %d of %d edges kept\n", len(p.samples), len(l))
	return os.WriteFile(out, p.encode(), 0o644)
}

// readEdges reads a netprof -edges file.
func readEdges(path string) (map[struct{ site, callee uint64 }]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[struct{ site, callee uint64 }]uint64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		t := s.Text()
		if strings.HasPrefix(t, "#") || t == "" {
			continue
		}
		var site, callee, n uint64
		if _, err := fmt.Sscanf(t, "%x %x %d", &site, &callee, &n); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, t, err)
		}
		m[struct{ site, callee uint64 }{site, callee}] += n
	}
	return m, s.Err()
}

// fn is a function, or a function inlined, as DWARF names it.
type fn struct {
	name     string
	declLine int
}

// entries maps each function's entry address to its name and first
// line: DWARF's functions, and the linker's trampolines (a call too far
// for one jal goes through NAME-trampN, which jumps to NAME).
func entries(f *elf.File, in *inlining) (map[uint64]fn, error) {
	m := map[uint64]fn{}
	for _, t := range in.tops {
		if len(t.ranges) > 0 && t.name != "" {
			m[t.ranges[0][0]] = t.fn
		}
	}
	byName := map[string]fn{}
	for _, f := range m {
		byName[f.name] = f
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	for _, s := range syms {
		if i := strings.LastIndex(s.Name, "-tramp"); i > 0 {
			if f, ok := byName[s.Name[:i]]; ok {
				m[s.Value] = f
			}
		}
	}
	return m, nil
}

// span is a range of code and the function it is (depth 0) or the
// function inlined there (depth > 0).
type span struct {
	lo, hi uint64
	depth  int
	fn
}

// top is a function's code: its ranges and those of the functions
// inlined into it.
type top struct {
	ranges [][2]uint64
	inner  []span
	fn
}

// inlining finds the innermost function at an address.
type inlining struct {
	tops  []top
	spans []span // depth-0 ranges, by address; fn.declLine is the top index
}

// readInlining reads every function's code ranges and those of the
// functions inlined into it, nested.
func readInlining(d *dwarf.Data) (*inlining, error) {
	abstract := map[dwarf.Offset]fn{}
	in := &inlining{}
	r := d.Reader()
	depth := 0 // subprograms and inlined subroutines open around this DIE
	var stack []bool
	cur := -1
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		if e.Tag == 0 { // end of a DIE's children
			if len(stack) > 0 {
				if stack[len(stack)-1] {
					depth--
				}
				stack = stack[:len(stack)-1]
			}
			continue
		}
		counted := false
		switch e.Tag {
		case dwarf.TagSubprogram, dwarf.TagInlinedSubroutine:
			counted = true
			name, _ := e.Val(dwarf.AttrName).(string)
			line, _ := e.Val(dwarf.AttrDeclLine).(int64)
			if name != "" {
				abstract[e.Offset] = fn{name, int(line)}
			}
			rs, err := d.Ranges(e)
			if err != nil {
				return nil, err
			}
			if len(rs) == 0 {
				break
			}
			o, _ := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset)
			f := fn{name, int(line)}
			if e.Tag == dwarf.TagSubprogram && depth == 0 {
				in.tops = append(in.tops, top{ranges: rs, fn: f})
				cur = len(in.tops) - 1
				if name == "" {
					in.tops[cur].fn = fn{"\x00" + strconv.Itoa(int(o)), 0}
				}
				break
			}
			if cur < 0 {
				break
			}
			for _, x := range rs {
				in.tops[cur].inner = append(in.tops[cur].inner, span{x[0], x[1], depth, f})
				if name == "" {
					in.tops[cur].inner[len(in.tops[cur].inner)-1].name = "\x00" + strconv.Itoa(int(o))
				}
			}
		}
		if e.Children {
			stack = append(stack, counted)
			if counted {
				depth++
			}
		}
	}
	resolve := func(f fn) fn {
		if rest, ok := strings.CutPrefix(f.name, "\x00"); ok {
			o, _ := strconv.Atoi(rest)
			return abstract[dwarf.Offset(o)]
		}
		return f
	}
	for i := range in.tops {
		t := &in.tops[i]
		t.fn = resolve(t.fn)
		for j := range t.inner {
			t.inner[j].fn = resolve(t.inner[j].fn)
		}
		for _, x := range t.ranges {
			in.spans = append(in.spans, span{x[0], x[1], 0, fn{"", i}})
		}
	}
	sort.Slice(in.spans, func(i, j int) bool { return in.spans[i].lo < in.spans[j].lo })
	return in, nil
}

// at is the innermost function at pc: the one whose code, inlined or
// not, holds the instruction.
func (in *inlining) at(pc uint64) (fn, bool) {
	i := sort.Search(len(in.spans), func(i int) bool { return in.spans[i].lo > pc }) - 1
	if i < 0 || pc >= in.spans[i].hi {
		return fn{}, false
	}
	t := &in.tops[in.spans[i].declLine]
	best, depth := t.fn, 0
	for _, s := range t.inner {
		if pc >= s.lo && pc < s.hi && s.depth > depth {
			best, depth = s.fn, s.depth
		}
	}
	return best, best.name != ""
}

// lineTable maps addresses to lines (of the innermost inlined function).
type lineTable struct {
	addr []uint64
	line []int
}

func readLines(d *dwarf.Data) (*lineTable, error) {
	type row struct {
		a uint64
		l int
	}
	var rows []row
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
			continue
		}
		lr, err := d.LineReader(e)
		if err != nil {
			return nil, err
		}
		if lr != nil {
			var le dwarf.LineEntry
			for lr.Next(&le) == nil {
				l := le.Line
				if le.EndSequence {
					l = 0
				}
				rows = append(rows, row{le.Address, l})
			}
		}
		r.SkipChildren()
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].a < rows[j].a })
	t := &lineTable{}
	for _, x := range rows {
		t.addr = append(t.addr, x.a)
		t.line = append(t.line, x.l)
	}
	return t, nil
}

func (t *lineTable) at(pc uint64) (int, bool) {
	i := sort.Search(len(t.addr), func(i int) bool { return t.addr[i] > pc }) - 1
	if i < 0 || t.line[i] == 0 {
		return 0, false
	}
	return t.line[i], true
}

// profile is a pprof profile of two-frame samples, encoded by hand
// (profile.proto) to keep the module free of pprof's package.
type profile struct {
	strs    []string
	strIdx  map[string]int
	funcs   map[string]int // name -> function id
	fstart  []int          // by function id - 1
	fname   []int
	locs    map[[2]int]int // {function id, line} -> location id
	loc     [][2]int
	samples [][3]int64 // callee location, caller location, weight
}

func (p *profile) str(s string) int {
	if p.strIdx == nil {
		p.strIdx = map[string]int{"": 0}
		p.strs = []string{""}
	}
	if i, ok := p.strIdx[s]; ok {
		return i
	}
	p.strs = append(p.strs, s)
	p.strIdx[s] = len(p.strs) - 1
	return len(p.strs) - 1
}

func (p *profile) location(name string, start, line int) int {
	if p.funcs == nil {
		p.funcs, p.locs = map[string]int{}, map[[2]int]int{}
	}
	id, ok := p.funcs[name]
	if !ok {
		p.fname = append(p.fname, p.str(name))
		p.fstart = append(p.fstart, start)
		id = len(p.fname)
		p.funcs[name] = id
	}
	k := [2]int{id, line}
	if l, ok := p.locs[k]; ok {
		return l
	}
	p.loc = append(p.loc, k)
	p.locs[k] = len(p.loc)
	return len(p.loc)
}

func (p *profile) add(callee string, calleeStart, calleeLine int, caller string, callerStart, line int, n int64) {
	a := p.location(callee, calleeStart, calleeLine)
	b := p.location(caller, callerStart, line)
	p.samples = append(p.samples, [3]int64{int64(a), int64(b), n})
}

// period is what a sample stands for in the cpu/nanoseconds value, as
// in a Go CPU profile, so that pprof merges this profile with one.
const period = 10_000_000

func (p *profile) encode() []byte {
	var b pb
	samples, count, cpu, ns := p.str("samples"), p.str("count"), p.str("cpu"), p.str("nanoseconds")
	b.msg(1, func(m *pb) { m.int(1, samples); m.int(2, count) })
	b.msg(1, func(m *pb) { m.int(1, cpu); m.int(2, ns) })
	for _, s := range p.samples {
		b.msg(2, func(m *pb) {
			m.packed(1, []int64{s[0], s[1]})
			m.packed(2, []int64{s[2], s[2] * period})
		})
	}
	for i, l := range p.loc {
		b.msg(4, func(m *pb) {
			m.int(1, i+1)
			m.msg(4, func(ln *pb) { ln.int(1, l[0]); ln.int(2, l[1]) })
		})
	}
	for i := range p.fname {
		b.msg(5, func(m *pb) {
			m.int(1, i+1)
			m.int(2, p.fname[i])
			m.int(3, p.fname[i])
			m.int(5, p.fstart[i])
		})
	}
	for _, s := range p.strs {
		b.bytes(6, []byte(s))
	}
	b.msg(11, func(m *pb) { m.int(1, cpu); m.int(2, ns) })
	b.int(12, period)
	return b.b
}

// pb appends protocol buffer fields.
type pb struct{ b []byte }

func (b *pb) varint(v uint64) {
	for v >= 0x80 {
		b.b = append(b.b, byte(v)|0x80)
		v >>= 7
	}
	b.b = append(b.b, byte(v))
}

func (b *pb) int(field int, v int) {
	if v == 0 {
		return
	}
	b.varint(uint64(field) << 3)
	b.varint(uint64(v))
}

func (b *pb) bytes(field int, v []byte) {
	b.varint(uint64(field)<<3 | 2)
	b.varint(uint64(len(v)))
	b.b = append(b.b, v...)
}

func (b *pb) msg(field int, f func(*pb)) {
	var m pb
	f(&m)
	b.bytes(field, m.b)
}

func (b *pb) packed(field int, vs []int64) {
	var m pb
	for _, v := range vs {
		m.varint(uint64(v))
	}
	b.bytes(field, m.b)
}
