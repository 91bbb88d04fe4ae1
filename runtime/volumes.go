package runtime

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/a3s-box/a3s-box/runtime/volume"
	"github.com/a3s-box/a3s-box/spec"
)

// ErrVolumeInUse is a volume removal refused because a box uses it.
var ErrVolumeInUse = errors.New("volume is in use")

func (r *Runtime) volumesDir() string { return filepath.Join(r.root, "volumes") }

// VolumeMountpoint is where volume name's data is on the host.
func (r *Runtime) VolumeMountpoint(name string) string {
	return filepath.Join(r.volumesDir(), name, "_data")
}

// CreateVolume makes a volume, or returns the one of that name, as
// `docker volume create` does.
func (r *Runtime) CreateVolume(ctx context.Context, name string, o volume.Options) (*volume.Volume, error) {
	var v *volume.Volume
	var created bool
	err := r.Volumes.Update(ctx, func(tx *volume.Tx) error {
		var err error
		v, created, err = tx.Create(name, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	if created {
		r.emitVolume(name, "create")
	}
	return v, nil
}

// VolumeUsers maps each volume name to the boxes whose mounts name it,
// running or not.
func (r *Runtime) VolumeUsers() (map[string][]*Box, error) { return r.volumeUsers() }

func (r *Runtime) volumeUsers() (map[string][]*Box, error) {
	boxes, err := r.Boxes()
	if err != nil {
		return nil, err
	}
	users := map[string][]*Box{}
	for _, b := range boxes {
		seen := map[string]bool{}
		for _, m := range b.Mounts {
			if m.Type == spec.MountVolume && !seen[m.Name] {
				seen[m.Name] = true
				users[m.Name] = append(users[m.Name], b)
			}
		}
	}
	return users, nil
}

// RemoveVolume removes a volume no box uses; one that boxes use, running
// or not, is refused with their names, as Docker refuses it.
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error {
	err := r.Volumes.Update(ctx, func(tx *volume.Tx) error {
		if _, err := tx.Get(name); err != nil {
			return err
		}
		users, err := r.volumeUsers()
		if err != nil {
			return err
		}
		if u := users[name]; len(u) > 0 {
			return fmt.Errorf("cannot remove volume %s: %w by %s", name, ErrVolumeInUse, boxList(u))
		}
		return tx.Remove(name)
	})
	if err == nil {
		r.emitVolume(name, "destroy")
	}
	return err
}

// boxList names boxes for a message: "box web (0123456789ab)".
func boxList(boxes []*Box) string {
	names := make([]string, len(boxes))
	for i, b := range boxes {
		names[i] = fmt.Sprintf("%s (%s)", b.Name, b.ID[:12])
	}
	sort.Strings(names)
	if len(names) == 1 {
		return "box " + names[0]
	}
	return "boxes " + strings.Join(names, ", ")
}

// PruneVolumes removes the volumes no box uses: anonymous ones, or with
// all every one, that keep says nothing against. It returns the names
// removed and the space they took.
func (r *Runtime) PruneVolumes(ctx context.Context, all bool, keep func(*volume.Volume) bool) (removed []string, freed int64, err error) {
	err = r.Volumes.Update(ctx, func(tx *volume.Tx) error {
		vols, err := tx.List()
		if err != nil {
			return err
		}
		users, err := r.volumeUsers()
		if err != nil {
			return err
		}
		for _, v := range vols {
			if len(users[v.Name]) > 0 || (!all && !v.Anonymous) || (keep != nil && keep(v)) {
				continue
			}
			size := r.Volumes.Size(v)
			if err := tx.Remove(v.Name); err != nil {
				return err
			}
			removed, freed = append(removed, v.Name), freed+size
		}
		return nil
	})
	for _, n := range removed {
		r.emitVolume(n, "destroy")
	}
	return removed, freed, err
}

// emitVolume appends a volume event to the event log, in Docker's shape.
func (r *Runtime) emitVolume(name, action string) {
	r.emitObject("volume", name, action, map[string]string{"driver": volume.Driver})
}
