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

// Reconcile makes the runtime match one stack's desired state: observe,
// plan, execute, then record the status (observed generation, each box's
// state, the error if any). Without prune, boxes the stack no longer has
// are left running and reported as orphans.
func (e *Executor) Reconcile(ctx context.Context, store *Store, name string, prune bool) (*Result, error) {
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
	actions := Plan(rec.Desired(), observed)
	res := &Result{Actions: actions}
	if !prune {
		res.Actions, res.Orphans = SplitOrphans(actions)
	}
	runErr := e.Execute(ctx, res.Actions)
	st := Status{ObservedGeneration: rec.Generation, Boxes: map[string]BoxStatus{}, Time: time.Now().UTC()}
	if now, err := Observe(e.RT, map[string]bool{name: true}); err == nil {
		for _, o := range now {
			st.Boxes[o.Name] = BoxStatus{State: o.State}
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
