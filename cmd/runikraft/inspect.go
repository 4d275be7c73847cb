package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/elfsym"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
	"github.com/runikraft/runikraft/kernel/tzdata"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "describe an application image: kernel, application, sizes, root filesystem, defaults",
		ArgsUsage: "IMAGE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "size", Usage: "show where the image's bytes go: the Go runtime, each kernel package, the standard library, Go's tables, the application (also for a kernel image alone)"},
		},
		OnUsageError: usageError("inspect "),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fail(exitUsage, "inspect: want one IMAGE, have %d arguments (usage: runikraft inspect IMAGE)", c.NArg())
			}
			path := c.Args().First()
			info, err := appimage.Read(path)
			if c.Bool("size") && (err == nil || errors.Is(err, appimage.ErrNotApp)) {
				return inspectSize(c.App.Writer, path, info)
			}
			if errors.Is(err, appimage.ErrNotApp) {
				return fail(1, "%s is a Runikraft kernel with no application baked in (runikraft run --kernel %[1]s APP runs one on it)", path)
			}
			if errors.Is(err, appimage.ErrNotRunikraft) {
				return fail(1, "inspect: %v: runikraft inspect describes images from runikraft-cc, runikraft-ld or runikraft go build (runikraft run %s boots a plain program as it is)", err, path)
			}
			if err != nil {
				return fail(1, "inspect: %v", err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				return fail(1, "inspect: %v", err)
			}
			return printInfo(c.App.Writer, path, fi.Size(), info)
		},
	}
}

func printInfo(w io.Writer, path string, size int64, info *appimage.Info) error {
	m := info.Manifest
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "image:\t%s, %s on disk, loads at %#x, %s in memory\n", path, human(size), info.LoadStart, human(int64(info.ImageEnd-info.LoadStart)))
	fmt.Fprintf(tw, "kernel:\t%s, %s\n", m.Kernel, human(int64(info.KernelEnd-info.LoadStart)))
	fmt.Fprintf(tw, "app:\t%s (%s), %s\n", m.App, m.AppKind, human(m.AppSize))
	args, env, err := bootargs.Decode(info.Cmdline)
	if err != nil {
		fmt.Fprintf(tw, "command line:\tunreadable: %v\n", err)
	} else {
		fmt.Fprintf(tw, "argv:\t%q\n", args)
		for _, e := range env {
			fmt.Fprintf(tw, "env:\t%s\n", e)
		}
	}
	symPath, haveSyms := symbolFile(path)
	if !haveSyms {
		fmt.Fprintf(tw, "tzdata:\tunknown (the image has no symbol table and the kernel it was baked from is not next to the tools)\n")
	} else if n, err := zoneBytes(symPath); err == nil && n > 0 {
		fmt.Fprintf(tw, "tzdata:\t%s in the kernel (/usr/share/zoneinfo; TZ=Area/City and Go's time.LoadLocation work)\n", human(n))
	} else {
		fmt.Fprintf(tw, "tzdata:\tnone (this kernel carries no zone database: UTC only)\n")
	}
	if info.Rootfs {
		fmt.Fprintf(tw, "rootfs:\t%s\n", rootfsSummary(info.Initrd, m.Rootfs))
	} else {
		fmt.Fprintf(tw, "rootfs:\tnone (the kernel's defaults: /tmp, /etc, /dev, /proc)\n")
	}
	for i, d := range m.Volumes {
		fmt.Fprintf(tw, "volume:\t%s (virtio-9p mount tag %s: runikraft run -v HOSTDIR:%s, or QEMU -device virtio-9p-device,fsdev=ID,mount_tag=%s)\n", d, appimage.VolumeTag(i), d, appimage.VolumeTag(i))
	}
	return tw.Flush()
}

// rootfsSummary counts what the baked archive holds.
func rootfsSummary(archive []byte, from string) string {
	r := cpio.NewReader(bytes.NewReader(archive), int64(len(archive)))
	var files, dirs, links, other int
	var bytesIn int64
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Sprintf("damaged archive: %v", err)
		}
		switch {
		case h.Mode.IsRegular():
			files++
			bytesIn += h.Size
		case h.Mode.IsDir():
			dirs++
		case h.Mode.IsSymlink():
			links++
		default:
			other++
		}
	}
	s := fmt.Sprintf("%d files (%s), %d directories, %d symlinks", files, human(bytesIn), dirs, links)
	if other > 0 {
		s += fmt.Sprintf(", %d other", other)
	}
	if from != "" {
		s += ", packed from " + from
	}
	return s
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// zoneBytes is the size of the kernel's time-zone database
// (kernel/tzdata), from the string header of its generated variable.
func zoneBytes(path string) (int64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s, ok := elfsym.Lookup(f, tzdata.SymbolName)
	if !ok {
		return 0, nil
	}
	for _, sec := range f.Sections {
		if sec.Type != elf.SHT_PROGBITS || s.Value < sec.Addr || s.Value+16 > sec.Addr+sec.Size {
			continue
		}
		var hdr [16]byte // string header: data pointer, length
		if _, err := sec.ReadAt(hdr[:], int64(s.Value-sec.Addr)); err != nil {
			return 0, err
		}
		return int64(binary.LittleEndian.Uint64(hdr[8:])), nil
	}
	return 0, nil
}

// inspectSize prints the size breakdown of an application image, or of a
// kernel image alone (info nil).
func inspectSize(w io.Writer, path string, info *appimage.Info) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fail(1, "inspect: %v", err)
	}
	r, err := measureSize(path, fi.Size(), info)
	if err != nil {
		return fail(1, "inspect --size: %v", err)
	}
	return r.print(w, path)
}
