package main

// The commands that package images and describe them for other hosts
// (OCI, libvirt, KubeVirt) link OCI, Kubernetes and libvirt libraries:
// most of a full runikraft binary, and tens of milliseconds of package
// initialisation on every start. install.sh therefore builds two
// binaries from this package: bin/runikraft-ship, the full one, and
// bin/runikraft with the build tag runikraft_lite, which leaves those
// libraries out and hands these commands (and run IMAGE where IMAGE is
// not a file, i.e. maybe an OCI reference) to runikraft-ship next to it,
// replacing itself with it (lite.go). A plain go build of this package
// is the full binary.

// shipCommands are those commands' one-line help, shared by both builds.
var shipCommands = map[string]struct{ usage, args string }{
	"pkg":      {"package an image as an OCI image: in the local store under a reference (-t) and/or an OCI layout directory (--oci-dir)", "IMAGE"},
	"push":     {"push an image from the local store (runikraft pkg -t REF) to its registry", "REF"},
	"pull":     {"pull an image from its registry into the local store", "REF"},
	"libvirt":  {"print (or with --define, define) a libvirt domain that boots IMAGE as runikraft run does", "IMAGE [ARGS...]"},
	"kubevirt": {"write a KubeVirt VirtualMachine (and a Service for published ports) that boots IMAGE from its OCI image", "IMAGE [ARGS...]"},
	// The table is the kernel's posix package: linking the kernel's
	// system-call layer into the lite runikraft cost every run its
	// package initialisation.
	"syscalls": {"print the Linux system calls applications get, as a Markdown table", ""},
}

// shipOrder is the order they are listed in.
var shipOrder = []string{"pkg", "push", "pull", "libvirt", "kubevirt"}

// runArgs is the command line Main got, without the program name: the
// lite build hands it to runikraft-ship as is.
var runArgs []string
