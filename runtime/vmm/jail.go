package vmm

import (
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The VMM is the one process that parses what a guest sends through
// emulated devices, so it gets the least a3s-box can give it, as
// Firecracker's jailer does:
//
//   - a host user of its box's own (User), with no supplementary group
//     but /dev/kvm's when it uses KVM, and no capability at all, unless
//     the box has volumes or bind mounts: then CAP_CHOWN, CAP_DAC_OVERRIDE
//     and CAP_FOWNER, which its 9p server needs to act for the guest's
//     root on host directories, and nothing else (no CAP_MKNOD, no
//     CAP_FSETID, no CAP_SETFCAP);
//   - no_new_privs and a3s-box's seccomp filter (seccomp.go), then
//     QEMU's own sandbox on top;
//   - only its box's files, each opened by the supervisor and handed in
//     as a descriptor (disks, kernel, initramfs, the control and monitor
//     sockets, the console pipe, the share directory), so the user needs
//     no access to any path of a3s-box's state; for a box with bind
//     mounts, whose VMM can override permissions, a3s-box's state and
//     run directories are covered by empty file systems in its mount
//     namespace.
//
// Go cannot install a seccomp filter between fork and exec, so QEMU is
// started through the a3s-box binary itself: the child, already under
// the box's user, sees jailEnv, installs the filter on its only locked
// thread and executes QEMU in its place.

// User is the host identity a box's VMM runs as.
type User struct {
	UID, GID uint32
}

// jailEnv marks the child that jails and becomes QEMU; its value is
// QEMU's path.
const jailEnv = "_A3S_BOX_VMM_JAIL"

func init() {
	if qemu := os.Getenv(jailEnv); qemu != "" {
		jailExec(qemu)
	}
}

// jailExec installs the filter and executes QEMU with this process's
// arguments; it returns only by exiting.
func jailExec(qemu string) {
	goruntime.LockOSThread()
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, jailEnv+"=") {
			env = append(env, kv)
		}
	}
	err := installVMMFilter()
	if err == nil {
		err = unix.Exec(qemu, append([]string{qemu}, os.Args[1:]...), env)
	}
	fmt.Fprintf(os.Stderr, "a3s-box: jail %s: %v\n", qemu, err)
	os.Exit(127)
}

// shareCaps are the capabilities of a VMM whose 9p server reaches host
// directories.
var shareCaps = []uintptr{unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER}

// jailCommand is the command that starts qemu with args jailed as m
// says.
func jailCommand(qemu string, args []string, m *Machine) (*exec.Cmd, error) {
	path, err := exec.LookPath(qemu)
	if err != nil {
		return nil, err
	}
	// /proc/self/exe still runs this binary after an upgrade replaced
	// its file, for a supervisor that restarts its box then.
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Env = append(os.Environ(), jailEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// The VMM must not outlive a CLI killed with SIGKILL, and must not
		// receive the terminal's Ctrl-C: the CLI decides what a signal means.
		Pdeathsig: syscall.SIGKILL,
		Setpgid:   true,
	}
	if m.User != nil && os.Geteuid() == 0 {
		groups := []uint32{}
		if m.Accel == AccelKVM {
			var st unix.Stat_t
			if err := unix.Stat("/dev/kvm", &st); err == nil {
				groups = append(groups, st.Gid)
			}
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: m.User.UID, Gid: m.User.GID, Groups: groups}
		if m.Share != nil && len(m.Share.Binds) > 0 {
			cmd.SysProcAttr.AmbientCaps = shareCaps
		}
	}
	return cmd, nil
}
