package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenRunBase checks the run directory a long root puts under /tmp:
// one that another user made first, or a link, is refused.
func TestOpenRunBase(t *testing.T) {
	root := "/" + strings.Repeat("r", 120)
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, base string)
		err     string
	}{
		{"made by us", func(*testing.T, string) {}, ""},
		{"made before by us", func(t *testing.T, base string) { mustDo(t, os.Mkdir(base, 0o700)) }, ""},
		{"open to others", func(t *testing.T, base string) {
			mustDo(t, os.Mkdir(base, 0o700))
			mustDo(t, os.Chmod(base, 0o777))
		}, "mode"},
		{"a link", func(t *testing.T, base string) {
			mustDo(t, os.Symlink(t.TempDir(), base))
		}, "symbolic link"},
		{"a file", func(t *testing.T, base string) { mustDo(t, os.WriteFile(base, nil, 0o600)) }, "not a directory"},
		{"another user's", func(t *testing.T, base string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to make a directory another user owns")
			}
			mustDo(t, os.Mkdir(base, 0o700))
			mustDo(t, os.Chown(base, 65534, 65534))
		}, "owned by uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TMPDIR", t.TempDir())
			base := runBase(root)
			if filepath.Dir(base) != os.TempDir() {
				t.Fatalf("run directory %s not under %s", base, os.TempDir())
			}
			tc.prepare(t, base)
			got, err := openRunBase(root)
			if tc.err == "" {
				if err != nil || got != base {
					t.Fatalf("got %q, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one with %q", err, tc.err)
			}
		})
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
