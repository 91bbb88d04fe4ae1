package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime/vmm"
	"github.com/a3s-box/a3s-box/runtime/volume"
	"github.com/a3s-box/a3s-box/spec"
)

// Mount is one of a box's mounts as its record keeps it: what the box was
// created with, with every volume named (anonymous ones get their random
// names at create).
type Mount struct {
	Type        string `json:"type"`             // spec.MountVolume, spec.MountBind or spec.MountTmpfs
	Name        string `json:"name,omitempty"`   // the volume's
	Source      string `json:"source,omitempty"` // the host path of a bind mount
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
	// Anonymous marks a volume made for this box alone (`-v /path`, an
	// image's VOLUME); rm -v and --rm remove it with the box.
	Anonymous bool `json:"anonymous,omitempty"`
	// NoCopy leaves a new volume empty instead of seeding it from the
	// image.
	NoCopy bool `json:"noCopy,omitempty"`
	// NoCreate refuses a missing bind source rather than making it.
	NoCreate bool `json:"noCreate,omitempty"`
	// Tmpfs holds a tmpfs's options: size=, mode= and flags.
	Tmpfs []string `json:"tmpfs,omitempty"`

	// create is what a volume is made with when it does not exist yet.
	create volume.Options
}

// boxMounts resolves a box's mounts: its volumes and bind mounts, its
// tmpfs mounts, then an anonymous volume for each of the image's VOLUME
// paths no mount of the box covers, as Docker does. It checks everything
// and changes nothing, so a bad mount fails a create before anything is
// made.
func boxMounts(b *spec.Box, imageVolumes map[string]struct{}) ([]Mount, error) {
	if err := spec.CheckMounts(b); err != nil {
		return nil, err
	}
	var out []Mount
	taken := map[string]bool{}
	for _, m := range b.Volumes {
		bm := Mount{Type: m.Type, Destination: path.Clean(m.Target), ReadOnly: m.ReadOnly, NoCopy: m.NoCopy}
		switch m.Type {
		case spec.MountVolume:
			bm.Name = m.Source
			if bm.Name == "" {
				bm.Name, bm.Anonymous = volume.NewName(), true
			} else if err := volume.CheckName(bm.Name); err != nil {
				return nil, err
			}
			bm.create = volume.Options{Labels: m.VolumeLabels, Options: m.VolumeOptions, Anonymous: bm.Anonymous}
		case spec.MountBind:
			bm.Source, bm.NoCreate = filepath.Clean(m.Source), m.NoCreate
			if _, err := os.Stat(bm.Source); err != nil && m.NoCreate {
				return nil, fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", bm.Source)
			}
		}
		taken[bm.Destination] = true
		out = append(out, bm)
	}
	for _, t := range b.Tmpfs {
		bm := Mount{Type: spec.MountTmpfs, Destination: path.Clean(t.Target)}
		if t.Size > 0 {
			bm.Tmpfs = append(bm.Tmpfs, "size="+strconv.FormatInt(t.Size, 10))
		}
		if t.Mode != 0 {
			bm.Tmpfs = append(bm.Tmpfs, "mode="+strconv.FormatUint(uint64(t.Mode), 8))
		}
		for _, o := range t.Options {
			if o == "ro" {
				bm.ReadOnly = true
				continue
			}
			bm.Tmpfs = append(bm.Tmpfs, o)
		}
		taken[bm.Destination] = true
		out = append(out, bm)
	}
	var paths []string
	for p := range imageVolumes {
		if path.IsAbs(p) && path.Clean(p) != "/" {
			paths = append(paths, path.Clean(p))
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		if taken[p] {
			continue
		}
		taken[p] = true
		name := volume.NewName()
		out = append(out, Mount{Type: spec.MountVolume, Name: name, Destination: p, Anonymous: true, create: volume.Options{Anonymous: true}})
	}
	return out, nil
}

// createWithVolumes runs create (which writes the box's record) holding
// the volume store's lock, after making the volumes of mounts that do not
// exist yet. If create fails, the volumes it made go again, so a box that
// could not be created leaves no volume behind. Holding the lock until the
// record is written keeps a concurrent `volume rm` from removing a volume
// the box is about to use.
func (r *Runtime) createWithVolumes(ctx context.Context, mounts []Mount, create func() error) error {
	needed := false
	for _, m := range mounts {
		needed = needed || m.Type == spec.MountVolume
	}
	if !needed {
		return create()
	}
	var made []string
	err := r.Volumes.Update(ctx, func(tx *volume.Tx) error {
		undo := func() {
			for _, n := range made {
				_ = tx.Remove(n)
			}
			made = nil
		}
		for _, m := range mounts {
			if m.Type != spec.MountVolume {
				continue
			}
			_, created, err := tx.Create(m.Name, m.create)
			if err != nil {
				undo()
				return err
			}
			if created {
				made = append(made, m.Name)
			}
		}
		if err := create(); err != nil {
			undo()
			return err
		}
		return nil
	})
	for _, n := range made {
		r.emitVolume(n, "create")
	}
	return err
}

// shareDir is where box id's share is built.
func (r *Runtime) shareDir(id string) string { return filepath.Join(r.runDir(id), "share") }

// hiddenFromVMM are the directories a VMM that may override file
// permissions must not see: a3s-box's state, and its run directories
// when they live elsewhere.
func (r *Runtime) hiddenFromVMM() []string {
	dirs := []string{r.root}
	if rel, err := filepath.Rel(r.root, r.runBase); err != nil || strings.HasPrefix(rel, "..") {
		dirs = append(dirs, r.runBase)
	}
	return dirs
}

// prepareShare builds box rec's share for one boot and the mounts the
// guest makes: an entry per volume and bind mount (a missing bind source
// is made a directory, unless the box asked for it to exist), and the
// tmpfs mounts. Every box has a share, for its spool at least.
func (r *Runtime) prepareShare(rec *BoxRecord, user *vmm.User) (*vmm.Share, []proto.Mount, error) {
	dir := r.shareDir(rec.ID)
	if err := clearShare(dir); err != nil {
		return nil, nil, err
	}
	if err := makeSpool(dir); err != nil {
		return nil, nil, err
	}
	if err := giveSpool(dir, user); err != nil {
		return nil, nil, err
	}
	sh := &vmm.Share{Dir: dir, Hide: r.hiddenFromVMM()}
	var mounts []proto.Mount
	for i, m := range rec.Mounts {
		if m.Type == spec.MountTmpfs {
			mounts = append(mounts, proto.Mount{Type: proto.MountTmpfs, Target: m.Destination, ReadOnly: m.ReadOnly, Options: m.Tmpfs})
			continue
		}
		src := m.Source
		if m.Type == spec.MountVolume {
			v, err := r.Volumes.Get(m.Name)
			if err != nil {
				return nil, nil, fmt.Errorf("volume for %s: %w", m.Destination, err)
			}
			src = v.Source()
		}
		fi, err := os.Stat(src)
		if errors.Is(err, fs.ErrNotExist) && m.Type == spec.MountBind && !m.NoCreate {
			// Docker's -v makes a missing host path a directory.
			if err = os.MkdirAll(src, 0o755); err == nil {
				fi, err = os.Stat(src)
			}
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("bind source path does not exist: %s", src)
			}
			return nil, nil, fmt.Errorf("mount %s: %w", m.Destination, err)
		}
		entry := "m" + strconv.Itoa(i)
		if err := makeShareEntry(dir, entry, fi.IsDir()); err != nil {
			return nil, nil, fmt.Errorf("share volumes: %w", err)
		}
		seed := m.Type == spec.MountVolume && !m.NoCopy
		// The host side of a read-only mount is read-only too, so that
		// not even the guest's root can write through it; only an empty
		// volume the guest is to seed stays writable on the host for that
		// boot (the guest mounts it read-only all the same).
		hostRO := m.ReadOnly && !(seed && emptyDir(src))
		sh.Binds = append(sh.Binds, vmm.ShareBind{Source: src, Entry: entry, ReadOnly: hostRO})
		mounts = append(mounts, proto.Mount{Type: proto.MountBind, Source: entry, Target: m.Destination, ReadOnly: m.ReadOnly, Seed: seed})
	}
	return sh, mounts, nil
}

// emptyDir reports a directory with no entries.
func emptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}

// removeAnonymousVolumes removes the anonymous volumes of a removed box
// that no other box uses (rm -v, --rm). It must not run under the root
// lock: creates take the volume lock first and the root lock inside it.
func (r *Runtime) removeAnonymousVolumes(ctx context.Context, mounts []Mount) error {
	var names []string
	for _, m := range mounts {
		if m.Type == spec.MountVolume && m.Anonymous {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	var removed []string
	err := r.Volumes.Update(ctx, func(tx *volume.Tx) error {
		users, err := r.volumeUsers()
		if err != nil {
			return err
		}
		for _, n := range names {
			if len(users[n]) > 0 {
				continue
			}
			err := tx.Remove(n)
			if errors.Is(err, volume.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			removed = append(removed, n)
		}
		return nil
	})
	for _, n := range removed {
		r.emitVolume(n, "destroy")
	}
	return err
}
