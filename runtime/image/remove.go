package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/a3s-box/a3s-box/internal/statefile"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrConflict is a removal Docker refuses without --force: the image is
// used by a box, or named by several references.
var ErrConflict = errors.New("conflict")

// Removal says what Remove or Prune did, in Docker's terms.
type Removal struct {
	Untagged []string  // full references removed
	Deleted  []v1.Hash // image IDs removed from the store
	Freed    int64     // bytes of blobs and root filesystems deleted

	events []removed
}

// Tag names the image source (a reference or ID) target as well.
func (s *Store) Tag(ctx context.Context, source, target string) error {
	t, err := parseRef(target)
	if err != nil {
		return err
	}
	if strings.Contains(target, "@") {
		return fmt.Errorf("refusing to create a tag with a digest reference: %s", target)
	}
	f, err := s.find(source)
	if err != nil {
		return err
	}
	desc, err := s.descriptor(f.digests[0])
	if err != nil {
		return err
	}
	if err := s.tag(ctx, canonical(t), desc); err != nil {
		return err
	}
	if id, err := s.configDigest(desc.Digest); err == nil {
		s.emitID("tag", id, canonical(t))
	}
	return nil
}

// descriptor is manifest d's entry in the layout's index.
func (s *Store) descriptor(d v1.Hash) (v1.Descriptor, error) {
	idx, err := s.readIndex()
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, m := range idx.Manifests {
		if m.Digest == d {
			return m, nil
		}
	}
	return v1.Descriptor{}, notFound(d.String())
}

// Remove removes the image nameOrID names, as `docker rmi` does: a name
// of an image that has other names is only untagged; the last name, or
// an ID, deletes the image. An image a box was created from, or an ID
// that several names share, is refused unless force is set; forced, an
// image a box uses loses its names but its root filesystem stays until
// no box needs it.
func (s *Store) Remove(ctx context.Context, nameOrID string, force bool) (*Removal, error) {
	f, err := s.find(nameOrID)
	if err != nil {
		return nil, err
	}
	users, err := s.users()
	if err != nil {
		return nil, err
	}
	rm := &Removal{}
	err = s.update(ctx, func(idx *v1.IndexManifest, refs *refIndex) error {
		if f.ref != "" {
			return s.removeRef(idx, refs, f.ref, f.digests[0], users, force, rm)
		}
		return s.removeIDs(idx, refs, nameOrID, f.digests, users, force, rm)
	})
	if err != nil {
		return nil, err
	}
	s.emitRemoval(rm)
	rm.Freed, _ = s.collect(ctx)
	return rm, nil
}

func (s *Store) removeRef(idx *v1.IndexManifest, refs *refIndex, ref string, d v1.Hash, users map[v1.Hash][]string, force bool, rm *Removal) error {
	others := slices.DeleteFunc(namesOf(refs, d), func(n string) bool { return n == ref })
	if len(others) == 0 && len(users[d]) > 0 && !force {
		id, _ := s.configDigest(d)
		return fmt.Errorf("%w: unable to remove repository reference %q (must force) - box %s is using its referenced image %s",
			ErrConflict, Familiar(ref), short(users[d][0]), ShortID(id))
	}
	if _, ok := refs.Refs[ref]; ok {
		delete(refs.Refs, ref)
		id, _ := s.configDigest(d)
		rm.untag(ref, id)
	}
	if len(others) > 0 || len(users[d]) > 0 {
		return nil
	}
	return s.unindex(idx, d, rm)
}

func (s *Store) removeIDs(idx *v1.IndexManifest, refs *refIndex, id string, ds []v1.Hash, users map[v1.Hash][]string, force bool, rm *Removal) error {
	var names []string
	nameIDs := map[string]v1.Hash{}
	for _, d := range ds {
		for _, n := range namesOf(refs, d) {
			names = append(names, n)
			nameIDs[n], _ = s.configDigest(d)
		}
		if len(users[d]) > 0 && !force {
			return fmt.Errorf("%w: unable to delete %s (must be forced) - image is being used by box %s", ErrConflict, strings.TrimPrefix(id, "sha256:"), short(users[d][0]))
		}
	}
	if repos := repositories(names); len(repos) > 1 && !force {
		return fmt.Errorf("%w: unable to delete %s (must be forced) - image is referenced in multiple repositories", ErrConflict, strings.TrimPrefix(id, "sha256:"))
	}
	for _, n := range names {
		delete(refs.Refs, n)
		rm.untag(n, nameIDs[n])
	}
	for _, d := range ds {
		if err := s.unindex(idx, d, rm); err != nil {
			return err
		}
	}
	return nil
}

// repositories are the distinct repositories of full names.
func repositories(names []string) []string {
	var repos []string
	for _, n := range names {
		r, _, _ := SplitRef(n)
		if !slices.Contains(repos, r) {
			repos = append(repos, r)
		}
	}
	return repos
}

// unindex drops manifest d from the index; collect deletes its blobs.
func (s *Store) unindex(idx *v1.IndexManifest, d v1.Hash, rm *Removal) error {
	id, err := s.configDigest(d)
	if err != nil {
		id = d
	}
	idx.Manifests = slices.DeleteFunc(idx.Manifests, func(m v1.Descriptor) bool { return m.Digest == d })
	if !slices.Contains(rm.Deleted, id) {
		rm.Deleted = append(rm.Deleted, id)
		rm.events = append(rm.events, removed{id: id})
	}
	return nil
}

