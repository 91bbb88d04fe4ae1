package vmm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/capped"
)

// QEMU drives qemu-system-x86_64's microvm machine.
type QEMU struct {
	Binary string
}

func (q *QEMU) binary() string {
	if q.Binary != "" {
		return q.Binary
	}
	return "qemu-system-x86_64"
}

func (q *QEMU) Name() string { return "qemu-microvm" }

func (q *QEMU) Version(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, q.binary(), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", q.binary(), err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(strings.TrimPrefix(line, "QEMU emulator version ")), nil
}

// Args is the QEMU command line for m. The flags are the set verified to
// boot under both TCG and KVM; pit, pic and rtc stay on because turning
// them off hangs boots.
func (q *QEMU) Args(m *Machine) []string {
	// TCG emulates rep movsb a byte at a time; without erms and fsrm the
	// guest kernel copies with wider moves (copies into and out of a box
	// run twice as fast).
	cpu := "max,-erms,-fsrm"
	if m.Accel == AccelKVM {
		cpu = "host"
	}
	args := []string{
		"-M", "microvm,acpi=on", "-accel", m.Accel, "-cpu", cpu,
		"-m", strconv.Itoa(m.MemMiB), "-smp", strconv.Itoa(m.CPUs),
		"-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
		"-serial", "file:" + filepath.Join(m.Dir, "console.log"),
		"-kernel", m.Kernel, "-initrd", m.Initrd, "-append", m.Cmdline,
	}
	for i, d := range m.Disks {
		drive := fmt.Sprintf("id=disk%d,file=%s,format=raw,if=none", i, d.Path)
		if d.ReadOnly {
			drive = fmt.Sprintf("id=disk%d,file=%s,format=raw,if=none,readonly=on", i, d.Path)
		}
		args = append(args, "-drive", drive,
			"-device", fmt.Sprintf("virtio-blk-device,drive=disk%d,serial=%s", i, d.Serial))
	}
	args = append(args,
		"-device", "virtio-serial-device",
		"-chardev", "socket,id=ctl,path="+m.Socket+",server=on,wait=off",
		"-device", "virtserialport,chardev=ctl,name="+proto.VirtioPortName,
		// The balloon lets `update --memory` take memory from a running
		// guest and give it back (one of microvm's 8 virtio-mmio slots).
		"-device", "virtio-balloon-device",
	)
	if m.QMP != "" {
		args = append(args, "-qmp", "unix:"+m.QMP+",server=on,wait=off")
	}
	args = append(args, m.Share.qemuArgs()...)
	return append(args, nicArgs(m)...)
}

// nicArgs gives the VM one virtio-net device per NIC, on the tap the
// supervisor opened and passes as file descriptor 3+i (ExtraFiles).
func nicArgs(m *Machine) []string {
	var args []string
	for i, n := range m.NICs {
		args = append(args,
			"-netdev", fmt.Sprintf("tap,id=net%d,fd=%d", i, 3+i),
			"-device", fmt.Sprintf("virtio-net-device,netdev=net%d,mac=%s", i, n.MAC))
	}
	return args
}

func (q *QEMU) Start(ctx context.Context, m *Machine) (VM, error) {
	cmd := exec.Command(q.binary(), q.Args(m)...)
	for _, n := range m.NICs {
		cmd.ExtraFiles = append(cmd.ExtraFiles, n.Tap)
	}
	stderr := capped.New(8 << 10)
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// The VMM must not outlive a CLI killed with SIGKILL, and must not
		// receive the terminal's Ctrl-C: the CLI decides what a signal means.
		Pdeathsig: syscall.SIGKILL,
		Setpgid:   true,
	}
	vm := &qemuVM{cmd: cmd, socket: m.Socket, done: make(chan struct{}), stderr: stderr}
	wait := func() {
		err := cmd.Wait()
		if err != nil {
			if msg := strings.TrimSpace(stderr.String()); msg != "" {
				err = fmt.Errorf("%w: %s", err, msg)
			}
		}
		vm.err = err
		close(vm.done)
	}
	if err := startVMM(cmd, m.Share, wait); err != nil {
		return nil, fmt.Errorf("start %s: %w", q.binary(), err)
	}
	return vm, nil
}

type qemuVM struct {
	cmd    *exec.Cmd
	socket string
	done   chan struct{}
	err    error
	stderr *capped.Buffer
}

func (v *qemuVM) PID() int              { return v.cmd.Process.Pid }
func (v *qemuVM) Done() <-chan struct{} { return v.done }
func (v *qemuVM) Err() error            { <-v.done; return v.err }

func (v *qemuVM) Kill() error {
	select {
	case <-v.done:
		return nil
	default:
	}
	_ = v.cmd.Process.Kill()
	<-v.done
	return nil
}

// ErrVMExited is returned when the VMM is gone while waiting on it.
var ErrVMExited = errors.New("VM exited")

// Dial waits for QEMU to create the control socket and connects to it.
func (v *qemuVM) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "unix", v.socket)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect %s: %w", v.socket, ctx.Err())
		case <-v.done:
			return nil, fmt.Errorf("connect control channel: %w: %v", ErrVMExited, v.err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}
