package runtime

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// A box's share (vmm.Share) is made by prepareShare (mounts.go) and
// mounted in the VMM's own mount namespace by the driver; what the host
// keeps of it between boots is a directory of empty entries.

// clearShare empties a box's share directory in the host's namespace,
// where its entries are plain empty directories and files. It removes
// them one by one rather than recursively, so that it could never delete
// through a mount into a volume; only the spool directory, where no
// mount ever is, goes with what a crash left in it.
func clearShare(dir string) error {
	if err := os.RemoveAll(filepath.Join(dir, proto.SpoolDir)); err != nil {
		return fmt.Errorf("clear share: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("clear share: %w", err)
		}
	}
	return nil
}
