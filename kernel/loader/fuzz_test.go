package loader

import (
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// sparse is a file of size bytes that starts with data and is zero after
// it, so that small fuzz inputs can stand for large binaries.
type sparse struct {
	data []byte
	size int64
}

func (s sparse) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= s.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.size-off))
	clear(p[:n])
	if off < int64(len(s.data)) {
		copy(p[:n], s.data[off:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// FuzzParse feeds Parse real binaries, their truncations and mutations,
// and checks that it never panics, reports only FormatErrors for bad
// files, and that what it accepts plans into sane memory runs.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"raw-static", "raw-static-pie", "go", "c-static", "c-static-pie", "c-dynamic"} {
		b, err := build(name)
		if err != nil {
			continue // the unit tests report why
		}
		// Headers of big binaries, with the rest of the file as zeros.
		head := b[:min(len(b), 4096)]
		f.Add(head, uint32(len(b)-len(head)))
		if len(b) <= 16<<10 {
			f.Add(b, uint32(0))
		}
		for _, n := range []int{0, 1, 4, 16, 63, 64, 65, 100, 120, 200, 500, 1000} {
			if n < len(head) {
				f.Add(head[:n], uint32(0))
			}
		}
	}
	f.Add(synth(etExec, emRISCV, 0x10100, good(), 0x900), uint32(0))
	f.Add(synth(etDyn, emRISCV, 0x200, []ph{
		{ptLoad, rx, 0, 0, 0x1234, 0x1234, 0x1000},
		{ptLoad, rw, 0x1f00, 0x2f00, 0x100, 0x5000, 0x1000},
		{ptTLS, ro, 0x1f00, 0x2f00, 8, 16, 8},
	}, 0x2000), uint32(0))

	f.Fuzz(func(t *testing.T, data []byte, pad uint32) {
		size := int64(len(data)) + int64(pad)
		img, err := Parse(sparse{data, size}, size)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Msg == "" {
				t.Fatalf("error %v (%T) is not a FormatError", err, err)
			}
			return
		}
		base, err := img.PickBase(rand.NewChaCha8([32]byte{byte(len(data))}))
		if err != nil {
			t.Fatalf("PickBase: %v", err)
		}
		if err := img.CheckBase(base); err != nil {
			t.Fatalf("PickBase gave a base CheckBase refuses: %v", err)
		}
		checkRuns(t, img, base, uint64(size))
		aux := img.AuxVector(base)
		sp, mem := BuildStack(UserHighEnd, []string{"prog", "x"}, []string{"A=1"}, aux, [16]byte{}, "prog")
		if sp%16 != 0 || sp+uint64(len(mem)) != UserHighEnd {
			t.Fatalf("stack sp %#x len %d", sp, len(mem))
		}
	})
}

// checkRuns checks a plan without touching memory: page-aligned, sorted,
// disjoint runs inside the application's ranges, no W+X, every load's
// pages covered, every file byte copied once from inside the file.
func checkRuns(t *testing.T, img *Image, base, size uint64) {
	maps := img.Plan(base)
	if len(maps) == 0 {
		t.Fatal("empty plan")
	}
	var copied uint64
	for i, m := range maps {
		if m.Addr%PageSize != 0 || m.Len%PageSize != 0 || m.Len == 0 {
			t.Fatalf("run %d %#x+%#x not page-aligned", i, m.Addr, m.Len)
		}
		inLow := m.Addr >= UserLowStart && m.Addr+m.Len <= UserLowEnd
		inHigh := m.Addr >= UserHighStart && m.Addr+m.Len <= UserHighEnd
		if !inLow && !inHigh {
			t.Fatalf("run %d %#x+%#x outside the application's ranges", i, m.Addr, m.Len)
		}
		if m.Prot&ProtWrite != 0 && m.Prot&ProtExec != 0 {
			t.Fatalf("run %d at %#x is W+X", i, m.Addr)
		}
		if i > 0 && maps[i-1].Addr+maps[i-1].Len > m.Addr {
			t.Fatalf("runs %d and %d overlap", i-1, i)
		}
		for _, c := range m.Copies {
			if c.Addr < m.Addr || c.Addr+c.Len > m.Addr+m.Len || c.Len == 0 {
				t.Fatalf("copy %+v outside run %#x+%#x", c, m.Addr, m.Len)
			}
			if c.FileOff+c.Len > size || c.FileOff+c.Len < c.FileOff {
				t.Fatalf("copy %+v reads past the %d-byte file", c, size)
			}
			copied += c.Len
		}
	}
	var filesz uint64
	bias := img.Bias(base)
	for _, s := range img.Segments {
		filesz += s.Filesz
		lo, hi := pageDown(s.Vaddr)+bias, pageUp(s.End())+bias
		for _, m := range maps {
			if m.Addr <= lo && lo < m.Addr+m.Len {
				lo = m.Addr + m.Len
			}
		}
		if lo < hi {
			t.Fatalf("segment %d: [%#x, %#x) not mapped", s.Index, lo, hi)
		}
	}
	if copied != filesz {
		t.Fatalf("plan copies %d bytes, the loads have %d", copied, filesz)
	}
}
