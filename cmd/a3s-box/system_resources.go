package main

import (
	"context"
	"fmt"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/reconcile"
	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/runtime/volume"

	"github.com/a3s-box/a3s-box/spec"
)

// The system and compose verbs' reach into volumes and networks: what
// system df counts, what system prune, network prune and volume prune
// remove, and what a deleted stack leaves behind.

// volumeUsage is one volume as `system df` counts it.
type volumeUsage struct {
	Name  string
	Links int   // boxes that mount it
	Size  int64 // bytes its files take on the host
}

// listVolumeUsage lists every volume with the boxes that mount it.
func listVolumeUsage(ctx context.Context, c *cli) ([]volumeUsage, error) {
	rt, err := c.runtime(ctx)
	if err != nil {
		return nil, err
	}
	vols, err := rt.Volumes.List()
	if err != nil {
		return nil, err
	}
	users, err := rt.VolumeUsers()
	if err != nil {
		return nil, err
	}
	out := make([]volumeUsage, 0, len(vols))
	for _, v := range vols {
		out = append(out, volumeUsage{Name: v.Name, Links: len(users[v.Name]), Size: rt.Volumes.Size(v)})
	}
	return out, nil
}

// pruneVolumes removes the volumes no box uses that f selects
// (anonymous ones only unless all), returning their names and the bytes
// freed.
func pruneVolumes(ctx context.Context, c *cli, all bool, f *pruneFilters) ([]string, int64, error) {
	rt, err := c.runtime(ctx)
	if err != nil {
		return nil, 0, err
	}
	return rt.PruneVolumes(ctx, all, func(v *volume.Volume) bool { return !f.match(v.Labels, v.CreatedAt) })
}

// pruneNetworks removes the networks no box uses that f selects, after
// repairing what a crashed command may have left half made.
func pruneNetworks(ctx context.Context, c *cli, f *pruneFilters) ([]string, error) {
	rt, err := c.runtime(ctx)
	if err != nil {
		return nil, err
	}
	if err := rt.Networks.Repair(ctx); err != nil {
		return nil, err
	}
	return rt.Networks.Prune(ctx, func(n *network.Network) bool { return !f.match(n.Labels, n.Created) })
}

// removeStackResources removes a deleted stack's named volumes when asked
// (delete -v, compose down -v); external ones are never the stack's.
// delete removes the stack's networks itself.
func removeStackResources(ctx context.Context, c *cli, s *spec.Stack, volumes bool) error {
	if !volumes {
		return nil
	}
	rt, err := c.runtime(ctx)
	if err != nil {
		return err
	}
	removed, err := reconcile.RemoveStackVolumes(ctx, engine.ReconcileRuntime(rt), s.Name)
	for _, v := range removed {
		fmt.Fprintf(c.stdout, " ✔ volume %s: removed\n", v)
	}
	return err
}
