package reconcile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
)

func stack(name string, env string) *spec.Stack {
	return &spec.Stack{Name: name, Boxes: map[string]spec.Box{
		"web": {Name: "web", Image: "busybox", Env: []string{env}},
		"db":  {Name: "db", Image: "busybox", Entrypoint: []string{}},
	}}
}

func TestStorePut(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st := NewStore(root)
	src := Source{Kind: SourceFile, Path: "/srv/shop.yaml"}

	r, changed, err := st.Put(ctx, stack("shop", "A=1"), src)
	if err != nil || !changed || r.Generation != 1 {
		t.Fatalf("first put: gen %v, changed %v, %v", r, changed, err)
	}
	if r.Boxes["web"].Hash == "" || r.Boxes["web"].Hash == r.Boxes["db"].Hash {
		t.Errorf("hashes: %+v", r.Boxes)
	}
	r2, changed, err := st.Put(ctx, stack("shop", "A=1"), src)
	if err != nil || changed || r2.Generation != 1 {
		t.Fatalf("same stack again: gen %d, changed %v, %v", r2.Generation, changed, err)
	}
	r3, changed, err := st.Put(ctx, stack("shop", "A=2"), src)
	if err != nil || !changed || r3.Generation != 2 {
		t.Fatalf("changed env: gen %d, changed %v, %v", r3.Generation, changed, err)
	}
	if r3.Boxes["web"].Hash == r.Boxes["web"].Hash || r3.Boxes["db"].Hash != r.Boxes["db"].Hash {
		t.Errorf("only web's hash should change: %+v -> %+v", r.Boxes, r3.Boxes)
	}

	got, err := st.Get("shop")
	if err != nil {
		t.Fatal(err)
	}
	if got.Generation != 2 || !reflect.DeepEqual(got.Source, src) || got.Stack.Boxes["db"].Entrypoint == nil {
		t.Errorf("read back: %+v", got)
	}
	d := got.Desired()
	if len(d) != 2 || d[0].Name != "db" || d[1].Hash != r3.Boxes["web"].Hash {
		t.Errorf("Desired() = %+v", d)
	}
	if fd := DesiredFromStack(stack("shop", "A=2")); fd[1].Hash != d[1].Hash {
		t.Error("DesiredFromStack hashes differ from the store's")
	}
}

func TestStoreUpdateAndStatus(t *testing.T) {
	ctx := context.Background()
	st := NewStore(t.TempDir())
	r, err := st.Update(ctx, ImplicitStack, func(r *StackRecord) error {
		r.Source = Source{Kind: SourceImperative}
		r.Stack.Boxes["web"] = spec.Box{Name: "web", Image: "busybox"}
		return nil
	})
	if err != nil || r.Generation != 1 || r.Boxes["web"].Hash == "" {
		t.Fatalf("implicit stack: %+v, %v", r, err)
	}
	r, err = st.Update(ctx, ImplicitStack, func(r *StackRecord) error {
		e := r.Boxes["web"]
		e.Stopped = true
		r.Boxes["web"] = e
		return nil
	})
	if err != nil || r.Generation != 2 || !r.Boxes["web"].Stopped {
		t.Fatalf("stop: %+v, %v", r, err)
	}
	if _, err := st.Update(ctx, ImplicitStack, func(r *StackRecord) error { return errors.New("no") }); err == nil {
		t.Fatal("fn's error was not returned")
	}
	if err := st.SetStatus(ctx, ImplicitStack, Status{ObservedGeneration: 2, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	r, err = st.Get(ImplicitStack)
	if err != nil || r.Generation != 2 || r.Status.Error != "boom" || !r.Boxes["web"].Stopped {
		t.Fatalf("after status: %+v, %v", r, err)
	}
	if err := st.SetStatus(ctx, "nope", Status{}); !errors.Is(err, ErrNoStack) {
		t.Errorf("status of a missing stack: %v", err)
	}
}

func TestStoreListDelete(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st := NewStore(root)
	if l, err := st.List(); err != nil || len(l) != 0 {
		t.Fatalf("empty store: %v, %v", l, err)
	}
	for _, n := range []string{"b", "a"} {
		if _, _, err := st.Put(ctx, stack(n, "A=1"), Source{Kind: SourceStdin}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := st.List()
	if err != nil || len(l) != 2 || l[0].Name != "a" || l[1].Name != "b" {
		t.Fatalf("List = %v, %v", l, err)
	}
	if err := st.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "a"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := st.Get("a"); !errors.Is(err, ErrNoStack) {
		t.Errorf("Get after Delete: %v", err)
	}
	if _, err := st.Get("../escape"); err == nil {
		t.Error("a stack name with a path in it was taken")
	}
	entries, _ := os.ReadDir(filepath.Join(root, "stacks"))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}

// TestStoreConcurrentUpdates checks that no update is lost when writers
// race: the lock serializes read-modify-write.
func TestStoreConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A store per goroutine: as separate processes would have.
			_, err := NewStore(root).Update(ctx, ImplicitStack, func(r *StackRecord) error {
				name := "b" + string(rune('a'+i))
				r.Stack.Boxes[name] = spec.Box{Name: name, Image: "busybox"}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	r, err := NewStore(root).Get(ImplicitStack)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Stack.Boxes) != n || r.Generation != n {
		t.Errorf("%d boxes at generation %d, want %d at %d", len(r.Stack.Boxes), r.Generation, n, n)
	}
}
