package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/spec"
)

// A box folder holds one of these as its config.json; the repair pass
// runs over all of them together.
func TestUnreadableRecords(t *testing.T) {
	id := func(c byte) string { return strings.Repeat(string(c), 64) }
	cases := []struct {
		name   string
		folder string
		record string // "" writes no config.json
		want   string // listed status, "" for not listed
		kept   bool   // the folder survives repair
	}{
		{"readable", id('a'), `{"id":"` + id('a') + `","name":"ok"}`, spec.StatusCreated, true},
		{"corrupt", id('b'), `{"id":"` + id('b'), spec.StatusUnknown, true},
		{"another box's", id('c'), `{"id":"` + id('d') + `"}`, spec.StatusUnknown, true},
		{"never recorded", id('e'), "", "", false},
		{"not an ID", "scratch", `{`, "", true},
		{"crashed removal", removedPrefix + id('f'), `{"id":"` + id('f') + `"}`, "", false},
	}
	root := t.TempDir()
	r := &Runtime{Config: &Config{}, root: root, runBase: filepath.Join(root, "run")}
	for _, c := range cases {
		dir := filepath.Join(r.boxesDir(), c.folder)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := statefile.WriteJSON(filepath.Join(dir, "state.json"), &BoxState{Status: spec.StatusCreated}); err != nil {
			t.Fatal(err)
		}
		if c.record != "" {
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(c.record), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "rw.ext4"), []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Repair(context.Background()); err != nil {
		t.Fatal(err)
	}
	boxes, err := r.Boxes()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]*Box{}
	for _, b := range boxes {
		listed[b.ID] = b
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := os.Stat(filepath.Join(r.boxesDir(), c.folder, "rw.ext4"))
			if kept := err == nil; kept != c.kept {
				t.Errorf("after repair the folder's disk is there: %v, want %v", kept, c.kept)
			}
			b := listed[c.folder]
			switch {
			case c.want == "" && b != nil:
				t.Errorf("listed as %s, want not listed", b.State.Status)
			case c.want != "" && b == nil:
				t.Errorf("not listed, want %s", c.want)
			case b != nil && b.State.Status != c.want:
				t.Errorf("listed as %s, want %s", b.State.Status, c.want)
			}
			if c.want != spec.StatusUnknown {
				return
			}
			if !strings.Contains(b.State.Error, "cannot be read") {
				t.Errorf("state error %q does not give the reason", b.State.Error)
			}
			if l, err := r.Lookup(c.folder[:12]); err != nil || l.State.Status != spec.StatusUnknown {
				t.Errorf("lookup by ID prefix: %v, %v", l, err)
			}
			err = r.Remove(context.Background(), c.folder, false)
			if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "rm -f") {
				t.Errorf("rm without -f: %v, want a refusal naming rm -f", err)
			}
			if err := r.Remove(context.Background(), c.folder, true); err != nil {
				t.Fatalf("rm -f: %v", err)
			}
			if _, err := os.Stat(filepath.Join(r.boxesDir(), c.folder)); !os.IsNotExist(err) {
				t.Errorf("rm -f left the folder: %v", err)
			}
		})
	}
}
