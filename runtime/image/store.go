// Package image is a3s-box's local image store. Pulled images live in an
// OCI image layout (blobs shared between images); the names that point at
// them are kept beside it in refs.json. Every box of an image boots from
// one read-only ext4 root filesystem, built once per manifest digest from
// the image's flattened layers.
package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Store layout under its directory:
//
//	oci-layout, index.json, blobs/   the OCI image layout
//	refs.json                        reference -> manifest digest
//	lock                             serialises writers of index.json and refs.json
//	gc.lock                          shared by writers of blobs, exclusive for removing them
//	rootfs/<algo>-<hex>.ext4         one read-only root filesystem per manifest
//	tmp/                             blobs and root filesystems being written
const (
	refsFile  = "refs.json"
	lockFile  = "lock"
	gcLock    = "gc.lock"
	tmpDir    = "tmp"
	rootfsDir = "rootfs"
)

// DefaultMaxExtractBytes bounds what building one root filesystem may
// write, so a decompression bomb fails instead of filling the disk.
const DefaultMaxExtractBytes int64 = 64 << 30

// MinFreeBytes is the disk a pull, load, import or flatten leaves free
// where the store is: the boxes' writable disks, logs and state files
// grow into it.
const MinFreeBytes int64 = 512 << 20

// Store is the local image store.
type Store struct {
	dir    string
	layout layout.Path
	// MaxExtractBytes bounds what flattening one image's layers may write;
	// free disk space bounds it further.
	MaxExtractBytes int64

	// InUse lists the boxes and the images they were created from, so
	// that an image a box needs is neither removed unforced nor has its
	// root filesystem deleted. Nil means no boxes.
	InUse func() ([]BoxImage, error)
	// Event hears of each change once it is made (Docker's image events:
	// pull, push, tag, untag, delete, import, load, save), with the
	// event's actor and attributes; nil hears nothing.
	Event func(action, actor string, attrs map[string]string)

	builds atomic.Int64 // root filesystems this Store built (read by tests)
}

// BoxImage is a box and the image it was created from.
type BoxImage struct {
	Box    string  // box ID
	Digest v1.Hash // manifest digest
	ID     v1.Hash // image ID (config digest)
}

// Image is an image held in the store.
type Image struct {
	Ref    string    // full reference it was found by, e.g. "docker.io/library/busybox:latest"; empty when found by ID
	Digest v1.Hash   // manifest digest
	ID     v1.Hash   // config digest, Docker's image ID
	Config v1.Config // the image config's Env, Cmd, Entrypoint, WorkingDir, User ...

	File     *v1.ConfigFile // the whole image config
	Manifest *v1.Manifest
	// Size is the image's content size: its config and (compressed)
	// layers, what it occupies in the store.
	Size int64
}

// refIndex is refs.json.
type refIndex struct {
	Refs map[string]v1.Hash `json:"refs"`
}

// Open opens (creating when needed) the store under dir.
func Open(dir string) (*Store, error) {
	s := &Store{dir: dir, layout: layout.Path(dir), MaxExtractBytes: DefaultMaxExtractBytes}
	// Made here, private, before the layout package would make
	// blobs/sha256 world-readable.
	for _, d := range []string{dir, s.path("blobs", "sha256"), s.path(tmpDir), s.path(rootfsDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open image store %s: %w", dir, err)
		}
	}
	// Concurrent first opens write identical files by rename, so no lock.
	if _, err := os.Stat(s.path("oci-layout")); errors.Is(err, fs.ErrNotExist) {
		if err := statefile.WriteJSON(s.path("oci-layout"), map[string]string{"imageLayoutVersion": "1.0.0"}); err != nil {
			return nil, fmt.Errorf("open image store %s: %w", dir, err)
		}
	}
	if _, err := os.Stat(s.path("index.json")); errors.Is(err, fs.ErrNotExist) {
		if err := statefile.WriteJSON(s.path("index.json"), emptyIndex()); err != nil {
			return nil, fmt.Errorf("open image store %s: %w", dir, err)
		}
	}
	s.removeStaleTemps()
	return s, nil
}

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

func emptyIndex() *v1.IndexManifest {
	return &v1.IndexManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []v1.Descriptor{}}
}

// Get returns the image stored under ref (a reference, or an image ID as
// Docker accepts one), or ErrNotFound. It never contacts a registry.
func (s *Store) Get(ctx context.Context, ref string) (*Image, error) {
	found, err := s.find(ref)
	if err != nil {
		return nil, err
	}
	return s.load(found.ref, found.digests[0])
}

// found is what a user's name for an image matched.
type found struct {
	ref     string    // full reference, empty when matched by ID
	digests []v1.Hash // manifests; several when an ID names more than one
}

