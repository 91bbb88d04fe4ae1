package spec

import "fmt"

// Conditions a dependency must meet before the box that depends on it
// starts.
const (
	// DependStarted waits until the dependency is running.
	DependStarted = "started"
	// DependHealthy waits until the dependency's health check passes.
	DependHealthy = "healthy"
	// DependCompleted waits until the dependency has exited with status 0.
	DependCompleted = "completed"
)

// Dependency is one entry of depends_on: a box of the same stack that must
// meet Condition first. Boxes stop in the reverse order.
type Dependency struct {
	Name      string `json:"name"`
	Condition string `json:"condition"`
}

// ParseCondition reads a depends_on condition: started, healthy or
// completed, or compose's service_started, service_healthy and
// service_completed_successfully.
func ParseCondition(s string) (string, error) {
	switch s {
	case DependStarted, "service_started":
		return DependStarted, nil
	case DependHealthy, "service_healthy":
		return DependHealthy, nil
	case DependCompleted, "service_completed_successfully":
		return DependCompleted, nil
	}
	return "", fmt.Errorf("invalid condition %q: want started, healthy or completed", s)
}
