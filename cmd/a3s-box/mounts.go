package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/volume"
	"github.com/a3s-box/a3s-box/spec"
	"github.com/spf13/pflag"
)

// mountFlags are run's and create's -v, --mount and --tmpfs.
type mountFlags struct {
	volumes, mounts, tmpfs []string
}

func addMountFlags(fs *pflag.FlagSet) *mountFlags {
	f := &mountFlags{}
	fs.StringArrayVarP(&f.volumes, "volume", "v", nil, "Bind mount a volume ([SOURCE:]TARGET[:ro|rw])")
	fs.StringArrayVar(&f.mounts, "mount", nil, "Attach a filesystem mount to the box (type=volume|bind|tmpfs,source=,target=,readonly,...)")
	fs.StringArrayVar(&f.tmpfs, "tmpfs", nil, "Mount a tmpfs directory (PATH[:size=64m,mode=1777,...])")
	return f
}

// apply adds the flags' mounts to b. Relative bind sources are taken
// from the working directory, as Docker's CLI takes them.
func (f *mountFlags) apply(b *spec.Box) error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	add := func(m spec.Mount) {
		if m.Type == spec.MountBind {
			m.Source = spec.ResolveHostPath(m.Source, cwd)
		}
		b.Volumes = append(b.Volumes, m)
	}
	for _, v := range f.volumes {
		m, err := spec.ParseVolume(v)
		if err != nil {
			return err
		}
		add(m)
	}
	for _, s := range f.mounts {
		m, t, err := spec.ParseMount(s)
		if err != nil {
			return err
		}
		if t != nil {
			b.Tmpfs = append(b.Tmpfs, *t)
			continue
		}
		add(m)
	}
	for _, s := range f.tmpfs {
		t, err := spec.ParseTmpfs(s)
		if err != nil {
			return err
		}
		b.Tmpfs = append(b.Tmpfs, t)
	}
	return spec.CheckMounts(b)
}

// inspectMount is one of a box's mounts in Docker's inspect shape.
type inspectMount struct {
	Type        string `json:"Type"`
	Name        string `json:"Name,omitempty"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	Driver      string `json:"Driver,omitempty"`
	Mode        string `json:"Mode"`
	RW          bool   `json:"RW"`
	Propagation string `json:"Propagation"`
}

// inspectMounts renders a box's mounts as Docker does: a volume's Source
// is its directory on the host, a bind's Propagation rprivate, Mode the
// -v mode ("z" for a read-write volume, "ro" when read-only).
func inspectMounts(eng *engine.Engine, b *runtime.Box) []inspectMount {
	out := []inspectMount{}
	for _, m := range b.Mounts {
		im := inspectMount{Type: m.Type, Destination: m.Destination, RW: !m.ReadOnly}
		switch m.Type {
		case spec.MountVolume:
			im.Name, im.Driver, im.Mode = m.Name, volume.Driver, "z"
			im.Source = eng.VolumeMountpoint(m.Name)
		case spec.MountBind:
			im.Source, im.Propagation = m.Source, "rprivate"
		}
		if m.ReadOnly {
			im.Mode = "ro"
		}
		out = append(out, im)
	}
	return out
}

// psMounts is ps's MOUNTS (volume names and bind sources, shortened
// unless noTrunc) and LOCAL VOLUMES (how many volumes).
func psMounts(b *runtime.Box, noTrunc bool) (mounts, local string) {
	var names []string
	n := 0
	for _, m := range b.Mounts {
		s := m.Source
		if m.Type == spec.MountVolume {
			s = m.Name
			n++
		}
		if s == "" {
			continue
		}
		if !noTrunc {
			s = truncate(s, 15)
		}
		names = append(names, s)
	}
	return strings.Join(names, ","), strconv.Itoa(n)
}

// mountsMatch is ps's --filter volume=: a volume's name or a mount's
// destination, as Docker matches it.
func mountsMatch(b *runtime.Box, v string) bool {
	for _, m := range b.Mounts {
		if (m.Type == spec.MountVolume && m.Name == v) || m.Destination == v || (m.Type == spec.MountBind && m.Source == v) {
			return true
		}
	}
	return false
}
