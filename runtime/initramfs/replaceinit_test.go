package initramfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReplaceInit checks that the initramfs comes out whole and is
// followed, on a 4-byte boundary, by an archive of the new /init alone:
// what the kernel unpacks last wins.
func TestReplaceInit(t *testing.T) {
	for _, pad := range []int{0, 1, 2, 3} {
		var base bytes.Buffer
		cw := &cpioWriter{w: &base}
		if err := cw.file("init", 0o755, 3, strings.NewReader("old")); err != nil {
			t.Fatal(err)
		}
		if err := cw.close(); err != nil {
			t.Fatal(err)
		}
		// An initramfs need not end on a 4-byte boundary (a compressed
		// one, say).
		base.Write(make([]byte, pad))
		newInit := filepath.Join(t.TempDir(), "init")
		if err := os.WriteFile(newInit, []byte("hostile"), 0o755); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := ReplaceInit(&out, bytes.NewReader(base.Bytes()), newInit); err != nil {
			t.Fatal(err)
		}
		b := out.Bytes()
		if !bytes.HasPrefix(b, base.Bytes()) {
			t.Fatalf("pad %d: the initramfs is not copied whole", pad)
		}
		next := (base.Len() + 3) &^ 3
		got, err := readNewc(b[next:])
		if err != nil {
			t.Fatalf("pad %d: the appended archive: %v", pad, err)
		}
		if len(got) != 1 || got[0].name != "init" || got[0].data != "hostile" || got[0].mode != syscall.S_IFREG|0o755 {
			t.Fatalf("pad %d: the appended archive holds %+v", pad, got)
		}
	}
}
