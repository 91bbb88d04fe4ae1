package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/a3s-box/a3s-box/internal/statefile"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrBadArchive is an image archive that cannot be loaded: truncated,
// corrupt, inconsistent or hostile.
var ErrBadArchive = errors.New("invalid image archive")

// maxMetadata bounds an archive's index.json, manifest.json, oci-layout
// and repositories, which are read into memory.
const maxMetadata = 16 << 20

// Loaded is what Load added to the store.
type Loaded struct {
	Names []string  // full references now naming loaded images
	IDs   []v1.Hash // image IDs of loaded images without a name
}

// loadedImage is one image found in an archive.
type loadedImage struct {
	desc  v1.Descriptor
	id    v1.Hash
	names []string
}

// archive is what reading an image archive collected: its blobs (stored
// under their digests as they streamed by), its metadata files, and its
// links.
type archive struct {
	files    map[string]v1.Hash // entry name -> stored content
	metadata map[string][]byte  // index.json, manifest.json, ...
	links    map[string]string  // entry name -> target entry name
	sizes    map[v1.Hash]int64  // stored content sizes
	stored   map[v1.Hash]bool   // blobs this archive brought
	cached   map[v1.Hash][]byte // small blobs read back (manifests, configs)
}

var metadataFiles = map[string]bool{"index.json": true, "manifest.json": true, "oci-layout": true, "repositories": true}

// Load reads an image archive (an OCI image layout or a docker-archive,
// tar or gzip-compressed tar) from r into the store and names its images.
// Every blob is checked against its digest before it is stored; on any
// error the store keeps no image, name or blob of the archive.
func (s *Store) Load(ctx context.Context, r io.Reader) (*Loaded, error) {
	gc, err := statefile.AcquireShared(ctx, s.path(gcLock))
	if err != nil {
		return nil, err
	}
	out, err := s.load1(ctx, r)
	gc.Release()
	if err != nil {
		s.collectQuietly()
		return nil, fmt.Errorf("load: %w", err)
	}
	return out, nil
}

func (s *Store) load1(ctx context.Context, r io.Reader) (*Loaded, error) {
	a, err := s.readArchive(ctx, r)
	if err != nil {
		return nil, err
	}
	var imgs []loadedImage
	switch {
	case a.metadata["index.json"] != nil:
		imgs, err = s.ociImages(a)
	case a.metadata["manifest.json"] != nil:
		imgs, err = s.dockerImages(a)
	default:
		return nil, fmt.Errorf("%w: no index.json or manifest.json: not an OCI layout or docker-archive", ErrBadArchive)
	}
	if err != nil {
		return nil, err
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("%w: the archive holds no image", ErrBadArchive)
	}
	if err := s.syncBlobs(); err != nil {
		return nil, err
	}
	out := &Loaded{}
	err = s.update(ctx, func(idx *v1.IndexManifest, refs *refIndex) error {
		for _, img := range imgs {
			addToIndex(idx, img.desc)
			for _, n := range img.names {
				refs.Refs[n] = img.desc.Digest
				out.Names = append(out.Names, n)
			}
			if len(img.names) == 0 {
				out.IDs = append(out.IDs, img.id)
			}
		}
		return nil
	})
	if err == nil {
		for _, img := range imgs {
			s.emitID("load", img.id, "")
		}
	}
	return out, err
}

// readArchive streams the tar, storing every regular file but the
// metadata as a blob under its own digest; a file under blobs/<algo>/
// must hash to its name.
func (s *Store) readArchive(ctx context.Context, r io.Reader) (*archive, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadArchive, err)
		}
		defer zr.Close()
		// What the archive decompresses to is stored: bounded as a
		// pulled layer's extraction is.
		budget, why, err := s.extractBudget()
		if err != nil {
			return nil, err
		}
		r = &boundReader{r: zr, n: budget, why: why}
	} else {
		r = br
	}
	a := &archive{files: map[string]v1.Hash{}, metadata: map[string][]byte{}, links: map[string]string{},
		sizes: map[v1.Hash]int64{}, stored: map[v1.Hash]bool{}, cached: map[v1.Hash][]byte{}}
	tr := tar.NewReader(r)
	entries := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if entries == 0 && errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: empty input", ErrBadArchive)
			}
			return nil, fmt.Errorf("%w: read tar: %v", ErrBadArchive, truncated(err))
		}
		entries++
		name, err := archivePath(".", h.Name)
		if err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeSymlink, tar.TypeLink:
			base := "."
			if h.Typeflag == tar.TypeSymlink {
				base = path.Dir(name)
			}
			target, err := archivePath(base, h.Linkname)
			if err != nil {
				return nil, err
			}
			a.links[name] = target
		case tar.TypeReg:
			if isSparse(h) {
				// A sparse entry can declare terabytes in a few bytes.
				return nil, fmt.Errorf("%w: entry %q is a sparse file", ErrBadArchive, h.Name)
			}
			if metadataFiles[name] {
				b, err := io.ReadAll(io.LimitReader(tr, maxMetadata+1))
				if err != nil {
					return nil, fmt.Errorf("%w: read %s: %v", ErrBadArchive, name, truncated(err))
				}
				if len(b) > maxMetadata {
					return nil, fmt.Errorf("%w: %s is larger than %d MiB", ErrBadArchive, name, maxMetadata>>20)
				}
				a.metadata[name] = b
				continue
			}
			var d v1.Hash
			var n int64
			if want, ok := blobDigest(name); ok {
				err = s.writeBlob(want, h.Size, tr)
				d, n = want, h.Size
			} else {
				d, n, err = s.storeBlob(tr)
			}
			if err != nil {
				var me *mismatchError
				if errors.As(err, &me) {
					return nil, fmt.Errorf("%w: %s: %w: its content has digest %s", ErrBadArchive, name, ErrDigestMismatch, me.got)
				}
				if errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, fmt.Errorf("%w: %s: the archive is truncated", ErrBadArchive, name)
				}
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			a.files[name], a.sizes[d], a.stored[d] = d, n, true
		default:
			return nil, fmt.Errorf("%w: entry %q has unsupported type %q", ErrBadArchive, h.Name, h.Typeflag)
		}
	}
	if entries == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrBadArchive)
	}
	return a, nil
}

