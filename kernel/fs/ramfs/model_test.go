package ramfs_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// The model: paths to nodes; hard links share a node. Its rules are the
// Linux ones written as plainly as possible, checked in the order Linux
// (and the VFS) checks them.
type mnode struct {
	dir  bool
	data []byte
}

type model map[string]*mnode

func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/"
	}
	return p[:i]
}

// dirOK is the error resolving p's parent directory gives.
func (m model) dirOK(p string) syscall.Errno {
	parts := strings.Split(p, "/")[1:]
	cur := ""
	for _, c := range parts[:len(parts)-1] {
		cur += "/" + c
		n, ok := m[cur]
		if !ok {
			return syscall.ENOENT
		}
		if !n.dir {
			return syscall.ENOTDIR
		}
	}
	return 0
}

func (m model) children(p string) []string {
	var out []string
	prefix := strings.TrimSuffix(p, "/") + "/"
	for k := range m {
		if k != "/" && strings.HasPrefix(k, prefix) && !strings.Contains(k[len(prefix):], "/") {
			out = append(out, k[len(prefix):])
		}
	}
	sort.Strings(out)
	return out
}

func (m model) nlink(p string) uint32 {
	n := m[p]
	if n.dir {
		c := uint32(2)
		for _, k := range m.children(p) {
			if m[strings.TrimSuffix(p, "/")+"/"+k].dir {
				c++
			}
		}
		return c
	}
	c := uint32(0)
	for _, o := range m {
		if o == n {
			c++
		}
	}
	return c
}

func (m model) lookup(p string) (*mnode, syscall.Errno) {
	if e := m.dirOK(p); e != 0 {
		return nil, e
	}
	n, ok := m[p]
	if !ok {
		return nil, syscall.ENOENT
	}
	return n, 0
}

func (m model) create(p string, dir bool) syscall.Errno {
	if e := m.dirOK(p); e != 0 {
		return e
	}
	if _, ok := m[p]; ok {
		return syscall.EEXIST
	}
	m[p] = &mnode{dir: dir}
	return 0
}

func (m model) remove(p string, dir bool) syscall.Errno {
	n, e := m.lookup(p)
	switch {
	case e != 0:
		return e
	case dir && !n.dir:
		return syscall.ENOTDIR
	case !dir && n.dir:
		return syscall.EISDIR
	case dir && len(m.children(p)) > 0:
		return syscall.ENOTEMPTY
	}
	delete(m, p)
	return 0
}

func (m model) rename(a, b string) syscall.Errno {
	if e := m.dirOK(a); e != 0 {
		return e
	}
	if e := m.dirOK(b); e != 0 {
		return e
	}
	src, ok := m[a]
	if !ok {
		return syscall.ENOENT
	}
	dst, exists := m[b]
	if exists {
		if dst == src {
			return 0
		}
		if src.dir && !dst.dir {
			return syscall.ENOTDIR
		}
		if !src.dir && dst.dir {
			return syscall.EISDIR
		}
	}
	if src.dir && (parentOf(b) == a || strings.HasPrefix(parentOf(b), a+"/")) {
		return syscall.EINVAL
	}
	if exists && dst.dir && len(m.children(b)) > 0 {
		return syscall.ENOTEMPTY
	}
	delete(m, b)
	moved := map[string]*mnode{}
	for k, n := range m {
		if k == a || strings.HasPrefix(k, a+"/") {
			moved[b+k[len(a):]] = n
			delete(m, k)
		}
	}
	for k, n := range moved {
		m[k] = n
	}
	return 0
}

func (m model) link(a, b string) syscall.Errno {
	n, e := m.lookup(a)
	if e != 0 {
		return e
	}
	if e := m.dirOK(b); e != 0 {
		return e
	}
	if n.dir {
		return syscall.EPERM
	}
	if _, ok := m[b]; ok {
		return syscall.EEXIST
	}
	m[b] = n
	return 0
}

func errno(err error) syscall.Errno { return fs.ToErrno(err) }

