package kvmrig

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
)

// Bounds on what is taken from the kernel package (vmlinux is about
// 31 MB, kvm.ko.xz about 190 KB).
const (
	maxVmlinux = 256 << 20
	maxModule  = 64 << 20
)

// extractKernel copies the kernel image and the decompressed kvm module
// out of the kernel package, reading its data archive with dpkg-deb
// --fsys-tarfile (the rest of the package, 500 MB of modules, is not
// written anywhere).
func extractKernel(ctx context.Context, deb, vmlinux, kvmko string) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("kvm rig: dpkg-deb: %w", err)
	}
	var gotKernel, gotModule bool
	tr := tar.NewReader(pipe)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return fmt.Errorf("kvm rig: reading %s: %w", deb, err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch {
		case h.Typeflag == tar.TypeReg && path.Dir(name) == "boot" && strings.HasPrefix(path.Base(name), "vmlinux-"):
			if err := writeLimited(vmlinux, tr, h.Size, maxVmlinux); err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				return err
			}
			gotKernel = true
		case h.Typeflag == tar.TypeReg && strings.HasSuffix(name, "/kernel/arch/riscv/kvm/kvm.ko.xz"):
			if err := unxz(ctx, tr, h.Size, kvmko); err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				return err
			}
			gotModule = true
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("kvm rig: dpkg-deb --fsys-tarfile %s: %w: %s", deb, err, stderr.Bytes())
	}
	if !gotKernel || !gotModule {
		return errors.New("kvm rig: the kernel package has no boot/vmlinux-* or no kvm.ko.xz (KVM built in? the rig expects the module)")
	}
	return nil
}

func writeLimited(dst string, r io.Reader, size, limit int64) error {
	if size < 0 || size > limit {
		return fmt.Errorf("kvm rig: %s would be %d bytes, more than %d", dst, size, limit)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	_, err = io.CopyN(f, r, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("kvm rig: writing %s: %w", dst, err)
	}
	return nil
}

// unxz decompresses size bytes of r into dst with xz(1) (xz-utils): the
// module is loaded with finit_module, which takes it uncompressed.
func unxz(ctx context.Context, r io.Reader, size int64, dst string) error {
	if size < 0 || size > maxModule {
		return fmt.Errorf("kvm rig: kvm.ko.xz is %d bytes", size)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	cmd := exec.CommandContext(ctx, "xz", "-dc")
	cmd.Stdin = io.LimitReader(r, size)
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("kvm rig: xz -dc kvm.ko.xz (xz-utils): %w: %s", err, stderr.Bytes())
	}
	return nil
}
