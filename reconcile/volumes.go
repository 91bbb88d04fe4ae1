package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"

	"github.com/a3s-box/a3s-box/spec"
	"github.com/hashicorp/go-multierror"
)

// A stack's volumes: apply makes each volume the stack declares (unless
// external) before its boxes, labelled as the stack's, as compose does;
// an external volume must exist already. Boxes name a stack's volumes by
// their keys in the stack; the runtime takes their names on the machine
// (spec.Stack.VolumeName). Deleting a stack leaves its volumes unless
// asked (delete -v, compose's down -v); external ones always stay.

// LabelVolume is compose's label naming a volume's key in its project.
const LabelVolume = "com.docker.compose.volume"

// stackBox returns box name of s as the runtime takes it: a volume the
// stack declares is named by its name on the machine. Boxes of the
// implicit stack name volumes by those names already.
func stackBox(s *spec.Stack, name string) spec.Box {
	b := s.Boxes[name]
	if len(b.Volumes) == 0 || len(s.Volumes) == 0 {
		return b
	}
	b.Volumes = append([]spec.Mount(nil), b.Volumes...)
	for i, m := range b.Volumes {
		if _, ok := s.Volumes[m.Source]; ok && m.Type == spec.MountVolume && m.Source != "" {
			b.Volumes[i].Source = s.VolumeName(m.Source)
		}
	}
	return b
}

// MissingVolumes reports each external volume of s that does not exist,
// at its line in the stack's file: apply checks them before it changes
// anything.
func MissingVolumes(rt Runtime, s *spec.Stack) error {
	var all *multierror.Error
	for _, key := range sortedVolumeKeys(s) {
		if !s.Volumes[key].External {
			continue
		}
		name := s.VolumeName(key)
		if _, err := rt.Volume(name); errors.Is(err, ErrNotFound) {
			all = multierror.Append(all, s.ErrorAt("volumes."+key, "external volume %q does not exist: create it first (a3s-box volume create %s)", name, name))
		} else if err != nil {
			all = multierror.Append(all, err)
		}
	}
	return all.ErrorOrNil()
}

// EnsureVolumes makes the volumes s declares that do not exist yet,
// labelled as the stack's, and fails if an external one is missing.
func EnsureVolumes(ctx context.Context, rt Runtime, s *spec.Stack) error {
	if err := MissingVolumes(rt, s); err != nil {
		return err
	}
	for _, key := range sortedVolumeKeys(s) {
		v := s.Volumes[key]
		if v.External {
			continue
		}
		labels := maps.Clone(v.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelStack], labels[LabelProject], labels[LabelVolume] = s.Name, s.Name, key
		if err := rt.CreateVolume(ctx, s.VolumeName(key), labels); err != nil {
			return fmt.Errorf("volume %s: %w", key, err)
		}
	}
	return nil
}

// RemoveStackVolumes removes the volumes apply made for stack (those
// labelled as its): delete -v. A volume a box still uses stays, and is
// reported.
func RemoveStackVolumes(ctx context.Context, rt Runtime, stack string) (removed []string, err error) {
	vols, err := rt.Volumes()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, v := range vols {
		if v.Labels[LabelStack] != stack {
			continue
		}
		if err := rt.RemoveVolume(ctx, v.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, v.Name)
	}
	return removed, errors.Join(errs...)
}

func sortedVolumeKeys(s *spec.Stack) []string {
	keys := make([]string, 0, len(s.Volumes))
	for k := range s.Volumes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
