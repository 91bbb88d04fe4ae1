package image

import v1 "github.com/google/go-containerregistry/pkg/v1"

// emit tells Event of an image event, in Docker's terms: the actor is the
// reference for pull and push and the image ID for the rest, and name
// the reference the event is about (the ID where there is none).
func (s *Store) emit(action, actor, name string) {
	if s.Event != nil {
		s.Event(action, actor, map[string]string{"name": name})
	}
}

// emitID is an event about image id named by the full reference ref
// (empty: by its ID).
func (s *Store) emitID(action string, id v1.Hash, ref string) {
	name := id.String()
	if ref != "" {
		name = Familiar(ref)
	}
	s.emit(action, id.String(), name)
}

// removed is one reference or image a removal took away, kept in order
// for its events.
type removed struct {
	id  v1.Hash
	ref string // empty: the image itself was deleted
}

// untag records that ref, which named image id, was removed.
func (rm *Removal) untag(ref string, id v1.Hash) {
	rm.Untagged = append(rm.Untagged, ref)
	rm.events = append(rm.events, removed{id: id, ref: ref})
}

// emitRemoval reports a removal's untags and deletes, in Docker's order.
func (s *Store) emitRemoval(rm *Removal) {
	for _, e := range rm.events {
		if e.ref != "" {
			s.emitID("untag", e.id, e.ref)
		} else {
			s.emitID("delete", e.id, "")
		}
	}
}
