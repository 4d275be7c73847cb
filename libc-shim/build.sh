#!/usr/bin/env bash
# Builds the musl sysroot that Runikraft's C toolchain compiles and links
# against: sysroot/include (musl headers) and sysroot/lib (static libc,
# crt objects, and the cross gcc's compiler builtins), for riscv64.
#
# musl comes from Debian's source archive (apt-get source), not from
# upstream: the machines reach Debian's archive and nothing else.
# Re-running is a no-op while sysroot/.stamp matches what would be built.
set -euo pipefail

musl_version=1.2.3-1 # Debian source version of musl (bookworm)
cross=riscv64-linux-gnu-

cd "$(dirname "$0")/.."
root=$PWD
shim=$root/libc-shim
out=$root/sysroot
cache=${RUNIKRAFT_CACHE:-$HOME/.cache/runikraft}
src=$cache/src

log() { printf 'libc-shim: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v "${cross}gcc" >/dev/null ||
	die "${cross}gcc not found: install the Debian package gcc-riscv64-linux-gnu (install.sh does)"

# The stamp names everything the sysroot is made of, so a change to any of
# them (musl version, cross gcc, this script or its patches) rebuilds it.
shim_hash=$(cd "$shim" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
stamp="musl $musl_version
gcc $("${cross}gcc" --version | head -n1)
libc-shim $shim_hash"
current() {
	[ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] &&
		[ -f "$out/lib/libc.a" ] && [ -f "$out/lib/rcrt1.o" ] && [ -f "$out/include/stdio.h" ]
}
current && { log "sysroot is current (musl $musl_version)"; exit 0; }

# One build at a time: a second install.sh waits here, then finds the
# first one's sysroot current.
mkdir -p "$src"
exec 9>"$cache/libc-shim.lock"
flock 9
current && { log "sysroot is current (musl $musl_version)"; exit 0; }

# Fetch the source package once; dpkg-source -x verifies it against the .dsc.
dsc=$src/musl_${musl_version#*:}.dsc
if [ ! -f "$dsc" ]; then
	log "fetching Debian source package musl=$musl_version into $src"
	if ! (cd "$src" && apt-get source --download-only "musl=$musl_version") >"$cache/apt-source.log" 2>&1; then
		tail -n 20 "$cache/apt-source.log" >&2
		die "apt-get source could not fetch musl=$musl_version (Debian source package 'musl'). Check that /etc/apt has a deb-src entry for bookworm (install.sh adds one), that 'apt-get update' has run since, and that 'apt-cache showsrc musl' lists version $musl_version"
	fi
fi

# Everything is built in a temporary directory outside the tree and moved
# into place only when complete.
build=$(mktemp -d "${TMPDIR:-/tmp}/runikraft-libc-shim.XXXXXX")
trap 'rm -rf "$build"' EXIT
# --skip-patches: Debian's packaging (debian/) targets the host's musl
# package; only the upstream tree is used (1.2.3-1 has no patches anyway).
dpkg-source --skip-patches -x "$dsc" "$build/musl" >"$build/unpack.log" 2>&1 || {
	cat "$build/unpack.log" >&2
	die "dpkg-source could not unpack $dsc (remove $src to fetch it again)"
}
shopt -s nullglob
for p in "$shim"/patches/*.patch; do
	log "applying $(basename "$p")"
	patch -d "$build/musl" -p1 --fuzz=0 --quiet <"$p" || die "$(basename "$p") does not apply to musl $musl_version"
done
shopt -u nullglob

# Static only. -fPIC makes libc.a position independent (musl's configure
# then builds its archive from PIC objects), which static-pie needs.
stage=$build/sysroot
blog=$cache/musl-build.log
log "building musl $musl_version with ${cross}gcc (log: $blog)"
# (Chained with &&: set -e does not apply inside an if's condition.)
if ! (
	cd "$build/musl" &&
		./configure --target=riscv64-linux-musl CROSS_COMPILE="$cross" CC="${cross}gcc" \
			CFLAGS="-O2 -fPIC" --prefix=/ --includedir=/include --libdir=/lib \
			--disable-shared --disable-wrapper &&
		make -j"$(nproc)" &&
		make install DESTDIR="$stage"
) >"$blog" 2>&1; then
	tail -n 40 "$blog" >&2
	die "building musl failed (full log: $blog)"
fi

# Compiler builtins from the cross gcc, so a link needs nothing outside the
# sysroot but gcc's own freestanding headers.
libgcc=$("${cross}gcc" -print-libgcc-file-name)
[ -f "$libgcc" ] || die "${cross}gcc has no libgcc.a ($libgcc)"
cp "$libgcc" "$stage/lib/"
for f in libgcc_eh.a crtbeginS.o crtendS.o crtbeginT.o crtbegin.o crtend.o; do
	p=$("${cross}gcc" -print-file-name="$f")
	if [ -f "$p" ]; then
		cp "$p" "$stage/lib/"
	elif [ "$f" != libgcc_eh.a ]; then
		die "${cross}gcc has no $f"
	fi
done

# Swap in, stamp last: an interrupted run leaves no stamp, so the next run
# rebuilds rather than trusting a partial sysroot.
rm -rf "$out"
mv "$stage" "$out"
printf '%s\n' "$stamp" >"$out/.stamp.tmp"
mv "$out/.stamp.tmp" "$out/.stamp"
log "sysroot ready: $out ($(ls "$out/lib" | wc -l) files in lib/)"