// isSparse reports a GNU sparse file in PAX form (the old form has its
// own type flag, refused with the other odd types).
func isSparse(h *tar.Header) bool {
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the archive is truncated")
	}
	return err
}

// archivePath cleans an entry name (or link target, relative to dir) and
// refuses one that leaves the archive.
func archivePath(dir, name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: entry %q is an absolute path", ErrBadArchive, name)
	}
	p := path.Join(dir, name)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%w: entry %q escapes the archive", ErrBadArchive, name)
	}
	return p, nil
}

// blobDigest is the digest an OCI layout path blobs/<algo>/<hex> names.
func blobDigest(name string) (v1.Hash, bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] != "blobs" {
		return v1.Hash{}, false
	}
	h, err := v1.NewHash(parts[1] + ":" + parts[2])
	return h, err == nil
}

// file resolves an entry name, following links, to its stored digest.
func (a *archive) file(name string) (v1.Hash, bool) {
	p, err := archivePath(".", name)
	if err != nil {
		return v1.Hash{}, false
	}
	for range 40 {
		if d, ok := a.files[p]; ok {
			return d, true
		}
		t, ok := a.links[p]
		if !ok {
			return v1.Hash{}, false
		}
		p = t
	}
	return v1.Hash{}, false
}

// ociImages reads an OCI layout's index.json: each entry is an image,
// or an index resolved to the platform a3s-box boots.
func (s *Store) ociImages(a *archive) ([]loadedImage, error) {
	var idx v1.IndexManifest
	if err := json.Unmarshal(a.metadata["index.json"], &idx); err != nil {
		return nil, fmt.Errorf("%w: index.json: %v", ErrBadArchive, err)
	}
	var dm []dockerManifestEntry
	_ = json.Unmarshal(a.metadata["manifest.json"], &dm)
	var out []loadedImage
	for _, desc := range idx.Manifests {
		img, err := s.ociImage(a, desc)
		if err != nil {
			return nil, err
		}
		names, err := ociNames(desc)
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			// A tar that is both layouts names its images in manifest.json.
			for _, e := range dm {
				if d, ok := a.file(e.Config); ok && d == img.id {
					for _, t := range e.RepoTags {
						if n, err := Canonical(t); err == nil {
							names = append(names, n)
						}
					}
				}
			}
		}
		img.names = names
		out = append(out, *img)
	}
	return out, nil
}

// ociNames are the full references an index.json entry names: Docker's
// and containerd's io.containerd.image.name, else an
// org.opencontainers.image.ref.name that is a whole reference (one that
// is only a tag names no repository).
func ociNames(desc v1.Descriptor) ([]string, error) {
	if n := desc.Annotations[annotationImageName]; n != "" {
		full, err := Canonical(n)
		if err != nil {
			return nil, fmt.Errorf("%w: index.json names %q: %v", ErrBadArchive, n, err)
		}
		return []string{full}, nil
	}
	if n := desc.Annotations[annotationRefName]; strings.ContainsAny(n, "/:") {
		if full, err := Canonical(n); err == nil {
			return []string{full}, nil
		}
	}
	return nil, nil
}

