//go:build !linux

package qemu

import "errors"

// CheckTap reports that tap networking needs a Linux host.
func CheckTap(name string) error { return errors.New("tap networking needs a Linux host") }
