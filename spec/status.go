package spec

// Box statuses, as `docker ps` names them. The runtime reports them and
// the reconciler plans on them, so they live below both.
const (
	StatusCreated    = "created"
	StatusRunning    = "running"
	StatusPaused     = "paused"
	StatusRestarting = "restarting"
	StatusRemoving   = "removing"
	StatusExited     = "exited"
	StatusDead       = "dead"
	// StatusUnknown is a box whose record cannot be read: it is listed,
	// and kept, until `rm -f` removes it.
	StatusUnknown = "unknown"
)

// Health states of a box with a health check, as Docker names them.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)