// find resolves a user's name for an image the way Docker does: a
// reference first, then a full or abbreviated image ID (config digest) or
// manifest digest.
func (s *Store) find(ref string) (*found, error) {
	r, perr := parseRef(ref)
	if perr == nil {
		refs, err := s.readRefs()
		if err != nil {
			return nil, err
		}
		full := canonical(r)
		if d, ok := refs.Refs[full]; ok {
			return &found{ref: full, digests: []v1.Hash{d}}, nil
		}
		// repo@digest names a manifest the store may hold under another name.
		if dr, isDigest := r.(name.Digest); isDigest {
			if d, err := v1.NewHash(dr.DigestStr()); err == nil && s.hasManifest(d) {
				return &found{ref: full, digests: []v1.Hash{d}}, nil
			}
		}
	}
	if !idPattern.MatchString(ref) {
		if perr != nil {
			return nil, perr
		}
		return nil, notFound(ref)
	}
	ds, err := s.matchID(strings.TrimPrefix(ref, "sha256:"))
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, notFound(ref)
	}
	return &found{digests: ds}, nil
}

// idPattern is what may be an image ID or a prefix of one.
var idPattern = regexp.MustCompile(`^(sha256:)?[0-9a-f]{1,64}$`)

// matchID returns the manifests whose image ID (config digest) or own
// digest starts with prefix. Distinct images sharing the prefix make it
// ambiguous.
func (s *Store) matchID(prefix string) ([]v1.Hash, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var ds []v1.Hash
	ids := map[v1.Hash]bool{}
	for _, m := range idx.Manifests {
		id, err := s.configDigest(m.Digest)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(id.Hex, prefix):
			ids[id] = true
		case strings.HasPrefix(m.Digest.Hex, prefix):
			ids[m.Digest] = true
		default:
			continue
		}
		ds = append(ds, m.Digest)
	}
	if len(ids) > 1 {
		return nil, fmt.Errorf("image ID %q is ambiguous: %d images match", prefix, len(ids))
	}
	return ds, nil
}

// configDigest reads manifest d's config digest.
func (s *Store) configDigest(d v1.Hash) (v1.Hash, error) {
	m, err := s.readManifest(d)
	if err != nil {
		return v1.Hash{}, err
	}
	return m.Config.Digest, nil
}

func (s *Store) readManifest(d v1.Hash) (*v1.Manifest, error) {
	b, err := s.readBlob(d)
	if err != nil {
		return nil, err
	}
	return v1.ParseManifest(bytes.NewReader(b))
}

// load reads the image with manifest digest d from the layout.
func (s *Store) load(ref string, d v1.Hash) (*Image, error) {
	img, err := s.layout.Image(d)
	if err != nil {
		return nil, fmt.Errorf("read image %s (%s): %w", ref, d, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("read image %s (%s): %w", ref, d, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image %s config: %w", ref, err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return &Image{Ref: ref, Digest: d, ID: m.Config.Digest, Config: cfg.Config, File: cfg, Manifest: m, Size: size}, nil
}

func (s *Store) hasManifest(d v1.Hash) bool {
	idx, err := s.readIndex()
	if err != nil {
		return false
	}
	for _, m := range idx.Manifests {
		if m.Digest == d {
			return true
		}
	}
	return false
}

func (s *Store) readRefs() (*refIndex, error) {
	refs := &refIndex{}
	if err := statefile.ReadJSON(s.path(refsFile), refs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read image references: %w", err)
	}
	if refs.Refs == nil {
		refs.Refs = map[string]v1.Hash{}
	}
	return refs, nil
}

func (s *Store) readIndex() (*v1.IndexManifest, error) {
	idx := emptyIndex()
	if err := statefile.ReadJSON(s.path("index.json"), idx); err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	return idx, nil
}

// update changes the layout's index and the references together under the
// store lock. The index is written first, so a crash in between leaves an
// unnamed image, never a name without its image.
func (s *Store) update(ctx context.Context, change func(idx *v1.IndexManifest, refs *refIndex) error) error {
	lock, err := statefile.Acquire(ctx, s.path(lockFile))
	if err != nil {
		return err
	}
	defer lock.Release()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	refs, err := s.readRefs()
	if err != nil {
		return err
	}
	if err := change(idx, refs); err != nil {
		return err
	}
	if err := statefile.WriteJSON(s.path("index.json"), idx); err != nil {
		return err
	}
	return statefile.WriteJSON(s.path(refsFile), refs)
}

// tag records that ref names the manifest desc, whose blobs are stored;
// an empty ref stores the manifest unnamed.
func (s *Store) tag(ctx context.Context, ref string, desc v1.Descriptor) error {
	return s.update(ctx, func(idx *v1.IndexManifest, refs *refIndex) error {
		addToIndex(idx, desc)
		if ref != "" {
			refs.Refs[ref] = desc.Digest
		}
		return nil
	})
}
