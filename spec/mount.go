package spec

import (
	"encoding/csv"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
)

// Mount types.
const (
	// MountVolume is a named volume declared in the stack's volumes, or an
	// anonymous volume when Source is empty.
	MountVolume = "volume"
	// MountBind is a directory or file of the host.
	MountBind = "bind"
	// MountTmpfs is a memory filesystem; a Box keeps those in Tmpfs.
	MountTmpfs = "tmpfs"
)

// Mount is one entry of a box's volumes: a named volume or a bind mount.
type Mount struct {
	Type string `json:"type"`
	// Source is the volume's key in the stack's volumes (MountVolume) or an
	// absolute host path (MountBind; a stack file's relative paths are
	// resolved against the file's directory when it is read).
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
	// NoCopy leaves a new volume empty instead of seeding it with what
	// the image has at Target (Docker's nocopy).
	NoCopy bool `json:"nocopy,omitempty"`
	// NoCreate refuses a bind source that does not exist, where Docker's
	// -v creates it as a directory (docker run --mount type=bind).
	NoCreate bool `json:"no_create,omitempty"`
	// VolumeOptions and VolumeLabels are given to a named volume that
	// does not exist yet when the box is created (--mount volume-opt=,
	// volume-label=).
	VolumeOptions map[string]string `json:"volume_options,omitempty"`
	VolumeLabels  map[string]string `json:"volume_labels,omitempty"`
}

// String writes the mount in Docker's -v notation.
func (m Mount) String() string {
	s := m.Target
	if m.Source != "" {
		s = m.Source + ":" + s
	}
	if m.ReadOnly {
		s += ":ro"
	}
	return s
}

// ParseVolume reads compose's short volume notation, [SOURCE:]TARGET[:MODE]
// (docker run -v): a SOURCE that starts with /, . or ~ is a host path (a
// bind mount), any other is a named volume, and none is an anonymous
// volume. MODE is ro or rw, and for a volume also nocopy, comma
// separated, each at most once. Relative host paths are returned as
// written.
func ParseVolume(s string) (Mount, error) {
	parts := strings.Split(s, ":")
	var m Mount
	var mode string
	switch len(parts) {
	case 1:
		m.Target = parts[0]
	case 2:
		m.Source, m.Target = parts[0], parts[1]
	case 3:
		m.Source, m.Target, mode = parts[0], parts[1], parts[2]
	default:
		return Mount{}, fmt.Errorf("invalid volume %q: want [SOURCE:]TARGET[:ro|rw]", s)
	}
	if m.Target == "" || (len(parts) > 1 && m.Source == "") {
		return Mount{}, fmt.Errorf("invalid volume %q: want [SOURCE:]TARGET[:ro|rw]", s)
	}
	m.Type = MountVolume
	if isHostPath(m.Source) {
		m.Type = MountBind
	}
	if len(parts) < 3 {
		return m, nil
	}
	rw, seen := 0, map[string]bool{}
	for _, opt := range strings.Split(mode, ",") {
		if seen[opt] {
			return Mount{}, fmt.Errorf("invalid volume %q: mode %q given twice", s, opt)
		}
		seen[opt] = true
		switch opt {
		case "ro", "rw":
			rw++
			m.ReadOnly = opt == "ro"
		case "nocopy":
			if m.Type != MountVolume {
				return Mount{}, fmt.Errorf("invalid volume %q: nocopy is for volumes, not bind mounts", s)
			}
			m.NoCopy = true
		default:
			return Mount{}, fmt.Errorf("invalid volume %q: mode %q: want ro or rw (and nocopy for a volume)", s, opt)
		}
	}
	if rw > 1 {
		return Mount{}, fmt.Errorf("invalid volume %q: mode %q: ro and rw exclude each other", s, mode)
	}
	return m, nil
}

