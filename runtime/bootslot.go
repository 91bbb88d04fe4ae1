package runtime

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/runtime/vmm"
)

// Under TCG a boot is CPU-bound work for a few seconds: with more boots
// in flight than the host has cores, every one of them slows down, past
// its readiness deadline when there are many (ten boxes of one apply on
// two cores: six missed it and booted again, and the apply took longer
// than booting them one after another). So at most one boot per core
// runs at a time; the others wait for a slot, and the deadline counts
// from when the boot starts. The slots are flock-ed files under the run
// directory, shared by every supervisor and CLI of the root; a process
// that dies lets go of its slot with its descriptors. KVM boots take
// little CPU and wait for no slot.

// bootSlotPoll is how often a boot waiting for a slot looks again.
const bootSlotPoll = 20 * time.Millisecond

// bootSlot waits for a boot slot; the caller releases it once the guest
// is ready (or the boot failed). It is nil under KVM.
func (r *Runtime) bootSlot(ctx context.Context) (*statefile.Lock, error) {
	if r.Accel.Name == vmm.AccelKVM {
		return nil, nil
	}
	dir := filepath.Join(r.runBase, "boot-slots")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	n := goruntime.NumCPU()
	first := rand.IntN(n)
	for {
		for i := range n {
			l, err := statefile.TryLock(filepath.Join(dir, strconv.Itoa((first+i)%n)))
			if err == nil {
				return l, nil
			}
			if !errors.Is(err, statefile.ErrLocked) {
				return nil, err
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(bootSlotPoll):
		}
	}
}
