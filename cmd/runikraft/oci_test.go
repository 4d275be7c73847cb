//go:build !runikraft_lite

package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestImageRef(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	file := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]bool{
		file:                         false, // an existing file is a file
		"localhost:5000/hello:1":     true,
		"localhost/hello":            true,
		"registry.example/app/hello": true,
		"registry.example:443/a@sha256:0123456789012345678901234567890123456789012345678901234567890123": true,
		"bin/hello":     false, // a missing file, not a registry
		"hello":         false, // not in the (empty) store
		"./hello":       false,
		"/no/such/file": false,
		"":              false,
	} {
		if _, got := imageRef(arg); got != want {
			t.Errorf("imageRef(%q) = %v, want %v", arg, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "runikraft")); err == nil {
		t.Error("looking at arguments created the image store")
	}
}
