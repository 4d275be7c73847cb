#!/bin/sh
# pgo.sh regenerates default.pgo, the profile go build uses for
# profile-guided optimisation of this package (the kernel runikraft
# build-kernel builds): the CPU profile of kernel/net/netposix's
# BenchmarkRequestResponse run on the host. Go matches a profile by
# function name and line offset, so the host's (amd64) profile of the
# portable network path applies to the riscv64 kernel. Rerun it when
# that path changes much (a stale profile only optimises less).
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# GOOS and GOARCH empty: the benchmark runs on the host.
(cd ../../net/netposix && GOOS= GOARCH= go test -run '^$' -bench '^BenchmarkRequestResponse$' \
	-benchtime 4s -count 1 -cpuprofile "$tmp/cpu.prof" -o "$tmp/netposix.test" .)
cp "$tmp/cpu.prof" default.pgo
ls -l default.pgo
