package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/runikraft/runikraft/internal/appimage"
	rkimage "github.com/runikraft/runikraft/internal/image"
)

// QEMUUser is qemu-user's riscv64 emulator, which runs riscv64 Linux
// programs that are not Runikraft's when binfmt_misc hands them to us.
const QEMUUser = "qemu-riscv64"

// binfmtDispatch runs a program binfmt_misc handed to runikraft-binfmt
// (args is PATH ARGS, or PATH ARGV0 ARGS when preserved) that is not a
// Runikraft image: with qemu-riscv64,
// as Debian's qemu-user-binfmt would; else it says what to do. Only
// Runikraft images (application images from runikraft-cc, runikraft-ld
// and runikraft go build, and Runikraft kernels) boot in the unikernel:
// a developer's riscv64 chroot or container keeps working. It returns
// false for a Runikraft image, which runikraft run takes.
func binfmtDispatch(args []string, preserved bool, stderr io.Writer) (handled bool, code int) {
	if len(args) == 0 || ours(args[0]) {
		return false, 0
	}
	qemu, err := exec.LookPath(QEMUUser)
	if err != nil {
		fmt.Fprintf(stderr, "runikraft: %s is a riscv64 program not built for Runikraft (not an image from runikraft-cc or runikraft go build), and %s is not installed to run it: install Debian's qemu-user, or boot it in the unikernel with runikraft run %[1]s\n", args[0], QEMUUser)
		return true, 126
	}
	argv0, rest := filepath.Base(args[0]), args[1:]
	if preserved && len(args) > 1 {
		argv0, rest = args[1], args[2:]
	}
	// exec, not a child: the program keeps our pid, signals and status.
	err = syscall.Exec(qemu, append([]string{QEMUUser, "-0", argv0, args[0]}, rest...), os.Environ())
	fmt.Fprintf(stderr, "runikraft: starting %s for %s: %v\n", qemu, args[0], err)
	return true, 126
}

// ours reports whether path is a Runikraft image: an application image
// (its mark or its manifest) or a Runikraft kernel. Unreadable files are
// left to runikraft run, which explains the problem.
func ours(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	var id [16]byte
	_, err = f.ReadAt(id[:], 0)
	f.Close()
	if err != nil {
		return true
	}
	if string(id[appimage.IdentMarkOffset:appimage.IdentMarkOffset+len(appimage.IdentMark)]) == appimage.IdentMark {
		return true
	}
	if _, err = appimage.Read(path); err == nil || errors.Is(err, appimage.ErrNotApp) {
		return true
	}
	// A machine image (linked in RAM) is no Linux program either.
	bare, err := rkimage.IsMachineImage(path)
	return err != nil || bare
}

// preservedArgv0 reports whether binfmt_misc started us with the
// program's own argv[0] after its path (the entry's P flag, which
// install.sh sets): Linux says so in the auxiliary vector, AT_FLAGS bit
// AT_FLAGS_PRESERVE_ARGV0 (Linux 5.12 and later; older ones never set
// it, and then the entry gets no P either).
func preservedArgv0() bool {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return false
	}
	return auxvFlag(b, atFlags, atFlagsPreserveArgv0)
}

const (
	atFlags              = 8 // AT_FLAGS
	atFlagsPreserveArgv0 = 1 // AT_FLAGS_PRESERVE_ARGV0
)

// auxvFlag reports whether the auxiliary vector auxv (native-endian
// pairs of words, as /proc/self/auxv gives them) has entry key with bit
// set.
func auxvFlag(auxv []byte, key, bit uint64) bool {
	const word = 8
	for i := 0; i+2*word <= len(auxv); i += 2 * word {
		k := binary.NativeEndian.Uint64(auxv[i:])
		v := binary.NativeEndian.Uint64(auxv[i+word:])
		if k == 0 {
			break
		}
		if k == key {
			return v&bit != 0
		}
	}
	return false
}
