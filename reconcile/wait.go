package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

// How often waits look at the boxes again: a dependency's condition is
// worth seeing soon, as a box waits on it to start.
const (
	dependPoll = 100 * time.Millisecond
	stackPoll  = 200 * time.Millisecond
)

// waitUntil calls check every interval until it is done or fails, for at
// most timeout; met is false when the time ran out first.
func waitUntil(ctx context.Context, timeout, interval time.Duration, check func() (done bool, err error)) (met bool, err error) {
	deadline := time.Now().Add(timeout)
	for {
		done, err := check()
		if err != nil || done {
			return done, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// waitDependencies waits until every replica of each box d depends on
// meets its condition. The replicas of a dependency are made in an
// earlier wave and numbered from 1 without gaps, so they are found by
// name until one is missing.
func (e *Executor) waitDependencies(ctx context.Context, d *DesiredBox) error {
	if d == nil {
		return nil
	}
	return e.WaitFor(ctx, d.Stack, d.Spec.DependsOn)
}

// WaitFor waits until every replica of each of deps, boxes of stack,
// meets its condition, as a box that depends on them waits before it
// starts (the one-off box of compose run).
func (e *Executor) WaitFor(ctx context.Context, stack string, deps []spec.Dependency) error {
	timeout := e.DependTimeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	for _, dep := range deps {
		for n := 1; ; n++ {
			name := ReplicaName(stack, dep.Name, n)
			if n > 1 {
				if _, err := e.RT.Lookup(name); errors.Is(err, ErrNotFound) {
					break
				}
			}
			if err := e.waitCondition(ctx, name, dep.Condition, timeout); err != nil {
				return fmt.Errorf("depends on %s (%s): %w", dep.Name, dep.Condition, err)
			}
		}
	}
	return nil
}

func (e *Executor) waitCondition(ctx context.Context, name, cond string, timeout time.Duration) error {
	met, err := waitUntil(ctx, timeout, dependPoll, func() (bool, error) {
		b, err := e.RT.Lookup(name)
		if err != nil {
			return false, err
		}
		return Ready(b, cond)
	})
	if err == nil && !met {
		return fmt.Errorf("not met after %s", timeout)
	}
	return err
}

// WaitStack waits until every replica of every box of s is up
// (ConditionUp), as apply --wait does, for at most timeout. A box that
// exited with a nonzero status fails the wait at once.
func (e *Executor) WaitStack(ctx context.Context, s *spec.Stack, timeout time.Duration) error {
	var names []string
	for _, box := range s.BoxNames() {
		for n := 1; n <= s.Boxes[box].Scale(); n++ {
			names = append(names, ReplicaName(s.Name, box, n))
		}
	}
	var pending string
	met, err := waitUntil(ctx, timeout, stackPoll, func() (bool, error) {
		pending = ""
		for _, name := range names {
			b, err := e.RT.Lookup(name)
			if err != nil {
				return false, err
			}
			p, err := readiness(b, ConditionUp)
			if err != nil {
				return false, err
			}
			if p != "" {
				pending = p
			}
		}
		return pending == "", nil
	})
	if err == nil && !met {
		return fmt.Errorf("--wait gave up after %s: %s", timeout, pending)
	}
	return err
}
