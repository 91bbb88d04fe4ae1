package initramfs

import (
	"fmt"
	"io"
)

// ReplaceInit writes base, an initramfs, followed by an archive holding
// only init as /init. The kernel unpacks concatenated archives in order
// and a later file replaces an earlier one, so the guest boots init with
// everything else of base: the initramfs of a guest whose root has
// replaced guestinit, which the hostile-guest tests boot.
func ReplaceInit(w io.Writer, base io.Reader, init string) error {
	n, err := io.Copy(w, base)
	if err != nil {
		return fmt.Errorf("copy the initramfs: %w", err)
	}
	if n%4 != 0 {
		// newc archives are padded to 4 bytes; the kernel looks for the
		// next one's magic on that boundary.
		if _, err := w.Write(make([]byte, 4-n%4)); err != nil {
			return err
		}
	}
	cw := &cpioWriter{w: w}
	if err := (entry{name: "init", mode: 0o755, src: init}).write(cw); err != nil {
		return fmt.Errorf("write /init: %w", err)
	}
	return cw.close()
}
