// Package image is a3s-box's local image store. Pulled images live in an
// OCI image layout (blobs shared between images); the names that point at
// them are kept beside it in refs.json. Every box of an image boots from
// one read-only ext4 root filesystem, built once per manifest digest from
// the image's flattened layers.
package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/a3s-box/a3s-box/runtime/statefile"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Store layout under its directory:
//
//	oci-layout, index.json, blobs/   the OCI image layout
//	refs.json                        reference -> manifest digest
//	lock                             serialises writers of index.json and refs.json
//	rootfs/<algo>-<hex>.ext4         one read-only root filesystem per manifest
//	tmp/                             blobs and root filesystems being written
const (
	refsFile  = "refs.json"
	lockFile  = "lock"
	tmpDir    = "tmp"
	rootfsDir = "rootfs"
)

// DefaultMaxExtractBytes bounds what building one root filesystem may
// write, so a decompression bomb fails instead of filling the disk.
const DefaultMaxExtractBytes int64 = 64 << 30

// Store is the local image store.
type Store struct {
	dir    string
	layout layout.Path
	// MaxExtractBytes bounds what flattening one image's layers may write;
	// free disk space bounds it further.
	MaxExtractBytes int64

	builds atomic.Int64 // root filesystems this Store built (read by tests)
}

// Image is an image held in the store.
type Image struct {
	Ref    string    // normalised reference, e.g. "127.0.0.1:5000/test/busybox:1"
	Digest v1.Hash   // manifest digest
	ID     v1.Hash   // config digest, Docker's image ID
	Config v1.Config // the image config's Env, Cmd, Entrypoint, WorkingDir, User ...
}

// refIndex is refs.json.
type refIndex struct {
	Refs map[string]v1.Hash `json:"refs"`
}

// Open opens (creating when needed) the store under dir.
func Open(dir string) (*Store, error) {
	s := &Store{dir: dir, layout: layout.Path(dir), MaxExtractBytes: DefaultMaxExtractBytes}
	for _, d := range []string{dir, s.path("blobs"), s.path(tmpDir), s.path(rootfsDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
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

// Get returns the image stored under ref, or ErrNotFound. It never
// contacts a registry.
func (s *Store) Get(ctx context.Context, ref string) (*Image, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	d, ok := refs.Refs[r.Name()]
	if !ok {
		// repo@digest names a manifest the store may hold under another name.
		dr, isDigest := r.(name.Digest)
		if !isDigest {
			return nil, notFound(ref)
		}
		if d, err = v1.NewHash(dr.DigestStr()); err != nil || !s.hasManifest(d) {
			return nil, notFound(ref)
		}
	}
	return s.load(r.Name(), d)
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
	return &Image{Ref: ref, Digest: d, ID: m.Config.Digest, Config: cfg.Config}, nil
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

// tag records that ref names the manifest desc, whose blobs are stored.
func (s *Store) tag(ctx context.Context, ref string, desc v1.Descriptor) error {
	return s.update(ctx, func(idx *v1.IndexManifest, refs *refIndex) error {
		known := false
		for _, m := range idx.Manifests {
			known = known || m.Digest == desc.Digest
		}
		if !known {
			idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest})
		}
		refs.Refs[ref] = desc.Digest
		return nil
	})
}
