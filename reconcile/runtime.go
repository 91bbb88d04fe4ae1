package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

// Runtime is what the reconciler asks of the machine's runtime, and no
// more: the boxes, networks and volumes it observes and changes. Keeping
// it this small keeps the planner and executor free of VMs, so that they
// can be tested against a runtime held in memory.
type Runtime interface {
	// Boxes lists every box on the machine.
	Boxes() ([]*Box, error)
	// Lookup finds a box by name or ID.
	Lookup(ref string) (*Box, error)
	// Create makes a box from b, which carries its final name and
	// labels, without starting it. The image b names is taken from the
	// local store, or pulled when it is not there.
	Create(ctx context.Context, b *spec.Box) (*Box, error)
	// Start starts box id, detached.
	Start(ctx context.Context, id string) error
	// Stop stops box id with its stop signal, killing it after timeout
	// seconds; a negative timeout is the box's own grace period.
	Stop(ctx context.Context, id string, timeout int) error
	// Remove removes box id, killing it if it runs, and its anonymous
	// volumes too when volumes is set.
	Remove(ctx context.Context, id string, volumes bool) error
	// Repair brings the records of boxes whose supervisor died in line
	// with what is left of them, so that they are observed as exited.
	Repair(ctx context.Context) error

	// Network finds a network by name or ID.
	Network(ref string) (*Network, error)
	// Networks lists every network.
	Networks() ([]*Network, error)
	CreateNetwork(ctx context.Context, c NetworkConfig) error
	RemoveNetwork(ctx context.Context, ref string) error

	// Volume finds a volume by name.
	Volume(name string) (*Volume, error)
	// Volumes lists every volume.
	Volumes() ([]*Volume, error)
	// CreateVolume makes volume name with labels; one of that name that
	// exists already is kept as it is.
	CreateVolume(ctx context.Context, name string, labels map[string]string) error
	// RemoveVolume removes volume name; one a box uses is refused.
	RemoveVolume(ctx context.Context, name string) error
}

// ErrNotFound is a box, network or volume the runtime does not have. A
// Runtime's errors satisfy errors.Is(err, ErrNotFound) for those, so that
// reconcile tells "absent" from "broken" without knowing the runtime's
// own errors.
var ErrNotFound = errors.New("not found")

// Box is a runtime box as the reconciler reads it.
type Box struct {
	ID     string
	Name   string
	Labels map[string]string
	// Restart is the policy the box runs under.
	Restart spec.RestartPolicy
	// Status is one of spec's Status constants.
	Status     string
	ExitCode   int
	FinishedAt time.Time
	// ManualStop says a user stopped or killed the box.
	ManualStop bool
	// Health is the box's health status (spec.HealthHealthy...), ""
	// while it has none.
	Health string
	// HasHealthCheck says the box has a health check, its own or its
	// image's.
	HasHealthCheck bool
}

// Running reports a box whose VM is up (running or paused).
func (b *Box) Running() bool {
	return b.Status == spec.StatusRunning || b.Status == spec.StatusPaused
}

// exited reports a box that ran and ended, as opposed to one recorded
// exited before it ever finished (its FinishedAt unset).
func (b *Box) exited() bool {
	return b.Status == spec.StatusExited && !b.FinishedAt.IsZero()
}

// Network is a runtime network as the reconciler reads it.
type Network struct {
	ID       string
	Name     string
	Labels   map[string]string
	Internal bool
	// Subnet is the network's subnet in CIDR notation.
	Subnet string
}

// NetworkConfig is a network to create.
type NetworkConfig struct {
	Name     string
	Driver   string // "" for the runtime's default
	Subnet   string // CIDR; "" lets the runtime pick one
	Gateway  string // "" for the subnet's first address
	Internal bool
	Labels   map[string]string
}

// Volume is a runtime volume as the reconciler reads it.
type Volume struct {
	Name   string
	Labels map[string]string
}