// namesOf lists the references naming manifest d, sorted.
func namesOf(refs *refIndex, d v1.Hash) []string {
	var names []string
	for n, h := range refs.Refs {
		if h == d {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// users maps manifest digests (and image IDs) to the boxes created from
// them.
func (s *Store) users() (map[v1.Hash][]string, error) {
	out := map[v1.Hash][]string{}
	if s.InUse == nil {
		return out, nil
	}
	boxes, err := s.InUse()
	if err != nil {
		return nil, fmt.Errorf("list boxes: %w", err)
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	for _, b := range boxes {
		if b.Digest != (v1.Hash{}) {
			out[b.Digest] = append(out[b.Digest], b.Box)
			continue
		}
		// A record with only the image ID: every manifest of that ID.
		for _, m := range idx.Manifests {
			if id, err := s.configDigest(m.Digest); err == nil && id == b.ID {
				out[m.Digest] = append(out[m.Digest], b.Box)
			}
		}
	}
	return out, nil
}

// Prune removes images no box uses: the unnamed ones, or with all every
// one; keep, when set, spares images it returns true for (Docker's
// --filter).
func (s *Store) Prune(ctx context.Context, all bool, keep func(*Image) bool) (*Removal, error) {
	users, err := s.users()
	if err != nil {
		return nil, err
	}
	rm := &Removal{}
	err = s.update(ctx, func(idx *v1.IndexManifest, refs *refIndex) error {
		for _, m := range slices.Clone(idx.Manifests) {
			names := namesOf(refs, m.Digest)
			if (len(names) > 0 && !all) || len(users[m.Digest]) > 0 {
				continue
			}
			if keep != nil {
				img, err := s.load("", m.Digest)
				if err != nil || keep(img) {
					continue
				}
			}
			id, _ := s.configDigest(m.Digest)
			for _, n := range names {
				delete(refs.Refs, n)
				rm.untag(n, id)
			}
			if err := s.unindex(idx, m.Digest, rm); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.emitRemoval(rm)
	freed, err := s.collect(ctx)
	rm.Freed = freed
	return rm, err
}

// Collect deletes what no stored image needs: unreferenced blobs, and
// root filesystems of removed images once no box uses them. It returns
// the bytes freed.
func (s *Store) Collect(ctx context.Context) (int64, error) { return s.collect(ctx) }

// collect needs every writer of blobs quiet, since a pull's blobs are
// unreferenced until it tags its manifest: it runs only when it can take
// the gc lock exclusively, and otherwise leaves the work to the next one.
func (s *Store) collect(ctx context.Context) (int64, error) {
	gc, err := statefile.TryLock(s.path(gcLock))
	if errors.Is(err, statefile.ErrLocked) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer gc.Release()
	lock, err := statefile.Acquire(ctx, s.path(lockFile))
	if err != nil {
		return 0, err
	}
	defer lock.Release()
	keep, err := s.reachable()
	if err != nil {
		return 0, fmt.Errorf("collect unused blobs: %w", err)
	}
	users, err := s.users()
	if err != nil {
		return 0, err
	}
	var freed int64
	algos, _ := os.ReadDir(s.path("blobs"))
	for _, a := range algos {
		blobs, _ := os.ReadDir(s.path("blobs", a.Name()))
		for _, b := range blobs {
			if keep[a.Name()+":"+b.Name()] {
				continue
			}
			freed += remove(s.path("blobs", a.Name(), b.Name()))
		}
	}
	files, _ := os.ReadDir(s.path(rootfsDir))
	for _, f := range files {
		algo, hex, ok := strings.Cut(strings.TrimSuffix(f.Name(), ".ext4"), "-")
		if !ok || !strings.HasSuffix(f.Name(), ".ext4") {
			continue
		}
		d := v1.Hash{Algorithm: algo, Hex: hex}
		if keep[d.String()] || len(users[d]) > 0 {
			continue
		}
		freed += remove(s.path(rootfsDir, f.Name()))
	}
	return freed, nil
}

// collectQuietly is collect after a failed write, whose own error would
// only hide the one that matters.
func (s *Store) collectQuietly() {
	_, _ = s.collect(context.Background())
}

// remove deletes a file and returns its size, or 0 when it could not.
func remove(p string) int64 {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	return fi.Size()
}

// reachable is every blob the index needs, as "algo:hex". A manifest it
// cannot read stops the collection: its blobs would be lost.
func (s *Store) reachable() (map[string]bool, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	// walk reads any manifest or index whatever its declared media type,
	// so an odd descriptor cannot cost an image its layers. An index's
	// children may be absent (the store keeps one platform's image).
	var walk func(d v1.Hash, child bool) error
	walk = func(d v1.Hash, child bool) error {
		p, err := s.blobPath(d)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if child && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		keep[d.String()] = true
		var m struct {
			Manifests []v1.Descriptor `json:"manifests"`
			Config    v1.Descriptor   `json:"config"`
			Layers    []v1.Descriptor `json:"layers"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("manifest %s: %w", d, err)
		}
		for _, c := range m.Manifests {
			if err := walk(c.Digest, true); err != nil {
				return err
			}
		}
		keep[m.Config.Digest.String()] = true
		for _, l := range m.Layers {
			keep[l.Digest.String()] = true
		}
		return nil
	}
	for _, m := range idx.Manifests {
		if err := walk(m.Digest, false); err != nil {
			return nil, err
		}
	}
	return keep, nil
}
