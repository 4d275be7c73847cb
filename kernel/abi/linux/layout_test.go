package linux

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// layout ties a Go type to its C structure and names the C member of
// each exported Go field (unexported padding is not compared by name,
// but the sizes cover it).
type layout struct {
	v      any
	c      string
	fields map[string]string
}

// kernelLayouts are checked against the kernel's UAPI headers, libcLayouts
// against the C library's (two translation units: the two sets of
// headers clash).
var kernelLayouts = []layout{
	{Timespec{}, "struct __kernel_timespec", map[string]string{"Sec": "tv_sec", "Nsec": "tv_nsec"}},
	{Timeval{}, "struct __kernel_old_timeval", map[string]string{"Sec": "tv_sec", "Usec": "tv_usec"}},
	{Itimerspec{}, "struct __kernel_itimerspec", map[string]string{"Interval": "it_interval", "Value": "it_value"}},
	{Stat{}, "struct stat", map[string]string{"Dev": "st_dev", "Ino": "st_ino", "Mode": "st_mode", "Nlink": "st_nlink",
		"Uid": "st_uid", "Gid": "st_gid", "Rdev": "st_rdev", "Size": "st_size", "Blksize": "st_blksize",
		"Blocks": "st_blocks", "Atime": "st_atime~", "Mtime": "st_mtime~", "Ctime": "st_ctime~"}},
	{StatxTimestamp{}, "struct statx_timestamp", map[string]string{"Sec": "tv_sec", "Nsec": "tv_nsec"}},
	{Statx{}, "struct statx", map[string]string{"Mask": "stx_mask", "Blksize": "stx_blksize", "Attributes": "stx_attributes",
		"Nlink": "stx_nlink", "Uid": "stx_uid", "Gid": "stx_gid", "Mode": "stx_mode", "Ino": "stx_ino", "Size": "stx_size",
		"Blocks": "stx_blocks", "AttributesMask": "stx_attributes_mask", "Atime": "stx_atime", "Btime": "stx_btime",
		"Ctime": "stx_ctime", "Mtime": "stx_mtime", "RdevMajor": "stx_rdev_major", "RdevMinor": "stx_rdev_minor",
		"DevMajor": "stx_dev_major", "DevMinor": "stx_dev_minor"}},
	{Statfs{}, "struct statfs", map[string]string{"Type": "f_type", "Bsize": "f_bsize", "Blocks": "f_blocks", "Bfree": "f_bfree",
		"Bavail": "f_bavail", "Files": "f_files", "Ffree": "f_ffree", "Fsid": "f_fsid", "Namelen": "f_namelen",
		"Frsize": "f_frsize", "Flags": "f_flags", "Spare": "f_spare"}},
	{Sigaction{}, "struct sigaction", map[string]string{"Handler": "sa_handler", "Flags": "sa_flags", "Mask": "sa_mask"}},
	{StackT{}, "stack_t", map[string]string{"SP": "ss_sp", "Flags": "ss_flags", "Size": "ss_size"}},
	{SigInfo{}, "siginfo_t", map[string]string{"Signo": "si_signo", "Errno": "si_errno", "Code": "si_code", "Fields": "_sifields~"}},
	{FPState{}, "struct __riscv_q_ext_state", map[string]string{"F": "f", "FCSR": "fcsr"}},
	{SigContext{}, "struct sigcontext", map[string]string{"Regs": "sc_regs", "FP": "sc_fpregs"}},
	{UContext{}, "struct ucontext", map[string]string{"Flags": "uc_flags", "Link": "uc_link", "Stack": "uc_stack",
		"Sigmask": "uc_sigmask", "MContext": "uc_mcontext"}},
	{EpollEvent{}, "struct epoll_event", map[string]string{"Events": "events", "Data": "data"}},
	{Iovec{}, "struct iovec", map[string]string{"Base": "iov_base", "Len": "iov_len"}},
	{Pollfd{}, "struct pollfd", map[string]string{"Fd": "fd", "Events": "events", "Revents": "revents"}},
	{Rlimit{}, "struct rlimit64", map[string]string{"Cur": "rlim_cur", "Max": "rlim_max"}},
	{Utsname{}, "struct new_utsname", map[string]string{"Sysname": "sysname", "Nodename": "nodename", "Release": "release",
		"Version": "version", "Machine": "machine", "Domainname": "domainname"}},
	{Sysinfo{}, "struct sysinfo", map[string]string{"Uptime": "uptime", "Loads": "loads", "Totalram": "totalram",
		"Freeram": "freeram", "Sharedram": "sharedram", "Bufferram": "bufferram", "Totalswap": "totalswap",
		"Freeswap": "freeswap", "Procs": "procs", "Totalhigh": "totalhigh", "Freehigh": "freehigh", "MemUnit": "mem_unit"}},
	{Winsize{}, "struct winsize", map[string]string{"Row": "ws_row", "Col": "ws_col", "Xpixel": "ws_xpixel", "Ypixel": "ws_ypixel"}},
	{SockaddrIn{}, "struct sockaddr_in", map[string]string{"Family": "sin_family", "Port": "sin_port", "Addr": "sin_addr"}},
	{SockaddrIn6{}, "struct sockaddr_in6", map[string]string{"Family": "sin6_family", "Port": "sin6_port",
		"Flowinfo": "sin6_flowinfo", "Addr": "sin6_addr", "ScopeID": "sin6_scope_id"}},
	{SockaddrUn{}, "struct sockaddr_un", map[string]string{"Family": "sun_family", "Path": "sun_path"}},
	{SockaddrNl{}, "struct sockaddr_nl", map[string]string{"Family": "nl_family", "Pid": "nl_pid", "Groups": "nl_groups"}},
	{SockaddrStorage{}, "struct __kernel_sockaddr_storage", map[string]string{"Family": "ss_family"}},
	{NlMsghdr{}, "struct nlmsghdr", map[string]string{"Len": "nlmsg_len", "Type": "nlmsg_type", "Flags": "nlmsg_flags", "Seq": "nlmsg_seq", "Pid": "nlmsg_pid"}},
	{IfInfomsg{}, "struct ifinfomsg", map[string]string{"Family": "ifi_family", "Type": "ifi_type", "Index": "ifi_index", "Flags": "ifi_flags", "Change": "ifi_change"}},
	{IfAddrmsg{}, "struct ifaddrmsg", map[string]string{"Family": "ifa_family", "Prefixlen": "ifa_prefixlen", "Flags": "ifa_flags", "Scope": "ifa_scope", "Index": "ifa_index"}},
	{RtAttr{}, "struct rtattr", map[string]string{"Len": "rta_len", "Type": "rta_type"}},
	{NlMsgerr{}, "struct nlmsgerr", map[string]string{"Error": "error", "Msg": "msg"}},
}