// ParseMount reads Docker's --mount notation: comma separated key=value
// fields (CSV, so a value may be quoted), type=volume|bind|tmpfs (volume
// by default), source (src), target (dst, destination), readonly (ro),
// and per type volume-nocopy, volume-opt, volume-label, volume-driver
// (local), bind-create-src, bind-propagation (rprivate), tmpfs-size and
// tmpfs-mode. A tmpfs comes back as tmp, anything else as m. A bind's
// source must exist unless bind-create-src is given, as with Docker.
func ParseMount(s string) (m Mount, tmp *Tmpfs, err error) {
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return Mount{}, nil, fmt.Errorf("invalid --mount %q: %v", s, err)
	}
	bad := func(format string, args ...any) (Mount, *Tmpfs, error) {
		return Mount{}, nil, fmt.Errorf("invalid --mount %q: "+format, append([]any{s}, args...)...)
	}
	m.Type = MountVolume
	var t Tmpfs
	create := false
	byType := map[string]string{} // a type-specific key given -> its type
	seen := map[string]bool{}
	for _, f := range fields {
		k, v, hasValue := strings.Cut(strings.TrimSpace(f), "=")
		k = strings.ToLower(k)
		canonical := map[string]string{"src": "source", "dst": "target", "destination": "target", "ro": "readonly"}[k]
		if canonical == "" {
			canonical = k
		}
		if seen[canonical] && canonical != "volume-opt" && canonical != "volume-label" {
			return bad("%s given twice", canonical)
		}
		seen[canonical] = true
		flag := func() (bool, error) {
			if !hasValue {
				return true, nil
			}
			switch strings.ToLower(v) {
			case "1", "true":
				return true, nil
			case "0", "false":
				return false, nil
			}
			return false, fmt.Errorf("invalid --mount %q: %s=%s: want true or false", s, k, v)
		}
		if !hasValue && canonical != "readonly" && canonical != "volume-nocopy" && canonical != "bind-create-src" {
			return bad("%q is not a key=value pair", f)
		}
		switch canonical {
		case "type":
			switch v {
			case MountVolume, MountBind, MountTmpfs:
				m.Type = v
			default:
				return bad("type %q: want volume, bind or tmpfs", v)
			}
		case "source":
			m.Source = v
		case "target":
			m.Target = v
		case "readonly":
			if m.ReadOnly, err = flag(); err != nil {
				return Mount{}, nil, err
			}
		case "consistency":
			// Docker accepts and ignores it on Linux.
		case "volume-nocopy":
			byType[k] = MountVolume
			if m.NoCopy, err = flag(); err != nil {
				return Mount{}, nil, err
			}
		case "volume-opt", "volume-label":
			byType[k] = MountVolume
			ok, ov, _ := strings.Cut(v, "=")
			if ok == "" {
				return bad("%s %q: want %s=KEY=VALUE", k, v, k)
			}
			if k == "volume-opt" {
				m.VolumeOptions = addKey(m.VolumeOptions, ok, ov)
			} else {
				m.VolumeLabels = addKey(m.VolumeLabels, ok, ov)
			}
		case "volume-driver":
			byType[k] = MountVolume
			if v != "local" {
				return bad("volume driver %q: a3s-box has the local driver only", v)
			}
		case "bind-create-src":
			byType[k] = MountBind
			if create, err = flag(); err != nil {
				return Mount{}, nil, err
			}
		case "bind-propagation":
			byType[k] = MountBind
			if v != "rprivate" && v != "private" {
				return bad("bind-propagation %q: a box's mounts reach its VM over one share and cannot propagate; only rprivate is supported", v)
			}
		case "tmpfs-size":
			byType[k] = MountTmpfs
			n, err := ParseBytes(v)
			if err != nil || n == 0 {
				return bad("tmpfs-size %q: want a size such as 64m", v)
			}
			t.Size = n
		case "tmpfs-mode":
			byType[k] = MountTmpfs
			mode, err := parseMode(v)
			if err != nil {
				return bad("tmpfs-mode: %v", err)
			}
			t.Mode = mode
		default:
			return bad("unknown key %q", k)
		}
	}
	for k, typ := range byType {
		if typ != m.Type {
			return bad("%s is for type=%s, not type=%s", k, typ, m.Type)
		}
	}
	switch {
	case m.Target == "":
		return bad("target is required (the path in the box)")
	case m.Type == MountBind && m.Source == "":
		return bad("a bind mount needs a source (a path on the host)")
	case m.Type == MountTmpfs && m.Source != "":
		return bad("a tmpfs has no source")
	case m.Type == MountVolume && isHostPath(m.Source):
		return bad("source %q is a path: use type=bind for a host directory", m.Source)
	}
	if m.Type == MountTmpfs {
		t.Target = m.Target
		if m.ReadOnly {
			t.Options = []string{"ro"}
		}
		return Mount{}, &t, nil
	}
	m.NoCreate = m.Type == MountBind && !create
	return m, nil, nil
}

