package toolchain

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CMakeFileName is the toolchain file runikraft writes into the sysroot.
const CMakeFileName = "runikraft.cmake"

// ToolPaths are the programs and directories handed to build systems.
type ToolPaths struct {
	BinDir  string // runikraft, runikraft-cc, runikraft-ld
	Sysroot string
	Prefix  string // cross binutils prefix, e.g. /usr/bin/riscv64-linux-gnu-
}

// FindToolPaths locates what build systems need on this host.
func FindToolPaths(h Host) (ToolPaths, error) {
	s, err := h.Sysroot()
	if err != nil {
		return ToolPaths{}, err
	}
	gcc, err := h.CrossGCC()
	if err != nil {
		return ToolPaths{}, err
	}
	return ToolPaths{BinDir: h.BinDir(), Sysroot: s, Prefix: ToolPrefix(gcc)}, nil
}

func (t ToolPaths) bin(name string) string { return filepath.Join(t.BinDir, name) }

// cmakeQuote makes s one quoted CMake argument.
func cmakeQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(s) + `"`
}

// CMakeToolchain is the content of the CMake toolchain file.
func CMakeToolchain(t ToolPaths) string {
	q := cmakeQuote
	var b strings.Builder
	fmt.Fprintf(&b, `# CMake toolchain file for Runikraft unikernel applications (riscv64, musl).
# Written by 'runikraft toolchain cmake', which rewrites it when stale:
#   cmake -DCMAKE_TOOLCHAIN_FILE="$(runikraft toolchain cmake)" ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR riscv64)

set(CMAKE_C_COMPILER %s)
set(CMAKE_AR %s CACHE FILEPATH "Archiver")
set(CMAKE_RANLIB %s CACHE FILEPATH "Ranlib")
set(CMAKE_C_COMPILER_AR %s CACHE FILEPATH "LTO archiver")
set(CMAKE_C_COMPILER_RANLIB %s CACHE FILEPATH "LTO ranlib")
set(CMAKE_STRIP %s CACHE FILEPATH "Strip")
set(CMAKE_NM %s CACHE FILEPATH "nm")
set(CMAKE_OBJCOPY %s CACHE FILEPATH "objcopy")
set(CMAKE_OBJDUMP %s CACHE FILEPATH "objdump")
set(CMAKE_READELF %s CACHE FILEPATH "readelf")
# The plain linker, for projects that run it themselves (ld -r);
# executables are linked by runikraft-cc.
set(CMAKE_LINKER %s CACHE FILEPATH "Linker")

# No CMAKE_SYSROOT: runikraft-cc puts the sysroot's headers and libraries
# on every command itself. Packages and libraries come only from it.
set(CMAKE_FIND_ROOT_PATH %s)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} %s)
set(ENV{PKG_CONFIG_SYSROOT_DIR} %s)

# Test programs (ctest, try_run) boot in the unikernel on QEMU.
set(CMAKE_CROSSCOMPILING_EMULATOR %s)
# Applications are static-pie: everything is compiled -fPIE anyway.
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

# No shared libraries in a unikernel: add_library(... SHARED) and
# BUILD_SHARED_LIBS build static ones (CMake says so with a warning).
# Linux's platform files set the property to TRUE after this file is
# read, so the file names itself as the rules override, read after them.
set(BUILD_SHARED_LIBS OFF CACHE BOOL "Build shared libraries (a unikernel has none)")
set_property(GLOBAL PROPERTY TARGET_SUPPORTS_SHARED_LIBS FALSE)
set(CMAKE_USER_MAKE_RULES_OVERRIDE "${CMAKE_CURRENT_LIST_FILE}")

# C++ is not supported yet. project() enables CXX unless told otherwise,
# so the entry must configure: it is runikraft-cc, taken as is (no test
# compile), which refuses every C++ source with a message saying so,
# instead of the host's x86 c++ failing at the link.
set(CMAKE_CXX_COMPILER %s)
set(CMAKE_CXX_COMPILER_ID GNU)
set(CMAKE_CXX_COMPILER_ID_RUN TRUE)
set(CMAKE_CXX_COMPILER_FORCED TRUE)
`,
		q(t.bin("runikraft-cc")),
		q(t.Prefix+"ar"), q(t.Prefix+"ranlib"),
		q(t.Prefix+"gcc-ar"), q(t.Prefix+"gcc-ranlib"),
		q(t.Prefix+"strip"), q(t.Prefix+"nm"), q(t.Prefix+"objcopy"),
		q(t.Prefix+"objdump"), q(t.Prefix+"readelf"), q(t.Prefix+"ld"),
		q(t.Sysroot),
		q(filepath.Join(t.Sysroot, "lib", "pkgconfig")), q(t.Sysroot),
		q(t.bin("runikraft")+";run"),
		q(t.bin("runikraft-cc")))
	return b.String()
}

// WriteCMakeToolchain writes the toolchain file into the sysroot unless it
// is already up to date, and returns its path.
func WriteCMakeToolchain(t ToolPaths) (string, error) {
	path := filepath.Join(t.Sysroot, CMakeFileName)
	want := []byte(CMakeToolchain(t))
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
		return path, nil
	}
	tmp, err := os.CreateTemp(t.Sysroot, "."+CMakeFileName+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = tmp.Write(want)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// EnvScript is a shell script of export lines that points autoconf-style
// builds at the toolchain: eval "$(runikraft toolchain env)".
func EnvScript(t ToolPaths) string {
	vars := [][2]string{
		{"CC", t.bin("runikraft-cc")},
		{"LD", t.bin("runikraft-ld")},
		{"AR", t.Prefix + "ar"},
		{"RANLIB", t.Prefix + "ranlib"},
		{"STRIP", t.Prefix + "strip"},
		{"NM", t.Prefix + "nm"},
		{"OBJCOPY", t.Prefix + "objcopy"},
		{"OBJDUMP", t.Prefix + "objdump"},
		{"READELF", t.Prefix + "readelf"},
		{"PKG_CONFIG_LIBDIR", filepath.Join(t.Sysroot, "lib", "pkgconfig")},
		{"PKG_CONFIG_SYSROOT_DIR", t.Sysroot},
	}
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v[0], ShellQuote(v[1]))
	}
	return b.String()
}
