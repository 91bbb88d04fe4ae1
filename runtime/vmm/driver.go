// Package vmm is the VMM driver: the Driver interface a box's supervisor
// boots microVMs through, QEMU's microvm machine behind it (its command
// line, the 9p share of a box's volumes in QEMU's own mount namespace,
// the process and its control socket), the QMP client that pauses,
// resumes and balloons a running VM, and the choice of accelerator (KVM
// or TCG). It knows nothing of boxes: it boots the Machine it is given.
package vmm

import (
	"context"
	"net"
	"os"
)

// Driver starts microVMs. QEMU's microvm machine is the one driver today;
// the interface is what another VMM (Firecracker, Cloud Hypervisor) would
// implement.
type Driver interface {
	Name() string
	// Version reports the VMM's version, for `a3s-box info`.
	Version(ctx context.Context) (string, error)
	Start(ctx context.Context, m *Machine) (VM, error)
}

// Machine is everything a driver needs to boot one box.
type Machine struct {
	Dir     string // where the supervisor keeps the guest console (console.log)
	Socket  string // unix socket path for the control channel
	QMP     string // unix socket path for the VMM's monitor (pause, resume)
	Kernel  string
	Initrd  string
	Cmdline string
	CPUs    int
	MemMiB  int
	Accel   string
	Disks   []Disk
	// Share carries the box's volumes and bind mounts; nil for none.
	Share *Share
	NICs  []NIC
	// User is the host user the VMM runs as (jail.go); nil runs it as
	// the caller, still under the seccomp filter and QEMU's sandbox.
	User *User
}

// NIC is a virtio-net device backed by a tap the caller opened.
type NIC struct {
	Tap *os.File
	MAC string
}

// Disk is a raw disk image attached as a virtio block device. The guest
// finds it by Serial.
type Disk struct {
	Path     string
	ReadOnly bool
	Serial   string
}

// VM is one running microVM.
type VM interface {
	PID() int
	// Dial connects to the guest's control channel.
	Dial(ctx context.Context) (net.Conn, error)
	// Done is closed when the VMM process has exited.
	Done() <-chan struct{}
	// Err says why the VMM exited, once Done is closed.
	Err() error
	// Kill stops the VMM at once and waits for it to exit.
	Kill() error
}
