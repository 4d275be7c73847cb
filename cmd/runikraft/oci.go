//go:build !runikraft_lite

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/oci"
)

// registryTimeout bounds one push or pull: a registry that stops
// answering must not hang the command for ever.
const registryTimeout = 10 * time.Minute

var platformFlag = &cli.StringFlag{
	Name:  "platform",
	Value: oci.Platform.String(),
	Usage: "image platform; Runikraft images are " + oci.Platform.String() + " (from a multi-platform index, that entry is used)",
}

// checkPlatform accepts only the platform a Runikraft image can have.
func checkPlatform(c *cli.Context) error {
	p := c.String("platform")
	if p != oci.Platform.String() {
		return fail(exitUsage, "--platform %s: Runikraft images are %s", p, oci.Platform)
	}
	return nil
}

func openStore() (*oci.Store, error) {
	dir, err := oci.DefaultDir()
	if err != nil {
		return nil, err
	}
	return oci.OpenStore(dir)
}

func pkgCommand() *cli.Command {
	return &cli.Command{
		Name:      "pkg",
		Usage:     shipCommands["pkg"].usage,
		ArgsUsage: shipCommands["pkg"].args,
		Description: `The OCI image has one layer holding IMAGE at ` + oci.KernelPath + ` (KubeVirt's
kernelBoot.container kernelPath), platform ` + oci.Platform.String() + `, and annotations
(also config labels) with what runikraft inspect knows: kernel build,
application, default arguments and environment, sizes. It records no
time: packaging the same IMAGE twice gives the same digest, which pkg
prints. runikraft push REF sends a stored image to its registry.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "t", Usage: "store the image in the local store as `REF` (e.g. registry.example:5000/hello:1)"},
			&cli.StringFlag{Name: "oci-dir", Usage: "also write the image into the OCI layout directory `DIR` (named by REF's tag when -t is given)"},
			platformFlag,
		},
		OnUsageError: usageError("pkg "),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fail(exitUsage, "pkg: want one IMAGE")
			}
			if err := checkPlatform(c); err != nil {
				return err
			}
			if c.String("t") == "" && c.String("oci-dir") == "" {
				return fail(exitUsage, "pkg: say where the image goes: -t REF, --oci-dir DIR, or both")
			}
			var ref name.Reference
			if t := c.String("t"); t != "" {
				r, err := oci.ParseRef(t)
				if err != nil {
					return fail(exitUsage, "-t: %v", err)
				}
				if _, ok := r.(name.Tag); !ok {
					return fail(exitUsage, "-t %s: want a name with a tag, not a digest", t)
				}
				ref = r
			}
			img, _, err := oci.Build(c.Args().First())
			if err != nil {
				return fail(1, "pkg: %v", err)
			}
			if dir := c.String("oci-dir"); dir != "" {
				tag := ""
				if ref != nil {
					tag = ref.Identifier()
				}
				if err := oci.WriteLayout(dir, img, tag); err != nil {
					return fail(1, "pkg: %v", err)
				}
			}
			if ref != nil {
				s, err := openStore()
				if err != nil {
					return fail(1, "pkg: %v", err)
				}
				if err := s.Put(ref, img); err != nil {
					return fail(1, "pkg: %v", err)
				}
			}
			d, err := img.Digest()
			if err != nil {
				return fail(1, "pkg: %v", err)
			}
			fmt.Fprintln(c.App.Writer, d)
			return nil
		},
	}
}

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:         "push",
		Usage:        shipCommands["push"].usage,
		ArgsUsage:    shipCommands["push"].args,
		Description:  "Credentials come from Docker's configuration (~/.docker/config.json, $DOCKER_CONFIG, credential helpers). Prints REF@DIGEST.",
		OnUsageError: usageError("push "),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fail(exitUsage, "push: want one REF")
			}
			ref, err := oci.ParseRef(c.Args().First())
			if err != nil {
				return fail(exitUsage, "push: %v", err)
			}
			s, err := openStore()
			if err != nil {
				return fail(1, "push: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
			defer cancel()
			d, err := s.Push(ctx, ref)
			if errors.Is(err, oci.ErrNotFound) {
				return fail(1, "push: %v (package it first: runikraft pkg IMAGE -t %s)", err, c.Args().First())
			}
			if err != nil {
				return fail(1, "push: %v", err)
			}
			fmt.Fprintf(c.App.Writer, "%s@%s\n", ref.Context().Name(), d)
			return nil
		},
	}
}

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:         "pull",
		Usage:        shipCommands["pull"].usage,
		ArgsUsage:    shipCommands["pull"].args,
		Description:  "Credentials come from Docker's configuration. From a multi-platform index the " + oci.Platform.String() + " image is taken. Prints REF@DIGEST.",
		Flags:        []cli.Flag{platformFlag},
		OnUsageError: usageError("pull "),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fail(exitUsage, "pull: want one REF")
			}
			if err := checkPlatform(c); err != nil {
				return err
			}
			ref, err := oci.ParseRef(c.Args().First())
			if err != nil {
				return fail(exitUsage, "pull: %v", err)
			}
			s, err := openStore()
			if err != nil {
				return fail(1, "pull: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
			defer cancel()
			img, err := s.Pull(ctx, ref)
			if err != nil {
				return fail(1, "%v", err)
			}
			if _, err := s.Kernel(img); err != nil {
				return fail(1, "pull: %v", err)
			}
			d, err := img.Digest()
			if err != nil {
				return fail(1, "pull: %v", err)
			}
			fmt.Fprintf(c.App.Writer, "%s@%s\n", ref.Context().Name(), d)
			return nil
		},
	}
}

// imageRef says whether run's IMAGE names an OCI image rather than a
// file: it is not an existing path, and it either names an image in the
// local store or has an explicit registry (a first component with a dot
// or a port, or localhost), so a mistyped file name is not looked up on
// a registry.
func imageRef(arg string) (name.Reference, bool) {
	if _, err := os.Stat(arg); err == nil || arg == "" || strings.HasPrefix(arg, ".") || strings.HasPrefix(arg, "/") {
		return nil, false
	}
	ref, err := name.ParseReference(arg)
	if err != nil {
		return nil, false
	}
	first, _, ok := strings.Cut(arg, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return ref, true
	}
	// Only a store that exists is asked (opening one creates it).
	if dir, err := oci.DefaultDir(); err == nil && oci.StoreExists(dir) {
		if s, err := oci.OpenStore(dir); err == nil {
			if _, err := s.Lookup(ref); err == nil {
				return ref, true
			}
		}
	}
	return nil, false
}

// refImage returns run's IMAGE itself, or when it names an OCI image
// (runikraft pkg, pull) its bootable file, pulled and extracted once
// (argv[0] stays the reference).
func refImage(c *cli.Context, image string) (string, error) {
	if ref, ok := imageRef(image); ok {
		return resolveRef(c, ref)
	}
	return image, nil
}

// resolveRef returns the bootable file for an OCI image: from the local
// store, pulled into it first if it is not there.
func resolveRef(c *cli.Context, ref name.Reference) (string, error) {
	s, err := openStore()
	if err != nil {
		return "", err
	}
	img, err := s.Lookup(ref)
	if errors.Is(err, oci.ErrNotFound) {
		fmt.Fprintf(c.App.ErrWriter, "runikraft: pulling %s\n", ref.Name())
		ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
		defer cancel()
		img, err = s.Pull(ctx, ref)
	}
	if err != nil {
		return "", err
	}
	if err := oci.Check(img); err != nil {
		return "", fmt.Errorf("%s: %w", ref.Name(), err)
	}
	return s.Kernel(img)
}
