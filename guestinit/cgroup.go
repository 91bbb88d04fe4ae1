package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"golang.org/x/sys/unix"
)

// The box's processes, the main one and every exec, start in one cgroup
// (v2) of the guest's own, and what they fork stays there. Pausing a box
// freezes that cgroup (cgroup.freeze), as Docker's freezer does: every
// process of the box stops at once, without a signal any of them could
// see, while guestinit, outside it, goes on answering, so a paused box's
// files can still be copied and its processes listed. The host then stops
// the VM's vCPUs as well, and lets them run only while it uses the guest.
// The cgroup is reached through a descriptor of a detached mount: no path
// of the box leads to it. A guest that cannot make it falls back to
// stopping the box's processes with SIGSTOP (freezeBox).

// boxCgroup is the box's cgroup directory, -1 when the guest has none.
var boxCgroup = -1

// freezeWait bounds how long freezing may take: a process in the middle
// of a system call freezes when it returns to user space.
const freezeWait = 5 * time.Second

// setupCgroup makes the box's cgroup.
func setupCgroup() error {
	fsfd, err := unix.Fsopen("cgroup2", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("box cgroup: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("box cgroup: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("box cgroup: %w", err)
	}
	defer unix.Close(mfd)
	// The pids controller for the box's cgroup (--pids-limit); a kernel
	// without it leaves the box unbounded, and --pids-limit then fails.
	if fd, err := unix.Openat(mfd, "cgroup.subtree_control", unix.O_WRONLY|unix.O_CLOEXEC, 0); err == nil {
		if _, err := unix.Write(fd, []byte("+pids")); err != nil {
			logf("enable the pids controller: %v", err)
		}
		unix.Close(fd)
	}
	if err := unix.Mkdirat(mfd, "a3s-box", 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("box cgroup: %w", err)
	}
	fd, err := unix.Openat(mfd, "a3s-box", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("box cgroup: %w", err)
	}
	boxCgroup = fd
	return nil
}

// freezer counts who holds the box frozen: a pause and a commit --pause
// may overlap, and the box thaws when the last lets go.
var freezer struct {
	sync.Mutex
	holds int
	thaw  func() // freezeBox's, without a cgroup
}

// freeze stops every process of the box until thaw is called.
func freeze() (thaw func(), err error) {
	freezer.Lock()
	defer freezer.Unlock()
	if freezer.holds == 0 {
		if boxCgroup >= 0 {
			if err := setFrozen(true); err != nil {
				_ = setFrozen(false)
				return nil, err
			}
		} else {
			freezer.thaw = freezeBox()
		}
	}
	freezer.holds++
	var once sync.Once
	return func() {
		once.Do(func() {
			freezer.Lock()
			defer freezer.Unlock()
			if freezer.holds--; freezer.holds > 0 {
				return
			}
			if boxCgroup >= 0 {
				if err := setFrozen(false); err != nil {
					logf("thaw the box: %v", err)
				}
			} else if freezer.thaw != nil {
				freezer.thaw()
				freezer.thaw = nil
			}
		})
	}, nil
}

// setFrozen writes the cgroup's freeze switch; freezing waits until the
// kernel reports every process frozen.
func setFrozen(on bool) error {
	v := []byte("0")
	if on {
		v = []byte("1")
	}
	fd, err := unix.Openat(boxCgroup, "cgroup.freeze", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("freeze the box: %w", err)
	}
	_, err = unix.Write(fd, v)
	unix.Close(fd)
	if err != nil || !on {
		return err
	}
	deadline := time.Now().Add(freezeWait)
	for {
		fd, err := unix.Openat(boxCgroup, "cgroup.events", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("freeze the box: %w", err)
		}
		buf := make([]byte, 256)
		n, _ := unix.Read(fd, buf)
		unix.Close(fd)
		if bytes.Contains(buf[:max(n, 0)], []byte("frozen 1")) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the box's processes did not freeze within %s", freezeWait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// pauseThaw thaws what the host's pause froze; nil while not paused.
// Only the control stream's loop touches it.
var pauseThaw func()

// replyFreeze applies a Freeze message and answers Ack or Error.
func replyFreeze(ctl net.Conn, f proto.Frame) {
	var m proto.Freeze
	err := f.Decode(&m)
	switch {
	case err != nil:
	case m.Frozen && pauseThaw == nil:
		pauseThaw, err = freeze()
	case !m.Frozen && pauseThaw != nil:
		pauseThaw()
		pauseThaw = nil
	}
	if err != nil {
		_ = proto.WriteMessage(ctl, &proto.Error{Message: err.Error()})
		return
	}
	_ = proto.WriteMessage(ctl, &proto.Ack{})
}
