package runtime

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/spec"
)

// ErrUnreadable is a box whose record (config.json) is there but cannot
// be read: damaged by a disk fault or a hand edit. Such a box is listed
// with status unknown and kept, its disk with it, until rm -f.
var ErrUnreadable = errors.New("the box's record cannot be read")

// UnreadableError says which box and why.
type UnreadableError struct {
	ID  string
	Err error
}

func (e *UnreadableError) Error() string {
	return fmt.Sprintf("box %s: %s (%v); its disk is kept: `a3s-box rm -f %s` removes the box", e.ID[:12], ErrUnreadable, e.Err, e.ID[:12])
}

func (e *UnreadableError) Unwrap() error { return ErrUnreadable }

// unknownBox stands for a box whose record cannot be read, in listings
// and lookups: its ID, what its state file still says of its processes,
// status unknown and the reason as its error, which inspect shows.
func (r *Runtime) unknownBox(id string, why error) *Box {
	st := &BoxState{}
	_ = statefile.ReadJSON(filepath.Join(r.boxDir(id), "state.json"), st)
	st.Status = spec.StatusUnknown
	st.Error = fmt.Sprintf("%s: %v", ErrUnreadable, why)
	return &Box{BoxRecord: &BoxRecord{ID: id, Main: &proto.Exec{}}, State: st}
}

// boxIDPattern reports whether s has the shape of a box ID (64 lower-case
// hex digits): only such a folder under boxes/ is a box.
func boxIDPattern(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