// TestModel runs a few thousand random operations on ramfs (through the
// VFS) and on the model, comparing every result and, now and then, the
// whole tree.
func TestModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(20261127, 1))
	v := fs.New(ramfs.New(ramfs.Options{}), fs.Cred{})
	m := model{"/": {dir: true}}
	names := []string{"a", "b", "c", "x"}
	path := func() string {
		var b strings.Builder
		for i := rng.IntN(3) + 1; i > 0; i-- {
			b.WriteString("/" + names[rng.IntN(len(names))])
		}
		return b.String()
	}
	const ops = 8000
	succeeded := map[string]int{} // the model is only useful if ops succeed
	for i := 0; i < ops; i++ {
		p, q := path(), path()
		op := rng.IntN(10)
		if op >= 4 && rng.IntN(2) == 0 { // often something that exists
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys) // map order would break the fixed seed
			if k := keys[rng.IntN(len(keys))]; k != "/" {
				p = k
			}
		}
		var got error
		var want syscall.Errno
		var what string
		switch op {
		case 0:
			what = "create " + p
			f, err := v.Open(root, p, linux.O_WRONLY|linux.O_CREAT|linux.O_EXCL, 0o644)
			if err == nil {
				f.Close()
			}
			got, want = err, m.create(p, false)
		case 1:
			what = "mkdir " + p
			got, want = v.Mkdir(root, p, 0o755), m.create(p, true)
		case 2:
			what = "unlink " + p
			got, want = v.Unlink(root, p, 0), m.remove(p, false)
		case 3:
			what = "rmdir " + p
			got, want = v.Unlink(root, p, linux.AT_REMOVEDIR), m.remove(p, true)
		case 4:
			what = "rename " + p + " " + q
			got, want = v.Rename(root, p, root, q, 0), m.rename(p, q)
		case 5:
			what = "link " + p + " " + q
			got, want = v.Link(root, p, root, q, 0), m.link(p, q)
		case 6, 7:
			off, n := rng.IntN(9000), rng.IntN(5000)
			what = fmt.Sprintf("write %s %d+%d", p, off, n)
			data := make([]byte, n)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			mn, e := m.lookup(p)
			if e == 0 && mn.dir {
				e = syscall.EISDIR
			}
			f, err := v.Open(root, p, linux.O_WRONLY, 0)
			if err == nil {
				_, err = f.WriteAt(data, int64(off))
				f.Close()
			}
			got, want = err, e
			if e == 0 {
				if len(mn.data) < off+n {
					mn.data = append(mn.data, make([]byte, off+n-len(mn.data))...)
				}
				copy(mn.data[off:], data)
			}
		case 8:
			size := rng.IntN(10000)
			what = fmt.Sprintf("truncate %s %d", p, size)
			mn, e := m.lookup(p)
			if e == 0 && mn.dir {
				e = syscall.EISDIR
			}
			got, want = v.Truncate(root, p, int64(size)), e
			if e == 0 {
				if len(mn.data) < size {
					mn.data = append(mn.data, make([]byte, size-len(mn.data))...)
				}
				mn.data = mn.data[:size]
			}
		case 9:
			what = "check " + p
			mn, e := m.lookup(p)
			st, err := v.Stat(root, p, 0)
			got, want = err, e
			if e == 0 && err == nil {
				compare(t, v, m, p, mn, st)
			}
		}
		if errno(got) != want {
			t.Fatalf("op %d %s: got %v, want %v", i, what, errName(got), errName(want))
		}
		if got == nil {
			succeeded[strings.Fields(what)[0]]++
		}
		if i%500 == 0 || i == ops-1 {
			checkTree(t, v, m)
		}
	}
	t.Logf("succeeded: %v; %d paths at the end", succeeded, len(m))
	for _, op := range []string{"create", "mkdir", "unlink", "rmdir", "rename", "link", "write", "truncate", "check"} {
		if succeeded[op] < 20 {
			t.Errorf("only %d successful %s", succeeded[op], op)
		}
	}
}

func errName(e error) string {
	if e == nil || e == syscall.Errno(0) {
		return "ok"
	}
	return e.Error()
}

func compare(t *testing.T, v *fs.VFS, m model, p string, mn *mnode, st fs.Stat) {
	t.Helper()
	if st.IsDir() != mn.dir {
		t.Fatalf("%s: dir %v, model %v", p, st.IsDir(), mn.dir)
	}
	if st.Nlink != m.nlink(p) {
		t.Fatalf("%s: nlink %d, model %d", p, st.Nlink, m.nlink(p))
	}
	if mn.dir {
		f, err := v.Open(root, p, linux.O_RDONLY|linux.O_DIRECTORY, 0)
		ok(t, err)
		var got []string
		f.ReadDir(func(d fs.Dirent) bool {
			if d.Name != "." && d.Name != ".." {
				got = append(got, d.Name)
			}
			return true
		})
		f.Close()
		sort.Strings(got)
		if !slices.Equal(got, m.children(p)) {
			t.Fatalf("%s: entries %v, model %v", p, got, m.children(p))
		}
		return
	}
	if st.Size != int64(len(mn.data)) {
		t.Fatalf("%s: size %d, model %d", p, st.Size, len(mn.data))
	}
	f, err := v.Open(root, p, linux.O_RDONLY, 0)
	ok(t, err)
	buf := make([]byte, st.Size+10)
	n, _ := f.ReadAt(buf, 0)
	f.Close()
	if !bytes.Equal(buf[:n], mn.data) {
		t.Fatalf("%s: contents differ", p)
	}
}

// checkTree compares every model path, and checks nothing else exists.
func checkTree(t *testing.T, v *fs.VFS, m model) {
	t.Helper()
	inos := map[*mnode]uint64{}
	for p, mn := range m {
		st, err := v.Stat(root, p, 0)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		compare(t, v, m, p, mn, st)
		if prev, ok := inos[mn]; ok && prev != st.Ino {
			t.Fatalf("%s: links of one model file have inodes %d and %d", p, prev, st.Ino)
		}
		inos[mn] = st.Ino
	}
}
