package statefile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := WriteJSON(p, map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(p, map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := ReadJSON(p, &got); err != nil || got["n"] != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}

func TestLockExcludes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	l, err := Acquire(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to open file descriptions, so a second open in the
	// same process contends like another process would.
	if _, err := TryLock(p); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock while held: err = %v, want ErrLocked", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire while held: err = %v", err)
	}
	l.Release()
	l2, err := TryLock(p)
	if err != nil {
		t.Fatalf("TryLock after release: %v", err)
	}
	l2.Release()
}

func TestLockSerialisesUpdates(t *testing.T) {
	dir := t.TempDir()
	lock, p := filepath.Join(dir, "lock"), filepath.Join(dir, "count.json")
	if err := WriteJSON(p, 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				l, err := Acquire(context.Background(), lock)
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				_ = ReadJSON(p, &n)
				_ = WriteJSON(p, n+1)
				l.Release()
			}
		}()
	}
	wg.Wait()
	var n int
	if err := ReadJSON(p, &n); err != nil || n != 80 {
		t.Fatalf("count = %d, %v; want 80 (lost updates)", n, err)
	}
}
