//go:build riscv64

// Command rng is a kernel image that checks the entropy path: package
// kernel reseeds the kernel's generator from virtio-rng, crypto/rand
// output looks random, and the virtio-rng driver returns data. It prints
// "rng: ok" and exits 0 if every check passed, else exits 1.
//
// Without a virtio-rng device it checks crypto/rand only and says so
// ("rng: no virtio-rng device").
package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/runikraft/runikraft/kernel"
	"github.com/runikraft/runikraft/kernel/drivers/virtio"
	"github.com/runikraft/runikraft/kernel/drivers/virtio/rng"
	"github.com/runikraft/runikraft/kernel/hart"
)

func main() {
	for _, d := range kernel.Devices() {
		fmt.Println("rng: found", d)
	}
	_, haveRNG := virtio.Find(virtio.IDEntropy)
	fmt.Printf("rng: seeded=%v\n", hart.Seeded())

	failed := false
	check := func(name string, err error) {
		if err != nil {
			fmt.Printf("rng: FAIL %s: %v\n", name, err)
			failed = true
			return
		}
		fmt.Printf("rng: ok %s\n", name)
	}
	if haveRNG && !hart.Seeded() {
		check("seeded", errors.New("virtio-rng is present but the kernel is not seeded"))
	}
	check("crypto/rand", cryptoRand())
	if haveRNG {
		check("virtio-rng", device())
	} else {
		fmt.Println("rng: no virtio-rng device")
		if _, err := rng.Read(make([]byte, 1)); !errors.Is(err, rng.ErrNoDevice) {
			check("no device", fmt.Errorf("rng.Read without a device: %v", err))
		}
	}
	if failed {
		os.Exit(1)
	}
	fmt.Println("rng: ok")
}

// cryptoRand reads 1 MiB and checks its byte histogram, and that two
// small reads differ.
func cryptoRand() error {
	a, b := make([]byte, 32), make([]byte, 32)
	rand.Read(a)
	rand.Read(b)
	if bytes.Equal(a, b) {
		return fmt.Errorf("two 32-byte reads are equal: %x", a)
	}
	big := make([]byte, 1<<20)
	start := time.Now()
	rand.Read(big)
	took := time.Since(start)
	chi := chiSquare(big)
	fmt.Printf("rng: crypto/rand 1 MiB in %v, chi-square %.1f (255 degrees of freedom)\n", took.Round(time.Millisecond), chi)
	return chiBounds(chi)
}

// device reads 4096 bytes from the driver, twice, concurrently.
func device() error {
	bufs := [2][]byte{make([]byte, 4096), make([]byte, 4096)}
	errs := make(chan error, 2)
	start := time.Now()
	for _, p := range bufs {
		go func() {
			n, err := rng.Read(p)
			if err == nil && n != len(p) {
				err = fmt.Errorf("read %d bytes, want %d", n, len(p))
			}
			errs <- err
		}()
	}
	if err := errors.Join(<-errs, <-errs); err != nil {
		return err
	}
	took := time.Since(start)
	if bytes.Equal(bufs[0], bufs[1]) {
		return errors.New("two 4096-byte reads are equal")
	}
	chi := chiSquare(bufs[0])
	fmt.Printf("rng: virtio-rng 2x4096 bytes in %v, chi-square %.1f, first bytes %x\n", took.Round(time.Microsecond), chi, bufs[0][:8])
	return chiBounds(chi)
}

// chiSquare is the statistic of b's byte histogram against the uniform
// distribution: about 255 ± 23 for random bytes.
func chiSquare(b []byte) float64 {
	var hist [256]int
	for _, c := range b {
		hist[c]++
	}
	want := float64(len(b)) / 256
	chi := 0.0
	for _, n := range hist {
		d := float64(n) - want
		chi += d * d / want
	}
	return chi
}

// chiBounds accepts what uniform random bytes give except with
// probability around 1e-7: constant or patterned data lands far outside.
func chiBounds(chi float64) error {
	if chi < 150 || chi > 400 {
		return fmt.Errorf("chi-square %.1f outside [150, 400]: bytes do not look uniform", chi)
	}
	return nil
}
