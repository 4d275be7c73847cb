//go:build riscv64

package hart

// Implemented in entry_riscv64.s and csr_riscv64.s.

func entry()
func trapVector()
func resume()
func entryAddr() uintptr
func trapVectorAddr() uintptr
func setSATP(v uint64)
func sfence()
func setTrapVector(vec, scratch uintptr)
func wfi()
func sbicall(ext, fid, a0, a1, a2 uint64) (err, val uint64)
func saveFP(fr uintptr)
func loadFP(fr uintptr)
func fenceI()
