package main

import (
	"context"

	"github.com/a3s-box/a3s-box/runtime/network"
	"github.com/a3s-box/a3s-box/runtime/volume"
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
	eng, err := c.engine(ctx)
	if err != nil {
		return nil, err
	}
	vols, err := eng.Volumes(true)
	if err != nil {
		return nil, err
	}
	out := make([]volumeUsage, 0, len(vols))
	for _, v := range vols {
		out = append(out, volumeUsage{Name: v.Name, Links: len(v.Users), Size: v.Size})
	}
	return out, nil
}

// pruneVolumes removes the volumes no box uses that f selects
// (anonymous ones only unless all), returning their names and the bytes
// freed.
func pruneVolumes(ctx context.Context, c *cli, all bool, f *pruneFilters) ([]string, int64, error) {
	eng, err := c.engine(ctx)
	if err != nil {
		return nil, 0, err
	}
	return eng.PruneVolumes(ctx, all, func(v *volume.Volume) bool { return !f.match(v.Labels, v.CreatedAt) })
}

// pruneNetworks removes the networks no box uses that f selects.
func pruneNetworks(ctx context.Context, c *cli, f *pruneFilters) ([]string, error) {
	eng, err := c.engine(ctx)
	if err != nil {
		return nil, err
	}
	return eng.PruneNetworks(ctx, func(n *network.Network) bool { return !f.match(n.Labels, n.Created) })
}
