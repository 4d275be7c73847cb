package posix

import (
	"fmt"
	"sync"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// memState is the application's heap (brk) and its shared file
// mappings; the hart layer keeps the page tables.
type memState struct {
	cpu      CPU
	mu       sync.Mutex
	brkStart uintptr
	brk      uintptr
	shared   []*sharedMap // MAP_SHARED file mappings (sharedmap.go)
}

func (m *memState) init(cpu CPU, brkStart uintptr) error {
	if brkStart%linux.PageSize != 0 {
		return fmt.Errorf("brk start %#x is not page-aligned", brkStart)
	}
	m.cpu, m.brkStart, m.brk = cpu, brkStart, brkStart
	return nil
}

// pageUp rounds v up to a page.
func pageUp(v uint64) uint64 { return (v + linux.PageSize - 1) &^ (linux.PageSize - 1) }

// warnWX logs, once, that a W+X mapping was refused.
func (p *Process) warnWX() {
	if _, seen := p.reported.LoadOrStore("wx", true); !seen {
		p.logf("refused a writable and executable mapping (W^X)")
	}
}
