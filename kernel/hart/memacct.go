//go:build riscv64

package hart

import (
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/mm"
)

// Where the kernel's pages go, for the memory account runikraft run
// --debug prints (kernel/cmd/kernel): counters the allocating paths keep
// under bkl. Page tables are counted by the table itself (kpt.Pages).
var (
	kernelResident uint64 // pages backing the kernel runtime's mappings
	stackPages     uint64 // the hart layer's own stacks (main, trap, emergency)
	dmaPages       uint64 // device memory (AllocDMA), never freed
	userPeak       uint64 // userResident's high-water mark
)

// noteUserPage counts one more page backing the application.
//
//go:nosplit
func noteUserPage() {
	userResident++
	if userResident > userPeak {
		userPeak = userResident
	}
}

// memStatsWords is how many words memStats writes (MemStats's size).
const memStatsWords = 18

// memStats answers sysRKMemStats: MemStats at p, word by word in its
// field order.
//
//go:nosplit
func memStats(p uintptr) int64 {
	if !backed(p, memStatsWords*8, true) {
		return -int64(linux.EFAULT)
	}
	inUse, total := frames.Stats()
	const pg = mm.PageSize
	put64(p, inUse*pg)
	put64(p+8, total*pg)
	put64(p+16, uint64(kspace.areas.Len()))
	put64(p+24, uint64(nthreads))
	put64(p+32, userResident*pg)
	put64(p+40, frames.Spare()*pg)
	put64(p+48, kpt.Pages()*pg)
	put64(p+56, stackPages*pg)
	put64(p+64, kernelResident*pg)
	put64(p+72, dmaPages*pg)
	put64(p+80, userPeak*pg)
	put64(p+88, frames.Reserve()*pg)
	put64(p+96, uint64(pageUp(uintptr(bootInfo[biTextEnd]))-imageLow()))
	put64(p+104, uint64(pageUp(uintptr(bootInfo[biRodataEnd]))-pageDown(uintptr(bootInfo[biRodataStart]))))
	put64(p+112, uint64(pageUp(uintptr(bootInfo[biImageEnd]))-pageDown(uintptr(bootInfo[biDataStart]))))
	put64(p+120, ramBytes)
	put64(p+128, uint64(hartTableBytes))
	put64(p+136, tablePages*pg)
	return 0
}

// hartTableBytes is what the hart layer's fixed tables take of the
// image's data and .bss (the lazily backed ones are in tablePages).
const hartTableBytes = unsafe.Sizeof(runq) + unsafe.Sizeof(emergFrames) + unsafe.Sizeof(adoptedPages) + unsafe.Sizeof(earlyStack)

// MemStats is memStatsWords words, in the order memStats writes them.
var _ = [1]struct{}{}[unsafe.Sizeof(MemStats{})-memStatsWords*8]
