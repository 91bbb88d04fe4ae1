// Package reconcile is a3s-box's declarative core: the desired state of
// every stack on disk (Store), and the planner that turns the difference
// between that desired state and what the runtime observes into actions.
//
// Reconciling a stack is observe, diff, plan, execute. The planner (Plan)
// is a pure function: desired boxes and observed boxes in, a list of
// actions out (create, start, stop, recreate because a box's config hash
// changed, remove an orphan), each with its reason, ordered so that a box
// starts after what it depends on and stops before it. Waves groups the
// actions an executor may run at once. Nothing here touches a VM: the
// executor drives the runtime through Runtime, an interface this package
// defines with only what it asks of a runtime (boxes, networks, volumes,
// each missing one reported as ErrNotFound); package engine adapts the
// machine's runtime to it. Ready is the one rule for when a box is ready,
// for depends_on's conditions and for apply --wait alike.
//
// A box's config hash (ConfigHash) covers what the running VM was made
// from; a box whose hash differs from the desired one is recreated, one
// whose hash matches is left alone, so a second apply of the same stack
// does nothing.
package reconcile
