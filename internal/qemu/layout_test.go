package qemu

import "testing"

func TestLayoutFits(t *testing.T) {
	const kernel = 0x8020_0000
	small := Layout{KernelLo: kernel, KernelHi: kernel + 4<<20}
	if !small.Fits(32) || small.NeedMiB() > 16 {
		t.Errorf("a 4 MiB kernel alone: fits in 32 MiB %v, needs %d MiB", small.Fits(32), small.NeedMiB())
	}
	// Seen: a 13.9 MiB initrd with -m 32M ran into the device tree
	// (initrd at 0x81200000-0x81eee200, fdt at 0x81e00000).
	l := Layout{KernelLo: kernel, KernelHi: 0x8059c3a0, InitrdSize: 0xcee200}
	if l.Fits(32) {
		t.Error("13.9 MiB initrd fits in 32 MiB")
	}
	need := l.NeedMiB()
	if need < 33 || need > 40 || !l.Fits(need) || l.Fits(need-1) {
		t.Errorf("NeedMiB = %d", need)
	}
	// From 256 MiB up the initrd sits at +128 MiB.
	big := Layout{KernelLo: kernel, KernelHi: kernel + 4<<20, InitrdSize: 200 << 20}
	if big.Fits(256) || !big.Fits(400) {
		t.Errorf("200 MiB initrd: fits 256 MiB %v, 400 MiB %v", big.Fits(256), big.Fits(400))
	}
	if n := big.NeedMiB(); n < 331 || n > 334 {
		t.Errorf("200 MiB initrd needs %d MiB, want about 2+128+200+2", n)
	}
	// A kernel larger than half of RAM leaves no room before the initrd.
	fat := Layout{KernelLo: kernel, KernelHi: kernel + 40<<20, InitrdSize: 1 << 20}
	if fat.Fits(64) || !fat.Fits(128) {
		t.Errorf("40 MiB kernel: fits 64 MiB %v, 128 MiB %v", fat.Fits(64), fat.Fits(128))
	}
	if (Layout{KernelLo: 0x1000, KernelHi: 0x2000}).NeedMiB() != 0 {
		t.Error("a kernel below RAM fits somewhere")
	}
}
