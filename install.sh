#!/usr/bin/env bash
# Sets up a Debian 12 machine for Runikraft and builds it, then does a job:
#
#   ./install.sh            set up, build, and boot the example (the main job)
#   ./install.sh test       set up, build, and run the whole test suite
#   ./install.sh long       the same with the long tests (RUNIKRAFT_LONG=1:
#                           whole C test suites through binfmt_misc; hours)
#   ./install.sh setup      set up and build only
#
# Idempotent: packages already installed and tools already built are left
# alone. Needs root (or sudo) only to install missing Debian packages.
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
job=${1:-example}

log() { printf 'install.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# debian_mirror prints the archive URI this machine already uses (one-line
# or deb822 sources), so added entries go to the same place.
debian_mirror() {
	local uri
	uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | grep -v security | awk '{print $2}' | head -n1)
	[ -n "$uri" ] || uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | awk '{print $2}' | head -n1)
	[ -n "$uri" ] && echo "$uri"
}

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: QEMU and OpenSBI to boot images, the riscv64 cross gcc
# for C apps and reference binaries, qemu-user as a reference runner;
# dpkg-dev unpacks source packages, make and cmake build them (gcc for
# build-machine helpers and tcl for SQLite's amalgamation, in the tests).
# The nested-KVM rig (internal/kvmrig, tests/kvm) fetches Debian riscv64
# packages with apt, checks them with debian-archive-keyring and
# decompresses kvm.ko with xz-utils. libvirt's daemon and virsh run
# images as libvirt domains (runikraft libvirt; tests/ship starts a
# daemon of its own and needs no service). gdb-multiarch debugs a guest
# (runikraft run --gdb). redis-tools is the host's redis-benchmark for
# go run ./bench/net (against Redis built from source in the guest), wrk
# the host's HTTP load for bench/nginx and bench/net's Go server.
# sqlite3 reads back, on the host, a database the guest's SQLite wrote on
# a 9p volume (tests/toolchain TestSQLite). iproute2 makes the tap that
# tests/app TestNetTap boots a guest on. flex, bison, bc, libssl-dev and
# libelf-dev build the benchmarks' Linux guest kernel from Debian's linux
# source (bench/internal/linuxguest).
packages=(qemu-system-misc opensbi gcc-riscv64-linux-gnu libc6-dev-riscv64-cross qemu-user cpio ca-certificates git
	dpkg-dev xz-utils make cmake gcc tcl debian-archive-keyring libvirt-daemon-system libvirt-clients gdb-multiarch redis-tools wrk sqlite3 iproute2
	flex bison bc libssl-dev libelf-dev)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	sudo_ apt-get update -qq
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# trixie's signing keys came to bookworm in debian-archive-keyring
# 2023.3+deb12u1; an older one cannot verify the nested-KVM rig's packages.
if [ ! -e /usr/share/keyrings/debian-archive-trixie-automatic.gpg ]; then
	log "upgrading debian-archive-keyring (trixie's keys, for the nested-KVM rig)"
	sudo_ apt-get update -qq
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --only-upgrade debian-archive-keyring >/dev/null
fi

