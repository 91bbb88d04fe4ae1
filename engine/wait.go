package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// waitStack waits until every replica of every box of s runs, and is
// healthy where it has a health check, or has completed with status 0.
func waitStack(ctx context.Context, rt *runtime.Runtime, s *spec.Stack, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var names []string
	for _, box := range s.BoxNames() {
		b := s.Boxes[box]
		for n := 1; n <= b.Scale(); n++ {
			names = append(names, reconcile.ReplicaName(s.Name, box, n))
		}
	}
	for {
		pending := ""
		for _, name := range names {
			b, err := rt.Lookup(name)
			if err != nil {
				return err
			}
			done := b.State.Status == spec.StatusExited && !b.State.FinishedAt.IsZero() && b.State.ExitCode == 0
			switch {
			case done:
				// A one-shot box (a migration) that completed is up as
				// it will ever be.
			case !b.State.Running():
				pending = name + " is " + b.State.Status
			case b.Health != nil && (b.State.Health == nil || b.State.Health.Status != spec.HealthHealthy):
				pending = name + " is not healthy yet"
			}
			if b.State.Status == spec.StatusExited && b.State.ExitCode != 0 {
				return fmt.Errorf("box %s exited with status %d", name, b.State.ExitCode)
			}
		}
		if pending == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("--wait gave up after %s: %s", timeout, pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
