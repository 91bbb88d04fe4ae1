package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"syscall"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// A box's process gets its capability bounding set, resource limits,
// no_new_privs and user from a short-lived copy of guestinit (the exec
// shim) that sets them on itself and then executes the command: Go's
// process start can change the user, but not the bounding set, limits or
// no_new_privs of the child, and guestinit (PID 1) must keep all of its
// own. The shim is guestinit's own binary through /proc/self/exe, so
// nothing of it is in the box's file system. A failure before the
// command runs (its execve included) comes back over a pipe, as Go's own
// process start reports one, so a missing command keeps Docker's 126 and
// 127.

// shimArg0 is argv[0] of the exec shim: shimArg0, its JSON config, then
// the command's argv.
const shimArg0 = "a3s-box-exec"

// shimErrFD is the shim's end of the error pipe.
const shimErrFD = 3

type shimConfig struct {
	Path       string         `json:"path"`
	UID        uint32         `json:"uid"`
	GID        uint32         `json:"gid"`
	Groups     []uint32       `json:"groups,omitempty"`
	Caps       []string       `json:"caps"`
	Rlimits    []proto.Rlimit `json:"rlimits,omitempty"`
	NoNewPrivs bool           `json:"noNewPrivs,omitempty"`
}

// shimReport is what a failed shim writes on the error pipe.
type shimReport struct {
	Errno int    `json:"errno,omitempty"` // the failed execve's
	Msg   string `json:"msg"`
}

