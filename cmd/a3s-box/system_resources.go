package main

import (
	"context"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

// Volumes, networks and published ports belong to their own subsystems.
// The system verbs (df, prune, info) and the compose verbs (down -v, ps,
// port) reach them only through these hooks, so that each subsystem plugs
// in here and nowhere else. Until one does, its hook reports that there
// is nothing of its kind, which is the truth on a machine without it.

// volumeUsage is one volume as `system df` counts it.
type volumeUsage struct {
	Name  string
	Links int   // boxes that mount it
	Size  int64 // bytes its files take on the host
}

// publishedPort is one box port published on the host.
type publishedPort struct {
	HostIP   string
	HostPort uint16
	BoxPort  uint16
	Protocol string // tcp or udp
}

// resourceHooks are the volume, network and port hooks.
type resourceHooks struct {
	// volumes lists the local volumes with their size and users.
	volumes func(ctx context.Context, c *cli) ([]volumeUsage, error)
	// pruneVolumes removes the volumes no box uses that f selects
	// (anonymous ones only unless all), returning their names and the
	// bytes freed.
	pruneVolumes func(ctx context.Context, c *cli, all bool, f *pruneFilters) (deleted []string, freed int64, err error)
	// pruneNetworks removes the networks no box uses that f selects.
	pruneNetworks func(ctx context.Context, c *cli, f *pruneFilters) (deleted []string, err error)
	// removeStack removes what a deleted stack owned besides its boxes:
	// its networks, and its named volumes when volumes is set.
	removeStack func(ctx context.Context, c *cli, s *spec.Stack, volumes bool) error
	// ports lists the ports box b publishes on the host.
	ports func(b *runtime.Box) []publishedPort
}

var systemResources = resourceHooks{
	volumes: func(context.Context, *cli) ([]volumeUsage, error) { return nil, nil },
	pruneVolumes: func(context.Context, *cli, bool, *pruneFilters) ([]string, int64, error) {
		return nil, 0, nil
	},
	pruneNetworks: func(context.Context, *cli, *pruneFilters) ([]string, error) { return nil, nil },
	removeStack:   func(context.Context, *cli, *spec.Stack, bool) error { return nil },
	ports:         func(*runtime.Box) []publishedPort { return nil },
}
