// Package net is the Runikraft kernel's TCP/IP stack: gVisor's netstack
// (gvisor.dev/gvisor/pkg/tcpip) over the virtio-net driver
// (kernel/drivers/virtio/net), with a loopback interface that is always
// there.
//
// It is a micro-library: only a kernel that imports it links gVisor
// (about 4.6 MB of image; `go run ./bench/net` measures it). The stock
// kernel does not, until the posix layer's sockets need it.
//
// # Bringing it up
//
// Start (riscv64 only) makes the kernel's one Stack, once: NIC 1 "lo"
// with 127.0.0.1/8 and ::1, and, if the machine has a virtio-net device,
// NIC 2 "eth0" configured from the kernel command line's runikraft.net
// parameter (ParseConfig):
//
//	runikraft.net=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3   static (QEMU user networking's numbers)
//	runikraft.net=dhcp                                   DHCPv4 (also the default with a device)
//	runikraft.net=none                                   loopback only
//
// plus dns=, domain=, host=, ip6=, gw6= options. IPv6 gets a link-local
// address and, from router advertisements, SLAAC addresses and routes.
// A static address is set before Start returns; DHCP runs in the
// background: Stack.Ready waits for it (with a context for the bound).
// New makes a Stack over any Device, which is how the host tests run it.
//
// The DHCP client (dhcp.go) sends and receives raw Ethernet frames below
// the stack, diverting replies to port 68 while it runs: until it has an
// address the stack can neither send from 0.0.0.0 nor accept a datagram
// for an address it does not have. It asks for a broadcast reply, takes
// the first OFFER, renews at T1 and starts over when a lease runs out.
//
// # Files
//
// Stack.ResolvConf and Stack.Hosts return the text of /etc/resolv.conf
// and /etc/hosts for the configuration (after Ready, with DHCP's name
// servers and domain); the caller places them in the file system.
//
// # Sockets
//
// Stack.Socket(family, type, protocol) takes socket(2)'s arguments
// (AF_INET/AF_INET6; SOCK_STREAM → TCP, SOCK_DGRAM → UDP, or ICMP echo
// with IPPROTO_ICMP/IPPROTO_ICMPV6, like Linux's ping sockets) and
// returns an *Endpoint: gVisor's tcpip.Endpoint plus its waiter.Queue.
// Endpoint.Accept wraps an accepted connection the same way.
// FullAddress and AddrPort convert addresses between netip and gVisor.
// Everything else a socket does is a method of the tcpip.Endpoint (Bind,
// Listen, Accept, Connect, Read, Write, Shutdown, GetRemoteAddress,
// SocketOptions() for SO_*/TCP_* flags, SetSockOpt/GetSockOpt for the
// rest); readiness is Readiness(mask) now and, for blocking calls and
// epoll, a waiter.Entry registered on Queue, which the stack notifies
// with waiter.ReadableEvents, WritableEvents, EventHUp, EventErr and
// EventRdHUp. A non-blocking call that would block returns
// tcpip.ErrWouldBlock; Errno maps every tcpip.Error to the errno Linux
// returns. Stack.Interfaces lists the NICs and addresses for netlink
// (RTM_GETLINK/RTM_GETADDR) and getifaddrs. Stack.Gvisor is the
// underlying *stack.Stack for anything else (statistics, gonet adapters
// in kernel tests).
//
// # Data path
//
// Received frames come on the virtio device's interrupt goroutine: the
// driver hands each one to the link endpoint (link.go), which copies it
// into a packet buffer and delivers it to the stack there and then, so
// nothing polls. Transmitted frames are copied into the driver's DMA
// slots by the writing goroutine; when all slots are in flight they wait
// in a bounded backlog (512 frames, then dropped as a full queue drops)
// that the driver's completion callback drains in order.
package net