# Source packages (musl for the sysroot, third-party code for the tests)
# come from the same archive through a deb-src entry, added if missing.
# (grep -q on the files themselves: a missing sources.list makes grep exit
# 2 even on a match, which a pipe under pipefail would turn into "no".)
has_deb_src() {
	grep -qsE '^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
		grep -qsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources
}
if ! has_deb_src; then
	mirror=$(debian_mirror) || die "cannot find the Debian mirror in /etc/apt to add a deb-src entry"
	log "adding a deb-src entry for $mirror bookworm (source packages)"
	# apt refuses two entries for one URI with different Signed-By values,
	# so reuse the keyring the deb822 entry names, if any.
	keyring=$(grep -hsE '^Signed-By:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | head -n1)
	echo "deb-src ${keyring:+[signed-by=$keyring] }$mirror bookworm main" | sudo_ tee /etc/apt/sources.list.d/runikraft-src.list >/dev/null
	sudo_ apt-get update -qq
fi

# Go: go.mod pins the toolchain; any Go >= 1.21 fetches that exact version
# through the module proxy (GOTOOLCHAIN=auto). Debian 12's own Go is older,
# so without a usable Go we take golang-1.23 from bookworm-backports.
find_go() {
	for g in go /usr/local/go/bin/go /usr/lib/go-1.23/bin/go; do
		if command -v "$g" >/dev/null 2>&1; then
			v=$("$g" env GOVERSION 2>/dev/null | sed 's/^go//') || continue
			case "$v" in 1.2[1-9]*|1.[3-9][0-9]*) echo "$(command -v "$g")"; return 0;; esac
		fi
	done
	return 1
}
if ! GO=$(find_go); then
	log "no Go >= 1.21 found: installing golang-1.23 from bookworm-backports"
	if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
		mirror=$(debian_mirror) || die "cannot find the Debian mirror in /etc/apt to add bookworm-backports"
		echo "deb $mirror bookworm-backports main" | sudo_ tee /etc/apt/sources.list.d/runikraft-backports.list >/dev/null
	fi
	sudo_ apt-get update -qq
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports golang-1.23-go >/dev/null
	GO=$(find_go) || die "could not install Go"
fi
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
export PATH="$(dirname "$GO"):$root/bin:$PATH"
log "using $(go version)"

go mod download
mkdir -p bin
log "building the tools into bin/"
# urfave_cli_no_docs leaves out the CLI library's Markdown and man-page
# writers, which nothing here calls and whose Markdown parser's package
# init took 7 ms of every runikraft start.
go build -tags urfave_cli_no_docs -o bin/ ./cmd/...
# runikraft itself without the OCI, Kubernetes and libvirt libraries (it
# starts QEMU sooner), and the full build as runikraft-ship, to which it
# hands pkg, push, pull, libvirt, kubevirt and OCI references (see
# cmd/runikraft/ship.go). The lite build is static (no cgo): a
# dynamically linked one spends milliseconds in the dynamic loader on
# every start.
go build -tags urfave_cli_no_docs -o bin/runikraft-ship ./cmd/runikraft
CGO_ENABLED=0 go build -tags runikraft_lite,urfave_cli_no_docs -o bin/runikraft ./cmd/runikraft
go build -o bin/runikraft-cc ./cc-wrapper
go build -o bin/runikraft-ld ./ld-wrapper
log "building the stock kernel bin/runikraft-kernel.img"
bin/runikraft build-kernel -o bin/runikraft-kernel.img
log "building the kernel with the TCP/IP stack bin/runikraft-kernel-net.img (for programs that use sockets)"
bin/runikraft build-kernel --tags runikraft_net -o bin/runikraft-kernel-net.img
log "building the kernel without the time-zone database bin/runikraft-kernel-notz.img (for programs that never read it)"
bin/runikraft build-kernel --tags runikraft_notz -o bin/runikraft-kernel-notz.img
log "building the musl sysroot sysroot/ (libc-shim/build.sh; a no-op when current)"
bash libc-shim/build.sh

