package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func create(t *testing.T, s *Store, name string, o Options) (*Volume, bool, error) {
	t.Helper()
	var v *Volume
	var created bool
	err := s.Update(context.Background(), func(tx *Tx) error {
		var err error
		v, created, err = tx.Create(name, o)
		return err
	})
	return v, created, err
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"data": true, "a1": true, "my_vol.v-2": true, "0x": true,
		"a": false, "": false, "-x": false, "_x": false, ".x": false, "a/b": false,
		"a b": false, "/abs": false, "ü-x": false, strings.Repeat("a", 256): false,
	} {
		if err := CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", name, err, ok)
		}
	}
	if n := NewName(); len(n) != 64 || CheckName(n) != nil {
		t.Errorf("NewName() = %q", n)
	}
}

func TestCreateGetListRemove(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, created, err := create(t, s, "data", Options{Labels: map[string]string{"a": "b"}})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if v.Driver != Driver || v.Mountpoint != filepath.Join(s.Dir(), "data", "_data") || v.CreatedAt.IsZero() {
		t.Fatalf("volume %+v", v)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Fatalf("no _data: %v", err)
	}
	// Creating it again returns the same volume, as Docker does.
	again, created, err := create(t, s, "data", Options{})
	if err != nil || created || again.Labels["a"] != "b" {
		t.Fatalf("second create: %+v %v %v", again, created, err)
	}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := s.Size(v); n != 5 {
		t.Errorf("Size = %d, want 5", n)
	}
	if _, _, err := create(t, s, "anon-"+NewName()[:8], Options{Anonymous: true}); err != nil {
		t.Fatal(err)
	}
	// Leftovers of a crashed create or remove are not volumes.
	for _, d := range []string{"half", ".tmp-x", ".trash-y"} {
		if err := os.Mkdir(filepath.Join(s.Dir(), d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || !strings.HasPrefix(list[0].Name, "anon-") || list[1].Name != "data" || !list[0].Anonymous {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Remove("data") }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("data"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after remove: %v", err)
	}
	entries, _ := os.ReadDir(s.Dir())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") || strings.HasPrefix(e.Name(), ".trash-") || e.Name() == "data" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Remove("data") }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	// A leftover directory of a crashed create does not stop a create.
	if _, created, err := create(t, s, "half", Options{}); err != nil || !created {
		t.Fatalf("create over a leftover: %v %v", created, err)
	}
}

func TestOptions(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := t.TempDir()
	v, _, err := create(t, s, "bound", Options{Options: map[string]string{"type": "none", "o": "bind", "device": host}})
	if err != nil || v.Source() != host {
		t.Fatalf("bind volume: %+v %v", v, err)
	}
	if err := os.WriteFile(filepath.Join(host, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Remove("bound") }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(host, "keep")); err != nil {
		t.Fatalf("removing a bind volume touched its device: %v", err)
	}
	for _, o := range []map[string]string{
		{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"},
		{"type": "none", "o": "bind", "device": "relative"},
		{"type": "none", "o": "bind", "device": filepath.Join(host, "missing")},
		{"size": "1g"},
	} {
		if _, _, err := create(t, s, "bad", Options{Options: o}); err == nil {
			t.Errorf("options %v accepted", o)
		}
	}
	if _, err := s.Get("bad"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused create left a volume: %v", err)
	}
}

// TestConcurrentCreate creates one name from many goroutines, each with
// its own lock file description, as separate processes would: exactly
// one creates it.
func TestConcurrentCreate(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdCount := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, created, err := create(t, s, "shared", Options{})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if created {
				createdCount++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if createdCount != 1 {
		t.Fatalf("%d creates made the volume, want 1", createdCount)
	}
}
