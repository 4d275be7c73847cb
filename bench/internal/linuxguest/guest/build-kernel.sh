#!/bin/bash
# Builds the benchmarks' Linux guest kernel: Debian 12's linux source
# package (6.1), tinyconfig plus guest.config, into $1 (the cache
# directory). Run by bench/internal/linuxguest.Ensure; it writes
# $1/Image only when the build succeeded, and logs to $1/build.log.
set -euo pipefail
out=${1:?usage: build-kernel.sh CACHEDIR}
here=$(cd "$(dirname "$0")" && pwd)
jobs=${RUNIKRAFT_LINUX_JOBS:-2}
mkdir -p "$out/src"
cd "$out/src"
src=$(ls -d linux-6.1.*/ 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$src" ] || [ ! -f "$src/Makefile" ]; then
	echo "linuxguest: fetching Debian's linux source package (about 140 MB)"
	apt-get source -q linux
	src=$(ls -d linux-6.1.*/ | sort -V | tail -1)
fi
src=$out/src/${src%/}
build=$out/build
mkdir -p "$build"
mk() { make -C "$src" O="$build" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- "$@"; }
mk tinyconfig
# merge_config.sh re-runs olddefconfig and reports any option that did not
# stick (a dependency missing), which check-config below turns into an error.
(cd "$build" && "$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$here/guest.config")
mk olddefconfig
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		if ! grep -qx -- "$line" "$build/.config"; then
			echo "linuxguest: $line did not stick" >&2
			missing=1
		fi
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		if grep -q "^$opt=" "$build/.config"; then
			echo "linuxguest: $opt is set, want unset" >&2
			missing=1
		fi
		;;
	esac
done <"$here/guest.config"
[ "$missing" = 0 ]
mk -j"$jobs" Image
cp "$build/arch/riscv/boot/Image" "$out/Image.tmp"
mv "$out/Image.tmp" "$out/Image"
basename "$src" >"$out/version"
echo "linuxguest: built $out/Image from $(basename "$src")"
