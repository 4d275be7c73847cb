// Command goapp exercises the filesystem through Go's os package.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	if err := run(); err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("/tmp", "go-")
	if err != nil {
		return err
	}
	for i, name := range []string{"b.txt", "a.txt", "c.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte{'x'}, i+1), 0o640); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	fmt.Println("entries:", strings.Join(names, " "))
	fi, err := os.Stat(filepath.Join(dir, "c.txt"))
	if err != nil {
		return err
	}
	fmt.Printf("c.txt: size=%d mode=%v\n", fi.Size(), fi.Mode())
	if err := os.Rename(filepath.Join(dir, "a.txt"), filepath.Join(dir, "z.txt")); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "a.txt")); !os.IsNotExist(err) {
		return fmt.Errorf("a.txt still there: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		return fmt.Errorf("%s still there: %v", dir, err)
	}
	f, err := os.Open("/dev/urandom")
	if err != nil {
		return err
	}
	buf := make([]byte, 32)
	if _, err := f.Read(buf); err != nil {
		return err
	}
	f.Close()
	fmt.Println("urandom nonzero:", !bytes.Equal(buf, make([]byte, 32)))
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return err
	}
	fmt.Printf("passwd: %s", passwd)
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	fmt.Println("wd:", wd)
	return links()
}

// links checks symlinks, /proc/self/fd, chdir and a file mapping.
func links() error {
	if err := os.WriteFile("/tmp/target", []byte("mapped contents"), 0o600); err != nil {
		return err
	}
	if err := os.Symlink("target", "/tmp/link"); err != nil {
		return err
	}
	dest, err := os.Readlink("/tmp/link")
	if err != nil {
		return err
	}
	fi, err := os.Lstat("/tmp/link")
	if err != nil {
		return err
	}
	fmt.Printf("link: %s symlink=%v\n", dest, fi.Mode()&os.ModeSymlink != 0)
	if err := os.Chdir("/tmp"); err != nil {
		return err
	}
	f, err := os.Open("link")
	if err != nil {
		return err
	}
	defer f.Close()
	fdPath, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return err
	}
	fmt.Println("fd path:", fdPath)
	m, err := syscall.Mmap(int(f.Fd()), 0, 15, syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return err
	}
	fmt.Printf("mmap: %s\n", m)
	if err := syscall.Munmap(m); err != nil {
		return err
	}
	return sharedMapping("/tmp/target")
}

// sharedMapping writes a file through a MAP_SHARED mapping: the file has
// the bytes once the mapping is gone.
func sharedMapping(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, 6, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	copy(m, "SHARED")
	if err := syscall.Munmap(m); err != nil {
		return err
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	fmt.Printf("shared mmap: %s\n", b)
	return nil
}
