package reconcile

import (
	"context"
	"time"
)

// Result is what one reconcile of a stack did.
type Result struct {
	Actions []Action // carried out
	Orphans []Action // left alone: removals an apply without prune skips
}

// Options narrow a reconcile, for compose's verbs that act on some
// services or some kinds of change.
type Options struct {
	// Prune removes orphans: boxes the stack no longer has.
	Prune bool
	// Only limits the reconcile to these boxes of the stack (the services
	// named on the command line and what they depend on); nil means all.
	// Orphans are outside every such set.
	Only map[string]bool
	// Kinds limits the actions to these kinds (`compose start` only
	// starts); nil means all.
	Kinds map[ActionKind]bool
	// Recreate makes every box (of Only) again even if unchanged.
	Recreate bool
	// NoStart creates boxes without starting them, and starts none.
	NoStart bool
}

// Reconcile makes the runtime match one stack's desired state: observe,
// plan, execute, then record the status (observed generation, each box's
// state, the error if any). Without prune, boxes the stack no longer has
// are left running and reported as orphans.
func (e *Executor) Reconcile(ctx context.Context, store *Store, name string, prune bool) (*Result, error) {
	return e.ReconcileWith(ctx, store, name, Options{Prune: prune})
}

// ReconcileWith is Reconcile narrowed by o.
func (e *Executor) ReconcileWith(ctx context.Context, store *Store, name string, o Options) (*Result, error) {
	rec, err := store.Get(name)
	if err != nil {
		return nil, err
	}
	// A box whose supervisor died since the last look is repaired first,
	// so that it is observed as exited and its policy applies.
	if err := e.RT.Repair(ctx); err != nil {
		return nil, err
	}
	stack := rec.Stack
	stack.Name = name
	if err := EnsureNetworks(ctx, e.RT, &stack); err != nil {
		_ = store.SetStatus(ctx, name, Status{ObservedGeneration: rec.Generation, Error: err.Error(), Time: time.Now().UTC()})
		return nil, err
	}
	observed, err := Observe(e.RT, map[string]bool{name: true})
	if err != nil {
		return nil, err
	}
	desired := rec.Desired()
	for i := range desired {
		desired[i].Recreate = o.Recreate && (o.Only == nil || o.Only[desired[i].Name])
	}
	res := &Result{}
	res.Actions, res.Orphans = Narrow(Plan(desired, observed), o)
	// The stack's volumes come before its boxes.
	runErr := EnsureVolumes(ctx, e.RT, &rec.Stack)
	if runErr == nil {
		runErr = e.Execute(ctx, res.Actions)
	}
	st := Status{ObservedGeneration: rec.Generation, Boxes: map[string]BoxStatus{}, Time: time.Now().UTC()}
	if now, err := Observe(e.RT, map[string]bool{name: true}); err == nil {
		for _, ob := range now {
			st.Boxes[ReplicaName(ob.Stack, ob.Name, ob.Index)] = BoxStatus{State: ob.State}
		}
	}
	if runErr != nil {
		st.Error = runErr.Error()
	}
	if err := store.SetStatus(ctx, name, st); err != nil && runErr == nil {
		return res, err
	}
	return res, runErr
}

// Narrow applies o to a plan: the actions to carry out, and the orphan
// removals left alone without o.Prune.
func Narrow(actions []Action, o Options) (rest, orphans []Action) {
	if !o.Prune {
		actions, orphans = SplitOrphans(actions)
	}
	for _, a := range actions {
		switch {
		case o.Only != nil && !a.Orphan && !o.Only[a.Box]:
			continue
		case o.Kinds != nil && !o.Kinds[a.Kind]:
			continue
		case o.NoStart && a.Kind == ActionStart:
			continue
		case o.NoStart && a.Desired != nil && (a.Kind == ActionCreate || a.Kind == ActionRecreate):
			d := *a.Desired
			d.Stopped = true
			a.Desired = &d
		}
		rest = append(rest, a)
	}
	return rest, orphans
}