# binfmt_misc: Runikraft images (what runikraft-cc, runikraft-ld and
# runikraft go build write, marked "RKAPP" in the ELF identification's
# padding) run through runikraft run, so configure's test programs and
# make check run as on a native machine. Other riscv64 programs are not
# ours: where Debian's qemu-user-binfmt (an entry qemu-riscv64) takes
# them, its entry does; otherwise a second entry gives them to
# runikraft-binfmt, which hands them to qemu-riscv64 (or says it is not
# installed), and still boots a Runikraft image that predates the mark.
# Where binfmt_misc cannot be used (an unprivileged container), configure
# needs --host=riscv64-linux-musl instead. Flag P (preserve-argv0): the
# program's own argv[0] reaches runikraft-binfmt after its path (Linux
# 5.12+ says so in AT_FLAGS), so "sed" in a test script stays "sed" in
# the guest's error messages, as with a native program; an entry
# registered without it is registered again.
binfmt_entry() { # name magic mask
	local dir=/proc/sys/fs/binfmt_misc interp=$root/bin/runikraft-binfmt want
	want=$(printf "$2" | od -An -tx1 | tr -d ' \n')
	if [ -e $dir/$1 ] && grep -qx "interpreter $interp" $dir/$1 && grep -qx "magic $want" $dir/$1 &&
		grep -qx "flags: P" $dir/$1; then
		return 0
	fi
	[ -e $dir/$1 ] && echo -1 | sudo_ tee $dir/$1 >/dev/null
	printf '%s' ":$1:M::$2:$3:$interp:P" | sudo_ tee $dir/register >/dev/null
}
register_binfmt() {
	local dir=/proc/sys/fs/binfmt_misc
	ln -sf runikraft bin/runikraft-binfmt
	[ -e $dir/register ] || sudo_ mount -t binfmt_misc binfmt_misc $dir 2>/dev/null || true
	if [ ! -w $dir/register ] && [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
		log "note: binfmt_misc is not usable here; run configure with --host=riscv64-linux-musl"
		return 0
	fi
	[ -e $dir/register ] || { log "note: binfmt_misc is not available; run configure with --host=riscv64-linux-musl"; return 0; }
	# ELF64, little-endian, version 1, (any OS ABI), ABI version 0, then
	# for ours the mark; ET_EXEC or ET_DYN, EM_RISCV (0xf3).
	local elf='\x7fELF\x02\x01\x01\x00\x00' tail='\x02\x00\xf3\x00'
	binfmt_entry runikraft-riscv64 "${elf}RKAPP\x00\x00${tail}" '\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\x00\x00\xfe\xff\xff\xff' ||
		{ log "note: registering with binfmt_misc failed; run configure with --host=riscv64-linux-musl"; return 0; }
	if [ -e $dir/qemu-riscv64 ]; then
		[ -e $dir/runikraft-riscv64-other ] && echo -1 | sudo_ tee $dir/runikraft-riscv64-other >/dev/null
		log "registered runikraft-binfmt for Runikraft images with binfmt_misc (other riscv64 programs: the qemu-riscv64 entry)"
		return 0
	fi
	binfmt_entry runikraft-riscv64-other "${elf}\x00\x00\x00\x00\x00\x00\x00${tail}" '\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff' ||
		{ log "note: registering the entry for other riscv64 programs failed; they will not run directly"; return 0; }
	log "registered runikraft-binfmt with binfmt_misc: Runikraft images boot in the unikernel, other riscv64 programs run with qemu-riscv64"
}
register_binfmt

case "$job" in
setup)
	;;
example)
	log "building the example application examples/hello for linux/riscv64 -> bin/hello"
	GOOS=linux GOARCH=riscv64 CGO_ENABLED=0 go build -o bin/hello ./examples/hello
	log "booting it: bin/runikraft run bin/hello Runikraft"
	bin/runikraft run --timeout 2m bin/hello Runikraft
	;;
test | long)
	qemu_timeout=70m
	if [ "$job" = long ]; then
		export RUNIKRAFT_LONG=1
		qemu_timeout=6h
	fi
	log "vet"
	go vet ./...
	GOOS=linux GOARCH=riscv64 go vet ./kernel/...
	log "unit tests"
	go test -count=1 -timeout 20m $(go list ./... | grep -v /tests/)
	# One QEMU-heavy package at a time: they compare guest and host clocks
	# and time Go's own timer tests, which a doubly loaded host would skew.
	log "boot, application and standard-library tests in QEMU"
	go test -count=1 -p 1 -timeout $qemu_timeout ./tests/...
	;;
*)
	die "unknown job '$job' (want: example, test, long, setup)"
	;;
esac
