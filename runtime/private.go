package runtime

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// privateRoot makes the root readable by its owner alone. Every state
// file and folder under it is 0600/0700 when made, but roots made by
// older versions were 0755 with 0644 records inside: closing the root is
// what makes those unreachable too. A root someone else owns (a shared
// --root the operator chose) is left as it is.
func privateRoot(root string) error {
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return fmt.Errorf("open root %s: %w", root, err)
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o777 == 0o700 {
		return nil
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return fmt.Errorf("open root %s: make it private: %w", root, err)
	}
	return nil
}
