// Package console drives a virtio console device (virtio 1.1 §5.3) with
// VIRTIO_CONSOLE_F_MULTIPORT: a set of named byte streams ("ports")
// between the kernel and the host, e.g. QEMU's
//
//	-device virtio-serial-device -device virtserialport,chardev=X,name=runikraft.stdout
//
// The device is set up on first use (Open, Names): queues for up to 16
// ports, the control handshake (DEVICE_READY, PORT_ADD, PORT_READY,
// PORT_NAME, PORT_OPEN), after which the ports the device announced are
// known by name. Open tells the device that the guest opened the port
// (QEMU sends a port nothing before that).
//
// Reading gives the device receive buffers and returns what the host
// sent; a host-side close (PORT_OPEN 0) is end of file once the data
// sent before it has been read. Writing hands buffers to the device and
// returns once the device has taken them, which is flow control: QEMU
// holds on to a buffer until its chardev accepted all of it. Data for a
// port whose host side is closed is dropped by QEMU, so a Write never
// waits for a reader that is not there.
//
// The control protocol (control.go, table.go), the port's buffering
// (port.go) and the driver's message handling (driver.go) are plain Go
// and tested on the host; device.go needs the hart layer.
package console
