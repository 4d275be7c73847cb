#!/bin/sh
# pgo.sh regenerates the profiles go build uses for profile-guided
# optimisation of this package (the kernel runikraft build-kernel
# builds). Go matches a profile by function name and line offset, so a
# profile taken before a change still applies after it where the code
# did not move; rerun this when the hot path changes much (a stale
# profile only optimises less).
#
#	kernel/cmd/kernel/pgo.sh host   default.pgo, every kernel without networking
#	kernel/cmd/kernel/pgo.sh net    net.pgo, the kernel with networking (runikraft_net)
#
# host: the CPU profile of kernel/net/netposix's BenchmarkRequestResponse
# run on the host (amd64): gVisor's portable path only.
#
# net: the kernel's own calls, counted in the guest under TCG while
# Redis, nginx and the Go net/http server (bench/net/httpserver) serve
# the host's load: a kernel built without PGO (so that no call the
# current profile inlines is missing) and linked with its DWARF
# (RUNIKRAFT_KBUILD_ELF) runs each server under bench/netprof -edges
# (plugin/calledges.c counts each call site's callees), and
# bench/pgoprof maps the call sites to the innermost function and line
# through the DWARF and writes the edges as a pprof profile, each
# server weighing the same, the coldest edges that make up the last 10%
# of the calls left out (all of them grew the network kernel by 110 KB
# rather than 37 KB, for no fewer blocks run per request).
# internal/kbuild passes net.pgo to runikraft_net builds; the others
# keep default.pgo, which leaves the hello image's notz kernel as it
# was (net.pgo would grow it by 8 KB).
# Needs runikraft on PATH (netprof runs the servers with it), QEMU, the
# host's cc and redis-benchmark, and the images TestRedis and TestNginx
# keep with RUNIKRAFT_KEEP_IMAGES: REDIS_IMAGE=.../redis-server
# NGINX_IMAGE=.../nginx. Takes about 5 minutes.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "${1:-host}" in
host)
	# GOOS and GOARCH empty: the benchmark runs on the host.
	(cd ../../net/netposix && GOOS= GOARCH= go test -run '^$' -bench '^BenchmarkRequestResponse$' \
		-benchtime 4s -count 1 -cpuprofile "$tmp/cpu.prof" -o "$tmp/netposix.test" .)
	cp "$tmp/cpu.prof" default.pgo
	ls -l default.pgo
	;;
net)
	: "${REDIS_IMAGE:?REDIS_IMAGE: the redis-server image TestRedis kept}"
	: "${NGINX_IMAGE:?NGINX_IMAGE: the nginx image TestNginx kept}"
	cd ../../..
	GOFLAGS=-pgo=off RUNIKRAFT_KBUILD_ELF="$tmp/kernel.elf" \
		go run ./cmd/runikraft build-kernel --tags runikraft_net -o "$tmp/kernel.img"
	(cd bench/net/httpserver && CGO_ENABLED=0 GOOS=linux GOARCH=riscv64 go build -o "$tmp/httpserver" .)
	go build -o "$tmp/netprof" ./bench/netprof
	# One server at a time: each QEMU wants the whole of a core.
	"$tmp/netprof" -kernel "$tmp/kernel.img" -duration 6s -edges "$tmp/redis.edges" -redis "$REDIS_IMAGE"
	"$tmp/netprof" -kernel "$tmp/kernel.img" -duration 6s -edges "$tmp/nginx.edges" -image "$NGINX_IMAGE"
	"$tmp/netprof" -kernel "$tmp/kernel.img" -duration 6s -edges "$tmp/go.edges" -program "$tmp/httpserver"
	go run ./bench/pgoprof -keep 90 -elf "$tmp/kernel.elf" -o kernel/cmd/kernel/net.pgo \
		"$tmp/redis.edges" "$tmp/nginx.edges" "$tmp/go.edges"
	ls -l kernel/cmd/kernel/net.pgo
	;;
*)
	echo "usage: $0 host|net" >&2
	exit 2
	;;
esac
