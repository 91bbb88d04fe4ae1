// Package proto is the versioned wire protocol between a3s-box on the host
// and guestinit (PID 1) inside a box's microVM.
//
// One byte stream joins the two ends: a virtio-serial port bridged to a host
// unix socket, or an AF_VSOCK connection where the host has vhost-vsock. The
// stream carries a yamux session, so exec sessions, probes and control
// traffic run side by side without blocking each other. Every yamux stream
// carries frames: a one-byte type, a four-byte big-endian length and a
// payload (JSON for control messages, raw bytes for process I/O).
//
// The host opens the first stream (the control stream) and sends Hello; the
// guest answers with its own Hello. Each process runs on a stream of its
// own: the host sends Exec, the guest answers Started (or Exit when the
// process cannot start), then Stdout/Stderr frames, then Exit.
package proto

// Version is the protocol version. Both ends refuse a peer that speaks
// another version: the host and the initramfs come from the same build.
const Version = 4

// VirtioPortName is the name of the virtio-serial port that carries the
// protocol; guestinit finds its device through /sys/class/virtio-ports.
const VirtioPortName = "a3s-box.ctl"

// VsockPort is the AF_VSOCK port guestinit listens on when the box has a
// vsock device.
const VsockPort = 1024
