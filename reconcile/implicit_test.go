package reconcile

import (
	"context"
	"testing"

	"github.com/a3s-box/a3s-box/spec"
)

func TestImperativeEdits(t *testing.T) {
	ctx := context.Background()
	store := NewStore(t.TempDir())
	b := &spec.Box{Name: "web", Image: "img", Labels: map[string]string{"team": "a"}}
	labels, err := Imperative(ctx, store, b, true)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Get(ImplicitStack)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Boxes["web"].Stopped || rec.Stack.Boxes["web"].Image != "img" {
		t.Fatalf("implicit stack after create: %+v", rec.Boxes)
	}
	if labels[LabelStack] != ImplicitStack || labels[LabelBox] != "web" || labels[LabelHash] != ConfigHash(&rec.Stack, "web") || labels["team"] != "a" {
		t.Fatalf("labels %v", labels)
	}
	if b.Labels[LabelStack] != "" {
		t.Fatal("Imperative changed the caller's labels")
	}
	// The box as the runtime holds it plans to nothing while stopped.
	obs := []ObservedBox{{Stack: ImplicitStack, Name: "web", ID: "x", Hash: labels[LabelHash], State: spec.StatusCreated}}
	if acts := Plan(rec.Desired(), obs); len(acts) != 0 {
		t.Fatalf("plan of a created box: %v", acts)
	}
	if err := SetStopped(ctx, store, labels, false); err != nil {
		t.Fatal(err)
	}
	rec, _ = store.Get(ImplicitStack)
	if acts := Plan(rec.Desired(), obs); len(acts) != 1 || acts[0].Kind != ActionStart {
		t.Fatalf("plan after start: %v", acts)
	}
	if err := Forget(ctx, store, labels); err != nil {
		t.Fatal(err)
	}
	rec, _ = store.Get(ImplicitStack)
	if _, ok := rec.Stack.Boxes["web"]; ok {
		t.Fatal("rm left the box in the implicit stack")
	}
	if l, err := Imperative(ctx, store, &spec.Box{Name: "tmp", Image: "img", AutoRemove: true}, false); err != nil || l != nil {
		t.Fatalf("a --rm box was recorded: %v %v", l, err)
	}
}
