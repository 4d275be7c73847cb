package posix

import (
	"fmt"
	"strconv"
)

// cpuFiles writes the files glibc and others read for the CPU count
// (/sys/devices/system/cpu/online, possible, present: "0" or "0-N")
// unless the root filesystem has its own. The hart count does not change
// while the application runs, so plain files tell the truth.
func (p *Process) cpuFiles(t tree) error {
	for _, d := range []string{"/sys", "/sys/devices", "/sys/devices/system", "/sys/devices/system/cpu"} {
		if err := t.dir(d, 0o755); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	n := ncpu()
	list := "0\n"
	if n > 1 {
		list = "0-" + strconv.Itoa(n-1) + "\n"
	}
	for _, name := range []string{"online", "possible", "present"} {
		f := "/sys/devices/system/cpu/" + name
		if err := t.file(f, []byte(list), 0o444); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}
