package engine

import (
	"context"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/volume"
)

// VolumeUsage is a volume with what it takes.
type VolumeUsage struct {
	*volume.Volume
	Users []*runtime.Box // the boxes that mount it
	Size  int64          // bytes its files take on the host
}

// Volumes lists every volume; with usage, each with the boxes that mount
// it and the bytes it takes.
func (e *Engine) Volumes(usage bool) ([]VolumeUsage, error) {
	vols, err := e.rt.Volumes.List()
	if err != nil {
		return nil, err
	}
	var users map[string][]*runtime.Box
	if usage {
		if users, err = e.rt.VolumeUsers(); err != nil {
			return nil, err
		}
	}
	out := make([]VolumeUsage, 0, len(vols))
	for _, v := range vols {
		u := VolumeUsage{Volume: v, Users: users[v.Name]}
		if usage {
			u.Size = e.rt.Volumes.Size(v)
		}
		out = append(out, u)
	}
	return out, nil
}

// VolumeUsers are the boxes that mount each volume, by volume name.
func (e *Engine) VolumeUsers() (map[string][]*runtime.Box, error) { return e.rt.VolumeUsers() }

// Volume finds a volume by name.
func (e *Engine) Volume(name string) (*volume.Volume, error) { return e.rt.Volumes.Get(name) }

// VolumeMountpoint is a volume's directory on the host.
func (e *Engine) VolumeMountpoint(name string) string { return e.rt.VolumeMountpoint(name) }

// CreateVolume makes a volume.
func (e *Engine) CreateVolume(ctx context.Context, name string, o volume.Options) (*volume.Volume, error) {
	return e.rt.CreateVolume(ctx, name, o)
}

// RemoveVolume removes a volume no box uses.
func (e *Engine) RemoveVolume(ctx context.Context, name string) error {
	return e.rt.RemoveVolume(ctx, name)
}

// PruneVolumes removes the volumes no box uses that keep does not keep
// (anonymous ones only unless all), returning their names and the bytes
// freed.
func (e *Engine) PruneVolumes(ctx context.Context, all bool, keep func(*volume.Volume) bool) ([]string, int64, error) {
	return e.rt.PruneVolumes(ctx, all, keep)
}
