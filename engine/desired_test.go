package engine

import (
	"context"
	"testing"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/spec"
)

// TestImperativeEdits follows one box of the implicit stack through
// create, start and rm as the desired state sees them: each edit leaves a
// plan that keeps the box as its user left it.
func TestImperativeEdits(t *testing.T) {
	ctx := context.Background()
	e := &Engine{store: reconcile.NewStore(t.TempDir())}
	b := &spec.Box{Name: "web", Image: "img", Labels: map[string]string{"team": "a"}}
	labels := implicitLabels(b)
	if err := e.recordBox(ctx, *b, true); err != nil {
		t.Fatal(err)
	}
	rec, err := e.store.Get(reconcile.ImplicitStack)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Boxes["web"].Stopped || rec.Stack.Boxes["web"].Image != "img" {
		t.Fatalf("implicit stack after create: %+v", rec.Boxes)
	}
	if labels[reconcile.LabelStack] != reconcile.ImplicitStack || labels[reconcile.LabelBox] != "web" || labels["team"] != "a" {
		t.Fatalf("labels %v", labels)
	}
	if labels[reconcile.LabelHash] != rec.Boxes["web"].Hash {
		t.Fatalf("the box's hash label %s is not the hash the store keeps, %s", labels[reconcile.LabelHash], rec.Boxes["web"].Hash)
	}
	if b.Labels[reconcile.LabelStack] != "" {
		t.Fatal("implicitLabels changed the caller's labels")
	}
	// The box as the runtime holds it plans to nothing while stopped.
	obs := []reconcile.ObservedBox{{Stack: reconcile.ImplicitStack, Name: "web", ID: "x", Hash: labels[reconcile.LabelHash], State: spec.StatusCreated}}
	if acts := reconcile.Plan(rec.Desired(), obs); len(acts) != 0 {
		t.Fatalf("plan of a created box: %v", acts)
	}
	if err := e.markStopped(ctx, reconcile.ImplicitStack, "web", false); err != nil {
		t.Fatal(err)
	}
	rec, _ = e.store.Get(reconcile.ImplicitStack)
	if acts := reconcile.Plan(rec.Desired(), obs); len(acts) != 1 || acts[0].Kind != reconcile.ActionStart {
		t.Fatalf("plan after start: %v", acts)
	}
	if err := e.renameBox(ctx, "web", "api"); err != nil {
		t.Fatal(err)
	}
	rec, _ = e.store.Get(reconcile.ImplicitStack)
	if _, ok := rec.Stack.Boxes["api"]; !ok || len(rec.Stack.Boxes) != 1 || rec.Stack.Boxes["api"].Name != "api" {
		t.Fatalf("implicit stack after rename: %v", rec.Stack.Boxes)
	}
	if err := e.forgetBox(ctx, reconcile.ImplicitStack, "api"); err != nil {
		t.Fatal(err)
	}
	rec, _ = e.store.Get(reconcile.ImplicitStack)
	if len(rec.Stack.Boxes) != 0 {
		t.Fatalf("rm left %v in the implicit stack", rec.Stack.Boxes)
	}
	// A box of another stack stays in it when removed: the stack still
	// wants it.
	if _, _, err := e.store.Put(ctx, &spec.Stack{Name: "web", Boxes: map[string]spec.Box{"api": {Image: "img"}}}, reconcile.Source{Kind: reconcile.SourceFile}); err != nil {
		t.Fatal(err)
	}
	if err := e.forgetBox(ctx, "web", "api"); err != nil {
		t.Fatal(err)
	}
	if rec, _ := e.store.Get("web"); rec == nil || len(rec.Stack.Boxes) != 1 {
		t.Fatalf("rm of a stack's box took it out of its stack: %+v", rec)
	}
}