var kernelHeaders = []string{"linux/time_types.h", "asm/stat.h", "linux/stat.h", "asm/statfs.h", "asm/signal.h",
	"asm/siginfo.h", "asm/sigcontext.h", "asm/ucontext.h", "linux/eventpoll.h", "linux/uio.h", "linux/poll.h",
	"linux/resource.h", "linux/utsname.h", "linux/sysinfo.h", "asm/termios.h", "linux/in.h", "linux/in6.h",
	"linux/un.h", "linux/netlink.h", "linux/socket.h", "linux/rtnetlink.h", "linux/if_addr.h"}

var libcLayouts = []layout{
	{Msghdr{}, "struct msghdr", map[string]string{"Name": "msg_name", "Namelen": "msg_namelen", "Iov": "msg_iov",
		"Iovlen": "msg_iovlen", "Control": "msg_control", "Controllen": "msg_controllen", "Flags": "msg_flags"}},
	{Mmsghdr{}, "struct mmsghdr", map[string]string{"Hdr": "msg_hdr", "Len": "msg_len"}},
	{Cmsghdr{}, "struct cmsghdr", map[string]string{"Len": "cmsg_len", "Level": "cmsg_level", "Type": "cmsg_type"}},
	{Linger{}, "struct linger", map[string]string{"Onoff": "l_onoff", "Linger": "l_linger"}},
	{Ucred{}, "struct ucred", map[string]string{"Pid": "pid", "Uid": "uid", "Gid": "gid"}},
	{Itimerval{}, "struct itimerval", map[string]string{"Interval": "it_interval", "Value": "it_value"}},
	{SignalfdSiginfo{}, "struct signalfd_siginfo", map[string]string{"Signo": "ssi_signo", "Errno": "ssi_errno", "Code": "ssi_code",
		"Pid": "ssi_pid", "Uid": "ssi_uid", "Fd": "ssi_fd", "Tid": "ssi_tid", "Band": "ssi_band", "Overrun": "ssi_overrun",
		"Trapno": "ssi_trapno", "Status": "ssi_status", "Int": "ssi_int", "Ptr": "ssi_ptr", "Utime": "ssi_utime",
		"Stime": "ssi_stime", "Addr": "ssi_addr", "AddrLsb": "ssi_addr_lsb", "Syscall": "ssi_syscall",
		"CallAddr": "ssi_call_addr", "Arch": "ssi_arch"}},
	{Sigevent{}, "struct sigevent", map[string]string{"Value": "sigev_value", "Signo": "sigev_signo",
		"Notify": "sigev_notify", "Tid": "_sigev_un._tid"}},
}

