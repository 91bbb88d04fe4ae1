// Command guestinit is PID 1 inside every a3s-box microVM.
//
// It prepares the guest (pseudo filesystems, kernel modules, the box's root
// filesystem as an overlay of the read-only image disk and the box's
// writable disk), then serves the host over the control channel: it applies
// the box's setup, runs processes, streams their output, reaps orphans and
// powers the VM off when the box's main process has ended.
package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// version is set by the build (-ldflags -X main.version=...).
var version = "dev"

func main() {
	if os.Args[0] == shimArg0 && os.Getpid() != 1 {
		runShim()
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "guestinit: must run as PID 1 inside an a3s-box guest")
		os.Exit(2)
	}
	if err := boot(); err != nil {
		logf("boot failed: %v", err)
		// A failed boot must not leave a VM idling until the host's
		// deadline: power off at once so the host sees the reason fast.
		powerOff()
	}
	if err := serve(); err != nil {
		logf("%v", err)
	}
	powerOff()
}

func boot() error {
	if err := mountEarly(); err != nil {
		return err
	}
	release, err := kernelRelease()
	if err != nil {
		return err
	}
	if err := loadModules("/lib/modules/" + release); err != nil {
		return fmt.Errorf("load modules: %w", err)
	}
	if err := setupCgroup(); err != nil {
		logf("%v: a pause stops the box's processes with SIGSTOP instead", err)
	}
	if err := assembleRoot(); err != nil {
		return err
	}
	return mountBox()
}

// logf writes to the guest console, which the host keeps as console.log.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "guestinit: "+format+"\n", args...)
}

func kernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// powerOff syncs and powers the VM off; it never returns.
func powerOff() {
	unix.Sync()
	for {
		if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
			logf("power off: %v", err)
		}
		time.Sleep(time.Second)
	}
}