// capNumbers are the capabilities by name, without CAP_.
var capNumbers = map[string]int{
	"CHOWN": unix.CAP_CHOWN, "DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE, "DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH,
	"FOWNER": unix.CAP_FOWNER, "FSETID": unix.CAP_FSETID, "KILL": unix.CAP_KILL, "SETGID": unix.CAP_SETGID,
	"SETUID": unix.CAP_SETUID, "SETPCAP": unix.CAP_SETPCAP, "LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE,
	"NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "NET_BROADCAST": unix.CAP_NET_BROADCAST, "NET_ADMIN": unix.CAP_NET_ADMIN,
	"NET_RAW": unix.CAP_NET_RAW, "IPC_LOCK": unix.CAP_IPC_LOCK, "IPC_OWNER": unix.CAP_IPC_OWNER,
	"SYS_MODULE": unix.CAP_SYS_MODULE, "SYS_RAWIO": unix.CAP_SYS_RAWIO, "SYS_CHROOT": unix.CAP_SYS_CHROOT,
	"SYS_PTRACE": unix.CAP_SYS_PTRACE, "SYS_PACCT": unix.CAP_SYS_PACCT, "SYS_ADMIN": unix.CAP_SYS_ADMIN,
	"SYS_BOOT": unix.CAP_SYS_BOOT, "SYS_NICE": unix.CAP_SYS_NICE, "SYS_RESOURCE": unix.CAP_SYS_RESOURCE,
	"SYS_TIME": unix.CAP_SYS_TIME, "SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG, "MKNOD": unix.CAP_MKNOD,
	"LEASE": unix.CAP_LEASE, "AUDIT_WRITE": unix.CAP_AUDIT_WRITE, "AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL,
	"SETFCAP": unix.CAP_SETFCAP, "MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE, "MAC_ADMIN": unix.CAP_MAC_ADMIN,
	"SYSLOG": unix.CAP_SYSLOG, "WAKE_ALARM": unix.CAP_WAKE_ALARM, "BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND,
	"AUDIT_READ": unix.CAP_AUDIT_READ, "PERFMON": unix.CAP_PERFMON, "BPF": unix.CAP_BPF,
	"CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// rlimitNumbers are Docker's --ulimit names.
var rlimitNumbers = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// needsShim reports whether ex asks for more than Go's process start
// gives.
func needsShim(ex *proto.Exec) bool {
	return ex.Caps != nil || len(ex.Rlimits) > 0 || ex.NoNewPrivs
}

// startBoxProcess starts ex's command (path, with attr from prepare),
// through the exec shim when ex needs it.
func (g *guest) startBoxProcess(ex *proto.Exec, path string, attr *os.ProcAttr) (*os.Process, <-chan unix.WaitStatus, error) {
	if !needsShim(ex) {
		return g.reaper.start(path, ex.Args, attr)
	}
	cred := attr.Sys.Credential
	cfg, err := json.Marshal(shimConfig{Path: path, UID: cred.Uid, GID: cred.Gid, Groups: cred.Groups,
		Caps: ex.Caps, Rlimits: ex.Rlimits, NoNewPrivs: ex.NoNewPrivs})
	if err != nil {
		return nil, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer errR.Close()
	shim := *attr
	sys := *attr.Sys
	sys.Credential = nil // the shim changes user once it has dropped capabilities
	shim.Sys = &sys
	shim.Files = append(append([]*os.File(nil), attr.Files[:3]...), errW)
	p, wait, err := g.reaper.start("/proc/self/exe", append([]string{shimArg0, string(cfg)}, ex.Args...), &shim)
	errW.Close()
	if err != nil {
		return nil, nil, err
	}
	// The pipe closes without a word when the command runs (close on
	// exec), and carries a report when it does not.
	var rep shimReport
	if json.NewDecoder(errR).Decode(&rep) != nil {
		return p, wait, nil
	}
	<-wait
	if rep.Errno != 0 {
		return nil, nil, &os.PathError{Op: "exec", Path: path, Err: syscall.Errno(rep.Errno)}
	}
	return nil, nil, &startError{126, rep.Msg}
}

// runShim is the exec shim's main: it never returns.
func runShim() {
	// Capability and no_new_privs changes are the calling thread's, and
	// execve carries the thread's: all of it happens on this one.
	goruntime.LockOSThread()
	errPipe := os.NewFile(shimErrFD, "error pipe")
	fail := func(errno int, format string, args ...any) {
		_ = json.NewEncoder(errPipe).Encode(shimReport{Errno: errno, Msg: fmt.Sprintf(format, args...)})
		os.Exit(126)
	}
	var cfg shimConfig
	if len(os.Args) < 3 || json.Unmarshal([]byte(os.Args[1]), &cfg) != nil {
		fail(0, "exec shim: bad arguments")
	}
	unix.CloseOnExec(shimErrFD)
	if err := applyShim(&cfg); err != nil {
		fail(0, "%v", err)
	}
	err := syscall.Exec(cfg.Path, os.Args[2:], os.Environ())
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = syscall.EINVAL
	}
	fail(int(errno), "exec %s: %v", cfg.Path, err)
}

// applyShim sets cfg on the calling process: limits, then the bounding
// set (which needs CAP_SETPCAP, so before the user changes), the user,
// and no_new_privs last.
func applyShim(cfg *shimConfig) error {
	for _, l := range cfg.Rlimits {
		n, ok := rlimitNumbers[l.Name]
		if !ok {
			return fmt.Errorf("ulimit %q: unknown", l.Name)
		}
		// syscall's Setrlimit, not unix's: it tells the Go runtime not
		// to put back its own nofile limit at exec.
		if err := syscall.Setrlimit(n, &syscall.Rlimit{Cur: rlimValue(l.Soft), Max: rlimValue(l.Hard)}); err != nil {
			return fmt.Errorf("set ulimit %s=%d:%d: %w", l.Name, l.Soft, l.Hard, err)
		}
	}
	if cfg.Caps != nil {
		keep := map[int]bool{}
		for _, c := range cfg.Caps {
			n, ok := capNumbers[c]
			if !ok {
				return fmt.Errorf("capability %q: unknown", c)
			}
			keep[n] = true
		}
		for n := 0; n <= unix.CAP_LAST_CAP; n++ {
			if keep[n] {
				continue
			}
			// A capability this kernel lacks is not in any set.
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("drop capability %d: %w", n, err)
			}
		}
	}
	if err := syscall.Setgroups(intsOf(cfg.Groups)); err != nil {
		return fmt.Errorf("set groups: %w", err)
	}
	if err := syscall.Setgid(int(cfg.GID)); err != nil {
		return fmt.Errorf("set gid %d: %w", cfg.GID, err)
	}
	if err := syscall.Setuid(int(cfg.UID)); err != nil {
		return fmt.Errorf("set uid %d: %w", cfg.UID, err)
	}
	if cfg.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	return nil
}

func rlimValue(v int64) uint64 {
	if v < 0 {
		return unix.RLIM_INFINITY
	}
	return uint64(v)
}

func intsOf(ids []uint32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// addGroups resolves --group-add entries, GIDs or names of the box's
// /etc/group, onto u's groups.
func addGroups(u *user, names []string, groupPath string) error {
	if len(names) == 0 {
		return nil
	}
	groups, _ := readGroups(groupPath)
	for _, name := range names {
		if id, err := strconv.ParseUint(name, 10, 32); err == nil {
			u.groups = append(u.groups, uint32(id))
			continue
		}
		found := false
		for _, g := range groups {
			if g.name == name {
				u.groups, found = append(u.groups, g.gid), true
				break
			}
		}
		if !found {
			return fmt.Errorf("unable to find group %s: no matching entries in group file", name)
		}
	}
	return nil
}
