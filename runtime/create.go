package runtime

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/spec"
)

// Create makes a box from b and img without starting it: its record, its
// writable disk and its root filesystem image, as `docker create` does.
func (r *Runtime) Create(ctx context.Context, b *spec.Box, img *image.Image) (*Box, error) {
	if b.AutoRemove && !b.Restart.IsZero() {
		return nil, fmt.Errorf("conflicting options: --restart %s and --rm: a box removed on exit cannot be restarted", b.Restart)
	}
	if err := r.guestFiles(); err != nil {
		return nil, err
	}
	if _, _, err := resources(b); err != nil {
		return nil, err
	}
	if b.StopSignal != "" {
		if _, err := ParseSignal(b.StopSignal); err != nil {
			return nil, fmt.Errorf("invalid stop signal: %w", err)
		}
	}
	if f := img.File; f != nil && (f.OS != "" && f.OS != image.Platform.OS || f.Architecture != "" && f.Architecture != image.Platform.Architecture) {
		return nil, fmt.Errorf("image %s is %s/%s: a3s-box boots %s/%s", cmp.Or(img.Ref, img.ID.String()), f.OS, f.Architecture, image.Platform.OS, image.Platform.Architecture)
	}
	if err := r.checkNetworks(b); err != nil {
		return nil, err
	}

	mounts, err := boxMounts(b, img.Config.Volumes)
	if err != nil {
		return nil, err
	}
	rootfs, err := r.Images.Rootfs(ctx, img)
	if err != nil {
		return nil, err
	}
	rec := &BoxRecord{
		ID: newID(), Name: b.Name, Created: time.Now().UTC(), Spec: *b,
		ImageRef: img.Ref, ImageDigest: img.Digest.String(), ImageID: img.ID.String(), Rootfs: rootfs,
		Health: effectiveHealthcheck(b.Healthcheck, img.Config.Healthcheck), StopSignal: b.StopSignal,
		Mounts: mounts,
	}
	if rec.StopSignal == "" {
		rec.StopSignal = img.Config.StopSignal
	}
	rec.Hostname = b.Hostname
	if rec.Hostname == "" {
		rec.Hostname = rec.ID[:12]
	}
	if rec.Main, err = MainProcess(b, &img.Config, rec.Hostname); err != nil {
		return nil, err
	}
	var lock *statefile.Lock
	err = r.createWithVolumes(ctx, mounts, func() error {
		l, err := r.createBox(ctx, rec)
		if err != nil {
			return err
		}
		lock = l
		if err := r.joinNetworks(ctx, rec); err != nil {
			_ = r.removeBox(rec.ID)
			lock.Release()
			return err
		}
		if err := makeWritableDisk(ctx, r.rwDisk(rec.ID), rwDiskSize); err != nil {
			_ = r.removeBox(rec.ID)
			lock.Release()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	r.emit(rec, "create", nil)
	return &Box{BoxRecord: rec, State: &BoxState{Status: spec.StatusCreated}}, nil
}
