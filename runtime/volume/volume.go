// Package volume is a3s-box's volume store, Docker's "local" volume
// driver: each volume is a directory <dir>/<name>/ holding _data/, the
// directory boxes mount, and volume.json, its metadata.
//
// A volume appears whole or not at all: it is built in a temporary
// directory and renamed into place, and it goes by a rename out of the
// way before its files are deleted, so a crash at any point leaves either
// the volume or nothing under its name (leftovers are swept by the next
// change). Every change holds the store's lock (<dir>/lock), so two
// a3s-box processes never create or remove the same volume at once; the
// runtime holds it too while it checks which boxes use a volume, and
// while it creates a box's volumes and writes the box's record.
package volume

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
)

// Driver is the one volume driver a3s-box has.
const Driver = "local"

// ErrNotFound is a name that names no volume.
var ErrNotFound = errors.New("no such volume")

// Volume is one volume's metadata.
type Volume struct {
	Name      string            `json:"name"`
	Driver    string            `json:"driver"`
	Labels    map[string]string `json:"labels,omitempty"`
	Options   map[string]string `json:"options,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	// Anonymous volumes were made for one box (`-v /path`, an image's
	// VOLUME) under a random name; `rm -v` removes them with the box and
	// `volume prune` without -a removes only them.
	Anonymous bool `json:"anonymous,omitempty"`

	// Mountpoint is the volume's _data directory, set when it is read.
	Mountpoint string `json:"-"`
}

// Source is the host directory boxes see: the device of a volume made
// with the bind options (type=none,o=bind,device=DIR), else Mountpoint.
func (v *Volume) Source() string {
	if d := v.Options["device"]; d != "" {
		return d
	}
	return v.Mountpoint
}

// Options are what a new volume is made with.
type Options struct {
	Labels    map[string]string
	Options   map[string]string // the driver's options (--opt)
	Anonymous bool
}

// nameRE is Docker's rule for local volume names.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// CheckName reports whether name can name a volume.
func CheckName(name string) error {
	if len(name) > 255 || !nameRE.MatchString(name) {
		return fmt.Errorf("invalid volume name %q: want 2 to 255 of [a-zA-Z0-9_.-], starting with a letter or digit (a host directory needs an absolute path)", name)
	}
	return nil
}

// NewName returns a random name for an anonymous volume: 64 hex digits,
// as Docker names them.
func NewName() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// checkOptions accepts the local driver's options a3s-box can honour: none,
// or a bind of an existing host directory (type=none, o=bind,
// device=DIR), which compose files use to name a host directory as a
// volume. tmpfs, nfs and other filesystems would be mounted on the host
// by Docker; a box's volumes are host directories shared into its VM, so
// those are refused rather than ignored.
func checkOptions(o map[string]string) error {
	if len(o) == 0 {
		return nil
	}
	for k := range o {
		if k != "type" && k != "o" && k != "device" {
			return fmt.Errorf("invalid volume option %q: the local driver takes type, o and device", k)
		}
	}
	binds := map[string]bool{"bind": true, "rbind": true}
	if o["type"] != "none" || !binds[o["o"]] || o["device"] == "" {
		return fmt.Errorf("unsupported volume options %s: a3s-box's local driver supports only type=none,o=bind,device=DIR (a host directory)", formatOptions(o))
	}
	d := o["device"]
	if !filepath.IsAbs(d) {
		return fmt.Errorf("volume option device=%s: want an absolute path", d)
	}
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		return fmt.Errorf("volume option device=%s: not a directory on this host", d)
	}
	return nil
}

func formatOptions(o map[string]string) string {
	var kv []string
	for k, v := range o {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// Store is the volumes under one directory.
type Store struct{ dir string }

// Open opens (making it on first use) the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open volumes: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) volumeDir(name string) string { return filepath.Join(s.dir, name) }

// Get reads a volume.
func (s *Store) Get(name string) (*Volume, error) {
	if CheckName(name) != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	var v Volume
	if err := statefile.ReadJSON(filepath.Join(s.volumeDir(name), "volume.json"), &v); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return nil, fmt.Errorf("read volume %s: %w", name, err)
	}
	v.Mountpoint = filepath.Join(s.volumeDir(name), "_data")
	return &v, nil
}

// List returns every volume, by name.
func (s *Store) List() ([]*Volume, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []*Volume
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		v, err := s.Get(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue // a crashed create's leftover
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Size is the space a volume's files take: the sum of their sizes, each
// hard-linked file once. A volume over a host directory (device=) takes
// none of the store's.
func (s *Store) Size(v *Volume) int64 {
	if v.Source() != v.Mountpoint {
		return 0
	}
	var n int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(v.Mountpoint, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		n += fi.Size()
		return nil
	})
	return n
}

// Tx is the store under its lock: the only way to change it.
type Tx struct{ s *Store }

// Update runs fn holding the store's lock, after sweeping what a crashed
// change left behind.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	l, err := statefile.Acquire(ctx, filepath.Join(s.dir, "lock"))
	if err != nil {
		return err
	}
	defer l.Release()
	s.sweep()
	return fn(&Tx{s: s})
}

// sweep removes the temporary directories of creates and removals that
// a crash interrupted.
func (s *Store) sweep() {
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if n := e.Name(); e.IsDir() && (strings.HasPrefix(n, ".tmp-") || strings.HasPrefix(n, ".trash-")) {
			os.RemoveAll(filepath.Join(s.dir, n))
		}
	}
}

// Get reads a volume under the lock.
func (tx *Tx) Get(name string) (*Volume, error) { return tx.s.Get(name) }

// List lists the volumes under the lock.
func (tx *Tx) List() ([]*Volume, error) { return tx.s.List() }

// Create makes volume name, or returns the one of that name (created is
// then false), as `docker volume create` does.
func (tx *Tx) Create(name string, o Options) (v *Volume, created bool, err error) {
	if err := CheckName(name); err != nil {
		return nil, false, err
	}
	if v, err := tx.s.Get(name); err == nil {
		return v, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	if err := checkOptions(o.Options); err != nil {
		return nil, false, err
	}
	dir := tx.s.volumeDir(name)
	// A directory without metadata is what a crash left of a create.
	if err := os.RemoveAll(dir); err != nil {
		return nil, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	tmp := filepath.Join(tx.s.dir, ".tmp-"+NewName()[:16])
	v = &Volume{Name: name, Driver: Driver, Labels: o.Labels, Options: o.Options, CreatedAt: time.Now().UTC().Truncate(time.Second), Anonymous: o.Anonymous}
	err = os.Mkdir(tmp, 0o700)
	if err == nil {
		err = os.Mkdir(filepath.Join(tmp, "_data"), 0o755)
	}
	if err == nil {
		err = statefile.WriteJSON(filepath.Join(tmp, "volume.json"), v)
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err == nil {
		err = statefile.SyncDir(tx.s.dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	v.Mountpoint = filepath.Join(dir, "_data")
	return v, true, nil
}

// Remove deletes a volume and its data; the data of a volume over a host
// directory (device=) stays where it is.
func (tx *Tx) Remove(name string) error {
	if _, err := tx.s.Get(name); err != nil {
		return err
	}
	trash := filepath.Join(tx.s.dir, ".trash-"+NewName()[:16])
	if err := os.Rename(tx.s.volumeDir(name), trash); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	_ = statefile.SyncDir(tx.s.dir)
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}
