package spec

import (
	"fmt"
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

// ParseVolume reads compose's short volume notation, [SOURCE:]TARGET[:MODE]:
// a SOURCE that starts with /, . or ~ is a host path (a bind mount), any
// other is a named volume, and none is an anonymous volume. MODE is ro or
// rw. Relative host paths are returned as written.
func ParseVolume(s string) (Mount, error) {
	parts := strings.Split(s, ":")
	var m Mount
	switch len(parts) {
	case 1:
		m.Target = parts[0]
	case 2:
		m.Source, m.Target = parts[0], parts[1]
	case 3:
		m.Source, m.Target = parts[0], parts[1]
		for _, opt := range strings.Split(parts[2], ",") {
			switch opt {
			case "ro":
				m.ReadOnly = true
			case "rw":
				m.ReadOnly = false
			default:
				return Mount{}, fmt.Errorf("invalid volume %q: mode %q: want ro or rw", s, opt)
			}
		}
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
	return m, nil
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