func addKey(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// ResolveHostPath makes a bind source absolute: ~ is the home directory,
// a relative path is relative to dir.
func ResolveHostPath(p, dir string) string {
	home, _ := os.UserHomeDir()
	return resolveHostPath(p, dir, home)
}

// CheckMounts checks a box's volumes and tmpfs mounts together: every
// mount point absolute, not /, and used once; bind sources absolute.
// It returns the first problem (a stack's validation reports each with
// its line instead).
func CheckMounts(b *Box) error {
	targets := map[string]bool{}
	check := func(what, t string) error {
		if err := checkTarget(t); err != nil {
			return fmt.Errorf("invalid %s: %v", what, err)
		}
		t = path.Clean(t)
		if targets[t] {
			return fmt.Errorf("duplicate mount point: %s", t)
		}
		targets[t] = true
		return nil
	}
	for _, m := range b.Volumes {
		if err := check("volume "+m.String(), m.Target); err != nil {
			return err
		}
		if err := m.check(); err != nil {
			return fmt.Errorf("invalid volume %s: %v", m, err)
		}
	}
	for _, t := range b.Tmpfs {
		if err := check("tmpfs "+t.Target, t.Target); err != nil {
			return err
		}
		for _, o := range t.Options {
			if !tmpfsFlags[o] {
				return fmt.Errorf("invalid tmpfs %s: option %q", t.Target, o)
			}
		}
	}
	return nil
}

// check reports what is wrong with a mount's type and source.
func (m Mount) check() error {
	switch m.Type {
	case MountVolume:
	case MountBind:
		if !path.IsAbs(m.Source) {
			return fmt.Errorf("bind source %q is not an absolute path", m.Source)
		}
	default:
		return fmt.Errorf("invalid type %q: want volume or bind", m.Type)
	}
	return nil
}

func isHostPath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~")
}

// Tmpfs is a memory-backed filesystem mounted in the box.
type Tmpfs struct {
	Target string `json:"target"`
	// Size bounds the filesystem in bytes; 0 means the kernel's default
	// (half the box's memory).
	Size int64 `json:"size,omitempty"`
	// Mode is the permission bits of the mount's root; 0 means 1777.
	Mode uint32 `json:"mode,omitempty"`
	// Options are mount flags: ro, rw, exec, noexec, suid, nosuid, dev,
	// nodev.
	Options []string `json:"options,omitempty"`
}

// tmpfsFlags are the mount flags a tmpfs entry may carry.
var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "exec": true, "noexec": true,
	"suid": true, "nosuid": true, "dev": true, "nodev": true,
}

// ParseTmpfs reads Docker's --tmpfs notation: PATH[:OPTION,...] with
// size=SIZE, mode=OCTAL and the flags of Tmpfs.Options.
func ParseTmpfs(s string) (Tmpfs, error) {
	target, opts, _ := strings.Cut(s, ":")
	t := Tmpfs{Target: target}
	if target == "" {
		return Tmpfs{}, fmt.Errorf("invalid tmpfs %q: no path", s)
	}
	if opts == "" {
		return t, nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, hasValue := strings.Cut(o, "=")
		switch {
		case k == "size" && hasValue:
			n, err := ParseBytes(v)
			if err != nil || n == 0 {
				return Tmpfs{}, fmt.Errorf("invalid tmpfs %q: size %q: want a size such as 64m", s, v)
			}
			t.Size = n
		case k == "mode" && hasValue:
			m, err := parseMode(v)
			if err != nil {
				return Tmpfs{}, fmt.Errorf("invalid tmpfs %q: %v", s, err)
			}
			t.Mode = m
		case !hasValue && tmpfsFlags[k]:
			t.Options = append(t.Options, k)
		default:
			return Tmpfs{}, fmt.Errorf("invalid tmpfs %q: option %q: want size=, mode= or one of ro, rw, exec, noexec, suid, nosuid, dev, nodev", s, o)
		}
	}
	return t, nil
}

func parseMode(s string) (uint32, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("mode %q: want octal permission bits such as 1777", s)
	}
	return uint32(m), nil
}

// checkTarget reports whether p can be a mount point in a box: an
// absolute path other than "/".
func checkTarget(p string) error {
	switch {
	case !path.IsAbs(p):
		return fmt.Errorf("mount point %q is not an absolute path", p)
	case path.Clean(p) == "/":
		return fmt.Errorf("cannot mount over /")
	}
	return nil
}
