package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/spec"
)

// ErrNoSuchBox is a name or ID that matches no box.
var ErrNoSuchBox = errors.New("no such box")

// ErrAmbiguous is an ID prefix that matches more than one box.
var ErrAmbiguous = errors.New("ambiguous box ID prefix")

// Box is a box's record and its state as last written.
type Box struct {
	*BoxRecord
	State *BoxState
}

// Boxes lists every box, newest first, as `docker ps -a` orders them.
func (r *Runtime) Boxes() ([]*Box, error) {
	entries, err := os.ReadDir(r.boxesDir())
	if err != nil {
		return nil, fmt.Errorf("list boxes: %w", err)
	}
	var out []*Box
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !e.IsDir() {
			continue // a box being removed (.removed-<id>)
		}
		b, err := r.readBox(e.Name())
		var bad *UnreadableError
		switch {
		case err == nil:
			out = append(out, b)
		case errors.As(err, &bad):
			out = append(out, r.unknownBox(bad.ID, bad.Err))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// readBox reads one box; a directory without a record (a box being
// created) is not a box yet, and a record that is there but cannot be
// read is an *UnreadableError.
func (r *Runtime) readBox(id string) (*Box, error) {
	rec, err := r.readRecord(id)
	if err != nil {
		return nil, err
	}
	st := &BoxState{Status: spec.StatusCreated}
	_ = statefile.ReadJSON(filepath.Join(r.boxDir(id), "state.json"), st)
	return &Box{BoxRecord: rec, State: st}, nil
}

// readRecord reads box id's record alone, with readBox's errors.
func (r *Runtime) readRecord(id string) (*BoxRecord, error) {
	var rec BoxRecord
	err := statefile.ReadJSON(filepath.Join(r.boxDir(id), "config.json"), &rec)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil, fmt.Errorf("%w: %s", ErrNoSuchBox, id)
	case err == nil && rec.ID != id:
		err = fmt.Errorf("it names box %q", rec.ID)
	}
	if err != nil {
		if !boxIDPattern(id) {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchBox, id)
		}
		return nil, &UnreadableError{ID: id, Err: err}
	}
	return &rec, nil
}

// Lookup finds a box by full ID, name, or unique ID prefix, as Docker
// accepts anywhere a container is named.
func (r *Runtime) Lookup(ref string) (*Box, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty name", ErrNoSuchBox)
	}
	// A full ID needs only its own box read: followers (logs -f, waits on
	// dependencies) ask this many times a second.
	if boxIDPattern(ref) {
		if b, err := r.readBox(ref); err == nil {
			return b, nil
		}
	}
	boxes, err := r.Boxes()
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(ref, "/")
	var prefixed []*Box
	for _, b := range boxes {
		if b.ID == ref || b.Name == name {
			return b, nil
		}
		if strings.HasPrefix(b.ID, ref) {
			prefixed = append(prefixed, b)
		}
	}
	switch len(prefixed) {
	case 1:
		return prefixed[0], nil
	case 0:
		return nil, fmt.Errorf("%w: %s", ErrNoSuchBox, ref)
	}
	return nil, fmt.Errorf("%w: %q matches %d boxes; give more of the ID", ErrAmbiguous, ref, len(prefixed))
}

// BoxSize is the space a box's writable disk uses on the host (its
// allocated blocks: the file is sparse) and that plus its image's root
// filesystem, Docker's "virtual" size.
func (r *Runtime) BoxSize(b *Box) (rw, virtual int64) {
	rw = allocated(r.rwDisk(b.ID))
	return rw, rw + allocated(b.Rootfs)
}

func allocated(path string) int64 {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0
	}
	return st.Blocks * 512
}

// LogPath is box id's log file.
func (r *Runtime) LogPath(id string) string { return r.logPath(id) }