var libcHeaders = []string{"sys/socket.h", "sys/time.h", "sys/signalfd.h", "signal.h"}

// cSource writes a C file whose every line is a static assertion on a
// size or an offset; it compiles only if all hold.
func cSource(headers []string, ls []layout) (string, int, error) {
	var b strings.Builder
	b.WriteString("#define _GNU_SOURCE\n#include <stddef.h>\n")
	for _, h := range headers {
		fmt.Fprintf(&b, "#include <%s>\n", h)
	}
	n := 0
	for _, l := range ls {
		t := reflect.TypeOf(l.v)
		fmt.Fprintf(&b, "_Static_assert(sizeof(%s) == %d, \"size of %s (Go %s)\");\n", l.c, t.Size(), l.c, t.Name())
		n++
		named := 0
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Name == "_" {
				continue
			}
			c, ok := l.fields[f.Name]
			if !ok {
				return "", 0, fmt.Errorf("%s.%s has no C member listed", t.Name(), f.Name)
			}
			named++
			// A trailing ~ compares the offset only: the Go field
			// spans several C members (st_atime and st_atime_nsec).
			c, offsetOnly := strings.CutSuffix(c, "~")
			fmt.Fprintf(&b, "_Static_assert(offsetof(%s, %s) == %d, \"offset of %s.%s (Go %s.%s)\");\n",
				l.c, c, f.Offset, l.c, c, t.Name(), f.Name)
			n++
			if !offsetOnly {
				fmt.Fprintf(&b, "_Static_assert(sizeof(((%s *)0)->%s) == %d, \"size of %s.%s (Go %s.%s)\");\n",
					l.c, c, f.Type.Size(), l.c, c, t.Name(), f.Name)
				n++
			}
		}
		if named != len(l.fields) {
			return "", 0, fmt.Errorf("%s: the member map names fields the Go type lacks", t.Name())
		}
	}
	return b.String(), n, nil
}

// TestLayoutsMatchC compiles the assertions with the riscv64 cross
// compiler that install.sh installs (Debian's gcc-riscv64-linux-gnu with
// its kernel and glibc headers).
func TestLayoutsMatchC(t *testing.T) {
	cc, err := exec.LookPath("riscv64-linux-gnu-gcc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("riscv64-linux-gnu-gcc not found: install.sh installs it")
		}
		t.Skip("riscv64-linux-gnu-gcc not installed")
	}
	for _, set := range []struct {
		name    string
		headers []string
		ls      []layout
	}{{"kernel", kernelHeaders, kernelLayouts}, {"libc", libcHeaders, libcLayouts}} {
		src, n, err := cSource(set.headers, set.ls)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), set.name+".c")
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(cc, "-fsyntax-only", "-Wall", f).CombinedOutput()
		if err != nil {
			t.Errorf("%s layouts differ from C:\n%s", set.name, out)
			continue
		}
		t.Logf("%s: %d size and offset assertions hold", set.name, n)
	}
}

func TestDirent64Header(t *testing.T) {
	// linux_dirent64 is not in the UAPI headers: d_name follows d_type.
	if off := reflect.TypeOf(Dirent64Header{}).Field(3).Offset; off+1 != Dirent64NameOffset {
		t.Errorf("d_type at %d, want d_name at %d", off, Dirent64NameOffset)
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{ErrnoName(EBADF), "EBADF"}, {ErrnoText(ENOENT), "no such file or directory"},
		{SignalName(SIGSEGV), "SIGSEGV"}, {SyscallName(SYS_OPENAT), "openat"}, {SyscallName(SYS_CLONE3), "clone3"},
		{ErrnoName(Errno(5000)), ""}, {SignalName(0), ""}, {SignalName(-3), ""},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if SYS_RISCV_FLUSH_ICACHE != 259 || SYS_EXIT_GROUP != 94 || O_NONBLOCK != 0x800 || EPOLLET != 1<<31 {
		t.Error("riscv64 numbers are not riscv64's")
	}
	if Makedev(1, 5) != 0x105 || Major(Makedev(300, 70000)) != 300 || Minor(Makedev(300, 70000)) != 70000 {
		t.Error("dev_t encoding")
	}
}
