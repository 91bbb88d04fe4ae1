package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"golang.org/x/sys/unix"
)

// Each running VMM has a host user of its own (vmm/jail.go), so that one
// box's QEMU can neither open another's files nor signal or trace
// another QEMU. The users are numbers no account has: VMMUIDBase and
// the VMMUsers after it (in systemd's reserved range 0x70000000 and up,
// clear of login users, system users and container ranges), each
// leased by a flock on <root>/vmm-users/<n> for as long as its
// supervisor (or the CLI booting a stopped box for cp) lives. A crashed
// holder's lease goes with it.
const (
	VMMUIDBase = 0x70000000
	VMMUsers   = 1 << 16
)

// vmmLease is one leased VMM user.
type vmmLease struct {
	user vmm.User
	lock *statefile.Lock
}

// leaseVMMUser takes the first free VMM user. Without root a3s-box
// cannot change users: the VMM runs as the caller, and the lease is nil.
func (r *Runtime) leaseVMMUser() (*vmmLease, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	dir := filepath.Join(r.root, "vmm-users")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lease a VMM user: %w", err)
	}
	for n := 0; n < VMMUsers; n++ {
		l, err := statefile.TryLock(filepath.Join(dir, strconv.Itoa(n)))
		if errors.Is(err, statefile.ErrLocked) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("lease a VMM user: %w", err)
		}
		id := uint32(VMMUIDBase + n)
		return &vmmLease{user: vmm.User{UID: id, GID: id}, lock: l}, nil
	}
	return nil, fmt.Errorf("lease a VMM user: all %d are in use", VMMUsers)
}

// User is the leased user, nil for none.
func (l *vmmLease) User() *vmm.User {
	if l == nil {
		return nil
	}
	return &l.user
}

func (l *vmmLease) release() {
	if l != nil {
		l.lock.Release()
	}
}

// giveSpool makes the share's spool directory the VMM user's: the only
// place in the share a VMM without capabilities writes. The share
// directory itself stays the host's (read-only to the VMM), so a guest
// can add nothing beside its entries.
func giveSpool(shareDir string, u *vmm.User) error {
	share, err := openShareDir(shareDir)
	if err != nil {
		return fmt.Errorf("share: %w", err)
	}
	defer unix.Close(share)
	if err := unix.Fchmod(share, 0o755); err != nil {
		return fmt.Errorf("share: %w", err)
	}
	if u == nil {
		return nil
	}
	spool, err := openSubdir(share, proto.SpoolDir)
	if err != nil {
		return fmt.Errorf("share: %w", err)
	}
	defer unix.Close(spool)
	if err := unix.Fchown(spool, int(u.UID), int(u.GID)); err != nil {
		return fmt.Errorf("share: %w", err)
	}
	return nil
}
