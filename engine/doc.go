// Package engine holds every box operation once, end to end, for every
// frontend: the CLI, the watcher, and any Go program that embeds
// a3s-box. A frontend parses and formats; the engine does.
//
// Each operation that changes a box and its desired state changes both
// together. It first writes an intent (what desired-state edit follows
// the box change) and holds a lock on it, then changes the box through
// the runtime, then edits the desired state (reconcile.Store, under its
// lock) and drops the intent. A process that dies between the two leaves
// an intent nobody holds; the next engine operation finds it, looks at
// the box, and makes the desired state agree with what happened: the
// edit is made when the box change took effect, dropped when it did not.
//
// Declarative work (apply, plan, delete, the watch loop) goes through the
// reconciler, which drives the runtime through reconcile.Runtime.
package engine
