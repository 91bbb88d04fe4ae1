package reconcile

import (
	"fmt"

	"github.com/a3s-box/a3s-box/spec"
)

// ConditionUp is the condition apply --wait and compose up --wait wait
// for: the box runs, and is healthy where it has a health check, or it
// completed with status 0 (a one-shot box, a migration, is up as it will
// ever be).
const ConditionUp = "up"

// Ready reports whether box b meets condition: a depends_on condition
// (spec.DependStarted, DependHealthy, DependCompleted; "" is started) or
// ConditionUp. err is a box that never will: it exited with a nonzero
// status where it had to complete, or it is to be healthy and has no
// health check.
func Ready(b *Box, condition string) (bool, error) {
	pending, err := readiness(b, condition)
	return err == nil && pending == "", err
}

// readiness is Ready's rule, saying what b is waited on for when it is
// not ready yet ("X is exited", "X is not healthy yet"): "" when it is.
func readiness(b *Box, condition string) (pending string, err error) {
	notRunning := b.Name + " is " + b.Status
	switch condition {
	case spec.DependHealthy:
		if b.Health == "" && b.Running() && !b.HasHealthCheck {
			return "", fmt.Errorf("box %s has no health check", b.Name)
		}
		if !b.Running() {
			return notRunning, nil
		}
		if b.Health != spec.HealthHealthy {
			return b.Name + " is not healthy yet", nil
		}
		return "", nil
	case spec.DependCompleted:
		if !b.exited() {
			return notRunning, nil
		}
		if b.ExitCode != 0 {
			return "", exitedWith(b)
		}
		return "", nil
	case ConditionUp:
		switch {
		// Whether its end was recorded or not, a box that failed will not
		// come up.
		case b.Status == spec.StatusExited && b.ExitCode != 0:
			return "", exitedWith(b)
		case b.exited():
			return "", nil
		case !b.Running():
			return notRunning, nil
		case b.HasHealthCheck && b.Health != spec.HealthHealthy:
			return b.Name + " is not healthy yet", nil
		}
		return "", nil
	}
	if b.Running() || b.exited() {
		return "", nil
	}
	return notRunning, nil
}

func exitedWith(b *Box) error {
	return fmt.Errorf("box %s exited with status %d", b.Name, b.ExitCode)
}
