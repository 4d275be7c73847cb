// Package posix is the Linux system-call ABI that applications see: each
// application thread is a goroutine that runs the thread in user mode
// through a CPU (the hart layer), handles the system call or fault that
// brought it back, delivers pending signals, and goes round again.
// Nothing here touches application memory except through the CPU's
// checked copies.
//
// # Where things are
//
// A system call is found in one hop from its number:
//
//   - linux64.go: the table, sorted by number (linux.SYS_* from
//     kernel/abi/linux): name, handler, support level and a note.
//     `runikraft syscalls` prints it.
//   - sys_<family>.go: the handlers, one doc comment each naming the
//     call: sys_read_write.go (read, write, their vector and positioned
//     forms, lseek, sendfile, copy_file_range), sys_file.go (close, dup,
//     fcntl, ioctl, fstat), sys_open.go, sys_stat.go, sys_fs.go (paths
//     and directories), sys_pipe.go, sys_eventfd.go, sys_epoll.go,
//     sys_poll.go (ppoll, pselect6), sys_mmap.go, sys_futex.go,
//     sys_signal.go, sys_socket.go, sys_thread.go, sys_time.go, sys_timer.go (setitimer,
//     POSIX timers, timerfd), sys_misc.go (identity, limits, priorities,
//     fadvise, entropy, wait).
//   - The objects they work on, next to them: file.go (the one File
//     interface every kind of open file implements, with Linux's answers
//     for what a kind does not support), fdtable.go, ioseq.go (the one
//     I/O path and its partial-result rule), waitqueue.go (readiness),
//     pipe.go and fifo.go, console.go, eventfd.go, epoll.go, vfsfile.go
//     (VFS files) and vfs.go (the process's filesystem), procfs.go,
//     memory.go and sharedmap.go, futex.go, signal.go (delivery, the
//     riscv64 signal frame, SIGSTOP/SIGCONT), timer.go, timerfd.go and
//     signalfd.go, socket.go (what every socket has: SOL_SOCKET options,
//     SO_RCVTIMEO/SO_SNDTIMEO deadlines) with unix.go, inet.go (over
//     the kernel's TCP/IP stack, kernel/net) and netlink.go,
//     thread.go (the thread loop and dispatcher: a panicking handler is
//     contained there, bughook.go tests it), process.go.
//   - The ABI's numbers and structure layouts: kernel/abi/linux.
package posix
