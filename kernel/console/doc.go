// Package console gives the application its standard streams: Stdin,
// Stdout and Stderr, each chosen on first use. With a virtio-console
// device (package kernel/drivers/virtio/console) whose ports are named
// runikraft.stdin, runikraft.stdout and runikraft.stderr, each stream is
// its port: binary-exact, stdout and stderr apart, and stdin ends (io.EOF)
// when the host closes it. A stream without its port falls back to the
// UART: reads through package kernel/drivers/uart, writes through the
// kernel's own fd 1 and 2, which the hart layer sends to the UART. The
// UART has no end of file (see StdinHasEOF), and stdout and stderr share
// it. Log, for the kernel's messages to the operator, is always the UART.
//
// A plain `qemu-system-riscv64 -M virt -nographic -kernel IMAGE` therefore
// works as before, everything on the UART.
//
// # How runikraft run wires the console
//
// Verified with QEMU 7.2 (see tests/boot/kernels/console/README.md).
// The host tool makes one AF_UNIX stream socketpair per stream and
// passes one end of each to QEMU (os/exec ExtraFiles: fds 3, 4, 5, and 6
// for the UART):
//
//	qemu-system-riscv64 -M virt -m 128M -bios default \
//	  -nodefaults -display none -monitor none \
//	  -chardev socket,id=rklog,fd=6 -serial chardev:rklog \
//	  -device virtio-serial-device,max_ports=4 \
//	  -chardev socket,id=rkin,fd=3  -device virtserialport,chardev=rkin,name=runikraft.stdin \
//	  -chardev socket,id=rkout,fd=4 -device virtserialport,chardev=rkout,name=runikraft.stdout \
//	  -chardev socket,id=rkerr,fd=5 -device virtserialport,chardev=rkerr,name=runikraft.stderr \
//	  -kernel IMAGE
//
// QEMU's own stdin and stdout are not used (give it /dev/null); its
// stderr carries QEMU's error messages. After starting QEMU the tool
// closes its copies of QEMU's ends and then:
//
//   - copies its stdin into the stdin socket and, at end of file, shuts
//     down the socket's write side only (net.UnixConn.CloseWrite, i.e.
//     shutdown(SHUT_WR)), keeping the socket open until QEMU exits. QEMU
//     reads to the end, then reports the port closed and the guest reads
//     io.EOF. Closing the socket instead loses the unread tail: QEMU's
//     socket chardev drops the connection on POLLHUP with data still
//     buffered (measured: 300 KB arrived as 184-192 KB).
//   - copies the stdout and stderr sockets to its stdout and stderr until
//     end of file (QEMU exiting closes them). No byte is translated: \n
//     stays \n. If its stdout goes away (EPIPE), it closes that socket:
//     QEMU then drops the guest's writes to the port instead of making
//     them wait.
//   - reads the UART socket: the OpenSBI banner, then abi.ConsoleMarker
//     (printed because the command line has abi.MarkerParam), then the
//     kernel's log, which it keeps apart from the application's streams
//     (cmd/runikraft/kernellog.go).
//
// When that log is shown only at the end (no --debug, --strace or --log),
// the UART is instead a file: an unlinked temporary file passed as fd 6,
// "-add-fd fd=6,set=1 -chardev file,id=rklog,path=/dev/fdset/1", which
// the tool reads once a second and after QEMU's exit. QEMU passes the
// UART on a byte at a time, so on a socket each byte of the banner and
// the log was a send that woke the tool.
//
// QEMU's exit status is the kernel's. Writes in the guest return once
// QEMU has written the bytes to the socket, so nothing is lost at exit.
//
// Things that do not work in QEMU 7.2:
//
//   - -chardev file,input-path=... (end of file on an input file) came in
//     QEMU 8.1.
//   - -chardev pipe opens its FIFOs read-write, so it never sees end of
//     file.
//   - -chardev stdio for runikraft.stdin (QEMU's fd 0 a pipe from the
//     tool) works, with -chardev file,path=/dev/fd/N on pipes for stdout
//     and stderr, but QEMU sets O_NONBLOCK on its fds 0 and 1 and, if a
//     reader of a pipe goes away, retries the write for ever and the guest
//     hangs in Write; sockets have neither problem.
//   - Any stdio chardev on the UART (-serial mon:stdio, -nographic) next
//     to the stdin port would read the tool's stdin as well.
//   - On the UART, input already waiting when QEMU starts loses its first
//     byte: OpenSBI enables the FIFO, which clears the byte QEMU had put in
//     the receive register. Feed the UART after the kernel's marker.
//
// With the ports absent (an older tool, plain QEMU), the same kernel uses
// the UART for all three streams.
package console
