package tblog

import "testing"

// Split: machine mode before the kernel is firmware, after it SBI;
// supervisor mode before the first user block is the kernel's boot, after
// it the kernel's answers to the application.
func TestSplit(t *testing.T) {
	blocks := []Block{{3, 0x1000}, {3, 0x1004}, {1, 0x80200000}, {3, 0x1008}, {1, 0x80200010}, {0, 0x10000}, {1, 0x80200020}, {0, 0x10010}}
	got := Split(blocks)
	want := Phases{Firmware: 2, KernelBoot: 2, App: 2, KernelAfter: 1, SBI: 1}
	if got != want {
		t.Fatalf("Split = %+v, want %+v", got, want)
	}
	if got.Total() != len(blocks) {
		t.Fatalf("Total = %d, want %d", got.Total(), len(blocks))
	}
}
