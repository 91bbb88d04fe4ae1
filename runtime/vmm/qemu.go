package vmm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/capped"
	"golang.org/x/sys/unix"
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

// launch is what one QEMU process is handed: its command line and the
// descriptors it names, as ExtraFiles (descriptor 3+i is files[i]).
type launch struct {
	args  []string
	files []*os.File
	share int // index in files of the share directory, -1 for none
}

// fd hands f to QEMU and returns its number there.
func (l *launch) fd(f *os.File) int {
	l.files = append(l.files, f)
	return 2 + len(l.files)
}

func (l *launch) close() {
	for _, f := range l.files {
		if f != nil {
			f.Close()
		}
	}
}

// open opens path for QEMU.
func (l *launch) open(path string, flag int) (int, error) {
	f, err := os.OpenFile(path, flag|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	return l.fd(f), nil
}

// listen makes the unix socket QEMU serves at path and hands QEMU its
// listening descriptor: QEMU needs no write access to the directory.
func (l *launch) listen(path string) (int, error) {
	os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return 0, err
	}
	ln.SetUnlinkOnClose(false)
	// The control channel and the monitor drive the box: their owner's.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return 0, err
	}
	f, err := ln.File()
	ln.Close()
	if err != nil {
		return 0, err
	}
	return l.fd(f), nil
}

// newLaunch opens everything m's QEMU is handed and builds its command
// line. The flags are the set verified to boot under both TCG and KVM;
// pit, pic and rtc stay on because turning them off hangs boots.
func newLaunch(m *Machine) (l *launch, err error) {
	l = &launch{share: -1}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	// TCG emulates rep movsb a byte at a time; without erms and fsrm the
	// guest kernel copies with wider moves (copies into and out of a box
	// run twice as fast).
	cpu := "max,-erms,-fsrm"
	if m.Accel == AccelKVM {
		cpu = "host"
	}
	kernel, err := l.open(m.Kernel, os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	initrd, err := l.open(m.Initrd, os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	l.args = []string{
		"-M", "microvm,acpi=on", "-accel", m.Accel, "-cpu", cpu,
		"-m", strconv.Itoa(m.MemMiB), "-smp", strconv.Itoa(m.CPUs),
		"-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
		"-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
		// The console is QEMU's standard output: the pipe console.go reads.
		"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
		// A magic link opens the file QEMU was handed, without a path
		// QEMU's user could walk.
		"-kernel", fmt.Sprintf("/proc/self/fd/%d", kernel),
		"-initrd", fmt.Sprintf("/proc/self/fd/%d", initrd),
		"-append", m.Cmdline,
	}
	for i, d := range m.Disks {
		// A disk is a descriptor set: QEMU probes it read-only before it
		// opens it for writing. The supervisor's box lock, not QEMU's
		// file locks, keeps a disk to one VM.
		flags := []int{os.O_RDONLY}
		if !d.ReadOnly {
			flags = append(flags, os.O_RDWR)
		}
		for _, flag := range flags {
			fd, err := l.open(d.Path, flag)
			if err != nil {
				return nil, fmt.Errorf("disk %s: %w", d.Serial, err)
			}
			l.args = append(l.args, "-add-fd", fmt.Sprintf("fd=%d,set=%d", fd, i+1))
		}
		drive := fmt.Sprintf("id=disk%d,file=/dev/fdset/%d,format=raw,if=none,file.locking=off", i, i+1)
		if d.ReadOnly {
			drive += ",readonly=on"
		}
		l.args = append(l.args, "-drive", drive,
			"-device", fmt.Sprintf("virtio-blk-device,drive=disk%d,serial=%s", i, d.Serial))
	}
	ctl, err := l.listen(m.Socket)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	l.args = append(l.args,
		"-device", "virtio-serial-device",
		"-chardev", fmt.Sprintf("socket,id=ctl,fd=%d,server=on,wait=off", ctl),
		"-device", "virtserialport,chardev=ctl,name="+proto.VirtioPortName,
		// The balloon lets `update --memory` take memory from a running
		// guest and give it back (one of microvm's 8 virtio-mmio slots).
		"-device", "virtio-balloon-device",
	)
	if m.QMP != "" {
		mon, err := l.listen(m.QMP)
		if err != nil {
			return nil, fmt.Errorf("monitor socket: %w", err)
		}
		l.args = append(l.args,
			"-chardev", fmt.Sprintf("socket,id=qmp,fd=%d,server=on,wait=off", mon),
			"-mon", "chardev=qmp,mode=control")
	}
	if m.Share != nil {
		// The share's descriptor is opened where QEMU starts: in its mount
		// namespace, after its entries are mounted (startVMM).
		l.share = len(l.files)
		l.args = append(l.args, m.Share.qemuArgs(l.fd(nil))...)
	}
	// One virtio-net device per NIC, on the tap the supervisor opened.
	for i, n := range m.NICs {
		tap, err := dupFile(n.Tap)
		if err != nil {
			return nil, fmt.Errorf("tap: %w", err)
		}
		l.args = append(l.args,
			"-netdev", fmt.Sprintf("tap,id=net%d,fd=%d", i, l.fd(tap)),
			"-device", fmt.Sprintf("virtio-net-device,netdev=net%d,mac=%s", i, n.MAC))
	}
	return l, nil
}

// dupFile is a descriptor of f's own, so that closing a launch leaves
// the caller's file open.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func (q *QEMU) Start(ctx context.Context, m *Machine) (VM, error) {
	logs, err := openConsoleLog(m.Dir, ConsoleLimit)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logs.f.Close()
		return nil, fmt.Errorf("console pipe: %w", err)
	}
	l, err := newLaunch(m)
	if err != nil {
		logs.f.Close()
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", q.binary(), err)
	}
	defer l.close()
	cmd, err := jailCommand(q.binary(), l.args, m)
	if err != nil {
		logs.f.Close()
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", q.binary(), err)
	}
	cmd.ExtraFiles = l.files
	cmd.Stdout = pw
	stderr := capped.New(8 << 10)
	cmd.Stderr = stderr
	copied := make(chan struct{})
	vm := &qemuVM{cmd: cmd, socket: m.Socket, done: make(chan struct{}), stderr: stderr}
	wait := func() {
		err := cmd.Wait()
		// The console is whole before anyone reads it for a failed boot.
		<-copied
		if err != nil {
			if msg := strings.TrimSpace(stderr.String()); msg != "" {
				err = fmt.Errorf("%w: %s", err, msg)
			}
		}
		vm.err = err
		close(vm.done)
	}
	err = startVMM(cmd, m.Share, l, wait)
	pw.Close()
	if err != nil {
		pr.Close()
		logs.f.Close()
		return nil, fmt.Errorf("start %s: %w", q.binary(), err)
	}
	go func() {
		logs.copyFrom(pr)
		pr.Close()
		close(copied)
	}()
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
