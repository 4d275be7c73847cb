package fdt

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// testdataBlobs returns every .dtb in testdata, by name.
func testdataBlobs(t testing.TB) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.dtb"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	return out
}

// checkResult fails on ErrInternal (a read that slipped past the explicit
// checks) and, on success, on a Machine that breaks its own invariants.
func checkResult(t testing.TB, blob []byte, m *Machine, e int) {
	t.Helper()
	if e == ErrInternal {
		t.Fatalf("ErrInternal: a bounds check is missing")
	}
	if s := ErrorString(e); s == "" || strings.Contains(s, "unknown") {
		t.Fatalf("undocumented code %d", e)
	}
	if e != OK {
		return
	}
	if m.NMem < 0 || m.NMem > MaxMem || m.NReserved < 0 || m.NReserved > MaxReserved ||
		m.NVirtio < 0 || m.NVirtio > MaxVirtio || m.ISALen < 0 || m.ISALen > MaxISA {
		t.Fatalf("counts out of range: %+v", m)
	}
	if uint64(m.TotalSize) > uint64(len(blob)) {
		t.Fatalf("TotalSize %d > len %d", m.TotalSize, len(blob))
	}
	start := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(blob))))
	for _, r := range []Range{m.RNGSeed, m.Bootargs} {
		if r.Size != 0 && (r.Base < start || r.Base+r.Size > start+uint64(m.TotalSize)) {
			t.Fatalf("range %+v outside blob", r)
		}
	}
	all := append(append([]Range{m.Initrd}, m.Mem[:m.NMem]...), m.Reserved[:m.NReserved]...)
	for _, d := range append([]Device{m.UART, m.PLIC, m.Test, m.RTC}, m.Virtio[:m.NVirtio]...) {
		all = append(all, Range{d.Base, d.Size})
	}
	for _, r := range all {
		if r.Base+r.Size < r.Base {
			t.Fatalf("range %+v overflows", r)
		}
	}
}

// TestTruncated cuts every file at every length: each cut must fail with
// ErrTruncated, and never read past the cut.
func TestTruncated(t *testing.T) {
	for name, blob := range testdataBlobs(t) {
		g := newGuard(t, len(blob))
		for n := 0; n <= len(blob); n++ {
			b := g.place(blob[:n])
			var m Machine
			e := ParseBytes(b, &m)
			checkResult(t, b, &m, e)
			want := ErrTruncated
			if n == len(blob) {
				want = OK
			}
			if e != want {
				t.Fatalf("%s cut at %d: %d (%s), want %d", name, n, e, ErrorString(e), want)
			}
		}
	}
}

// TestCorrupted overwrites single bytes: exhaustively (every offset, a few
// values) for one file, randomly with a fixed seed for all of them.
func TestCorrupted(t *testing.T) {
	blobs := testdataBlobs(t)
	codes := map[int]int{}
	run := func(g *guard, blob []byte, off int, v byte) {
		b := g.place(blob)
		b[off] = v
		var m Machine
		e := ParseBytes(b, &m)
		checkResult(t, b, &m, e)
		codes[e]++
	}

	blob := blobs["virt-rng-initrd.dtb"]
	g := newGuard(t, len(blob))
	for off := range blob {
		for _, v := range []byte{0, 0xff, blob[off] + 1, blob[off] ^ 0x80, blob[off] - 1} {
			run(g, blob, off, v)
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	names := make([]string, 0, len(blobs))
	guards := map[string]*guard{}
	for n, b := range blobs {
		names = append(names, n)
		guards[n] = newGuard(t, len(b))
	}
	slices.Sort(names) // map order is random; the seed must decide alone
	for i := 0; i < 5000; i++ {
		n := names[rng.IntN(len(names))]
		blob := blobs[n]
		run(guards[n], blob, rng.IntN(len(blob)), byte(rng.UintN(256)))
	}
	t.Logf("result codes: %v", codes)
}

// FuzzParse checks that no input panics, reads past its end or slips past
// the explicit bounds checks. Run it with
//
//	go test -run=NONE -fuzz=FuzzParse -fuzzminimizetime=2s ./kernel/fdt/
//
// The short minimize time matters: minimizing a multi-kilobyte DTB is
// quadratic in the fuzzer, and with the default 60s the run seems stuck
// ("execs" frozen) each time new coverage turns up.
func FuzzParse(f *testing.F) {
	for _, b := range testdataBlobs(f) {
		f.Add(b)
	}
	g := newGuard(f, 1<<20)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		b := g.place(data)
		var m Machine
		checkResult(t, b, &m, ParseBytes(b, &m))
	})
}

// TestLinearTime feeds blobs where many properties share one long name: the
// name scan is capped, so the walk stays linear in the blob size.
func TestLinearTime(t *testing.T) {
	for _, tc := range []struct {
		nameLen int
		want    int
	}{
		{maxPropName, OK},
		{maxPropName + 1, ErrName},
		{200000, ErrName},
	} {
		b := newBuilder().begin("")
		name := strings.Repeat("x", tc.nameLen)
		for i := 0; i < 50000; i++ {
			b.prop(name, nil)
		}
		blob := b.end().bytes()
		start := time.Now()
		var m Machine
		if e := ParseBytes(blob, &m); e != tc.want {
			t.Errorf("name length %d: %d (%s), want %d", tc.nameLen, e, ErrorString(e), tc.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("name length %d: took %v", tc.nameLen, d)
		}
	}
}
