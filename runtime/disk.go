package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// makeWritableDisk creates a box's writable disk: a sparse file holding an
// empty ext4. Lazy inode-table and journal initialisation keep it a few
// megabytes on the host however large its apparent size.
func makeWritableDisk(ctx context.Context, path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create writable disk: %w", err)
	}
	err = f.Truncate(size)
	f.Close()
	if err != nil {
		return fmt.Errorf("create writable disk: %w", err)
	}
	out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F",
		"-E", "lazy_itable_init=1,lazy_journal_init=1", "-L", "a3s-rw", path).CombinedOutput()
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("format writable disk: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