func (s *Store) ociImage(a *archive, desc v1.Descriptor) (*loadedImage, error) {
	if desc.MediaType.IsIndex() {
		b, err := s.archiveBlob(a, desc.Digest)
		if err != nil {
			return nil, err
		}
		im, err := v1.ParseIndexManifest(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%w: index %s: %v", ErrBadArchive, desc.Digest, err)
		}
		for _, c := range im.Manifests {
			if c.Platform != nil && c.Platform.OS == Platform.OS && c.Platform.Architecture == Platform.Architecture {
				img, err := s.ociImage(a, c)
				if err != nil {
					return nil, err
				}
				return img, nil
			}
		}
		return nil, fmt.Errorf("%w: index %s has no %s/%s image", ErrBadArchive, desc.Digest, Platform.OS, Platform.Architecture)
	}
	b, err := s.archiveBlob(a, desc.Digest)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: manifest %s: %v", ErrBadArchive, desc.Digest, err)
	}
	if _, err := s.archiveBlob(a, m.Config.Digest); err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if !a.stored[l.Digest] && !s.hasBlob(l.Digest) {
			return nil, fmt.Errorf("%w: layer %s of manifest %s is missing", ErrBadArchive, l.Digest, desc.Digest)
		}
	}
	mt := desc.MediaType
	if mt == "" {
		mt = m.MediaType
	}
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	return &loadedImage{desc: v1.Descriptor{MediaType: mt, Size: int64(len(b)), Digest: desc.Digest}, id: m.Config.Digest}, nil
}

// archiveBlob reads a blob the archive brought, or the store already had.
func (s *Store) archiveBlob(a *archive, d v1.Hash) ([]byte, error) {
	if b, ok := a.cached[d]; ok {
		return b, nil
	}
	if !a.stored[d] && !s.hasBlob(d) {
		return nil, fmt.Errorf("%w: blob %s is missing", ErrBadArchive, d)
	}
	b, err := s.readBlob(d)
	if err != nil {
		return nil, err
	}
	a.cached[d] = b
	return b, nil
}

// dockerImages reads a docker-archive's manifest.json and writes a
// manifest for each image over the layer files as they are (compressed
// or not).
func (s *Store) dockerImages(a *archive) ([]loadedImage, error) {
	var dm []dockerManifestEntry
	if err := json.Unmarshal(a.metadata["manifest.json"], &dm); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrBadArchive, err)
	}
	var out []loadedImage
	for i, e := range dm {
		cd, ok := a.file(e.Config)
		if !ok {
			return nil, fmt.Errorf("%w: manifest.json entry %d names config %q, which the archive lacks", ErrBadArchive, i+1, e.Config)
		}
		raw, err := s.archiveBlob(a, cd)
		if err != nil {
			return nil, err
		}
		cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%w: config %s: %v", ErrBadArchive, e.Config, err)
		}
		if len(cf.RootFS.DiffIDs) != len(e.Layers) {
			return nil, fmt.Errorf("%w: %s lists %d layers, its config %d", ErrBadArchive, "manifest.json", len(e.Layers), len(cf.RootFS.DiffIDs))
		}
		m := v1.Manifest{
			SchemaVersion: 2,
			MediaType:     types.DockerManifestSchema2,
			Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(raw)), Digest: cd},
		}
		for j, l := range e.Layers {
			ld, ok := a.file(l)
			if !ok {
				return nil, fmt.Errorf("%w: manifest.json entry %d names layer %q, which the archive lacks", ErrBadArchive, i+1, l)
			}
			mt, err := s.layerMediaType(ld)
			if err != nil {
				return nil, err
			}
			// An uncompressed layer is its own diff ID: check it for free.
			if mt == types.DockerUncompressedLayer && ld != cf.RootFS.DiffIDs[j] {
				return nil, fmt.Errorf("%w: layer %q has digest %s, its config's diff_id is %s", ErrBadArchive, l, ld, cf.RootFS.DiffIDs[j])
			}
			m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Size: a.sizes[ld], Digest: ld})
		}
		md, n, err := s.storeJSON(m)
		if err != nil {
			return nil, err
		}
		img := loadedImage{desc: v1.Descriptor{MediaType: m.MediaType, Size: n, Digest: md}, id: cd}
		for _, t := range e.RepoTags {
			full, err := Canonical(t)
			if err != nil {
				return nil, fmt.Errorf("%w: manifest.json names %q: %v", ErrBadArchive, t, err)
			}
			img.names = append(img.names, full)
		}
		out = append(out, img)
	}
	return out, nil
}

// layerMediaType tells a compressed layer from a plain tar by its first
// bytes.
func (s *Store) layerMediaType(d v1.Hash) (types.MediaType, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return "", err
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	magic := make([]byte, 4)
	n, _ := io.ReadFull(f, magic)
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return types.DockerLayer, nil
	case n == 4 && bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return types.OCILayerZStd, nil
	}
	return types.DockerUncompressedLayer, nil
}

// addToIndex adds desc to the index unless it is there.
func addToIndex(idx *v1.IndexManifest, desc v1.Descriptor) {
	for _, m := range idx.Manifests {
		if m.Digest == desc.Digest {
			return
		}
	}
	idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest})
}
