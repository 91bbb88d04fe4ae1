package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// runBase is where control sockets live. Unix socket paths are limited to
// 108 bytes, so a root with a long path puts them under /tmp instead.
func runBase(root string) string {
	base := filepath.Join(root, "run")
	if len(base)+len("/0123456789ab/ctl.sock") < 100 {
		return base
	}
	h := sha256.Sum256([]byte(root))
	return filepath.Join(os.TempDir(), "a3s-box-"+hex.EncodeToString(h[:6]))
}

// openRunBase makes root's run directory. One under /tmp has a name
// anyone can guess and make first: a directory another user owns, or a
// link to one, would put the boxes' control sockets in their hands, so
// it must be a real directory of ours that only we can enter.
func openRunBase(root string) (string, error) {
	base := runBase(root)
	if base == filepath.Join(root, "run") {
		if err := os.MkdirAll(base, 0o700); err != nil {
			return "", fmt.Errorf("open run directory: %w", err)
		}
		return base, nil
	}
	if err := os.Mkdir(base, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("open run directory: %w", err)
	}
	return base, checkOwnDir(base)
}

// checkOwnDir refuses dir unless it is a directory (not a link) that the
// effective user owns with mode 0700.
func checkOwnDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("open run directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("run directory %s is a symbolic link, not a3s-box's own: remove it or use a shorter root", dir)
	case !fi.IsDir() || !ok:
		return fmt.Errorf("run directory %s is not a directory: remove it or use a shorter root", dir)
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("run directory %s is owned by uid %d, not %d: remove it or use a shorter root", dir, st.Uid, os.Geteuid())
	case fi.Mode().Perm() != 0o700:
		return fmt.Errorf("run directory %s has mode %#o, not 0700: remove it or use a shorter root", dir, fi.Mode().Perm())
	}
	return nil
}
