// Package appimage bakes an application into a kernel image: one ELF that
// boots on qemu-system-riscv64 -M virt -kernel FILE with nothing else.
package appimage

// Options describe an application image.
type Options struct {
	Kernel string   // baked kernel image (bin/runikraft-kernel.img)
	App    string   // static riscv64 Linux executable (static-pie or ET_EXEC)
	Rootfs string   // optional host directory packed as the root filesystem
	Args   []string // default arguments after argv[0]
	Env    []string // default environment, KEY=VALUE
	Name   string   // argv[0]; default: the base name of App
}

// Manifest is what an application image records about itself.
type Manifest struct {
	Kernel string   `json:"kernel"` // kernel version
	App    string   `json:"app"`    // argv[0]
	Args   []string `json:"args,omitempty"`
	Env    []string `json:"env,omitempty"`
}

// Write bakes o into the image at out (written atomically, mode 0755).
func Write(o Options, out string) (*Manifest, error) { panic("TODO") }
