package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImportOptions describe the image Import makes.
type ImportOptions struct {
	Ref     string   // name for the image; empty leaves it unnamed
	Changes []string // Dockerfile instructions applied to its config
	Message string   // history comment; "Imported from <Source>" otherwise
	Source  string   // where the tarball came from: a file, a URL or "-"
}

// Import makes a single-layer linux/amd64 image from a root filesystem
// tarball (plain, gzip or bzip2), as `docker import` does. Every entry
// is checked to stay inside the root filesystem before the image is
// stored.
func (s *Store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (*Image, error) {
	var cfg v1.Config
	if err := ApplyChanges(&cfg, opts.Changes); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	full := ""
	if opts.Ref != "" {
		t, err := parseRef(opts.Ref)
		if err != nil {
			return nil, err
		}
		full = canonical(t)
	}
	gc, err := statefile.AcquireShared(ctx, s.path(gcLock))
	if err != nil {
		return nil, err
	}
	img, err := s.importLayer(ctx, r, cfg, full, opts)
	gc.Release()
	if err != nil {
		s.collectQuietly()
		return nil, fmt.Errorf("import %s: %w", opts.Source, err)
	}
	s.emitID("import", img.ID, "")
	return img, nil
}

func (s *Store) importLayer(ctx context.Context, r io.Reader, cfg v1.Config, full string, opts ImportOptions) (*Image, error) {
	tarball, err := decompress(r)
	if err != nil {
		return nil, err
	}
	// The layer expands to what the tar holds: bounded as a pulled
	// layer's extraction is.
	budget, why, err := s.extractBudget()
	if err != nil {
		return nil, err
	}
	tarball = &boundReader{r: tarball, n: budget, why: why}
	layer, err := s.storeLayer(ctx, tarball)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	comment := opts.Message
	if comment == "" {
		comment = "Imported from " + opts.Source
	}
	cf := v1.ConfigFile{
		Architecture: Platform.Architecture,
		OS:           Platform.OS,
		Created:      v1.Time{Time: now},
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{layer.diffID}},
		History:      []v1.History{{Created: v1.Time{Time: now}, Comment: comment}},
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON},
		Layers:        []v1.Descriptor{{MediaType: types.DockerLayer, Size: layer.size, Digest: layer.digest}},
	}
	return s.storeImage(ctx, full, &cf, &m)
}

// storedLayer is a layer blob written to the store.
type storedLayer struct {
	diffID, digest v1.Hash
	size           int64
}

// storeLayer stores an uncompressed layer tar gzip-compressed, in one
// pass: the tar is checked entry by entry (nothing may land outside the
// root) while its bytes are hashed (the diff ID) and compressed into the
// blob.
func (s *Store) storeLayer(ctx context.Context, tarball io.Reader) (*storedLayer, error) {
	pr, pw := io.Pipe()
	type stored struct {
		d   v1.Hash
		n   int64
		err error
	}
	done := make(chan stored, 1)
	go func() {
		d, n, err := s.storeBlob(pr)
		pr.CloseWithError(err)
		done <- stored{d, n, err}
	}()
	diff := sha256.New()
	zw := gzip.NewWriter(pw)
	err := checkRootfsTar(ctx, io.TeeReader(tarball, io.MultiWriter(diff, zw)))
	if err == nil {
		err = zw.Close()
	}
	pw.CloseWithError(err)
	res := <-done
	if err != nil {
		return nil, err
	}
	if res.err != nil {
		return nil, res.err
	}
	return &storedLayer{diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diff.Sum(nil))}, digest: res.d, size: res.n}, nil
}

// storeImage stores cf and m (whose config descriptor it fills in), whose
// layers are stored, and names the image full ("" leaves it unnamed).
func (s *Store) storeImage(ctx context.Context, full string, cf *v1.ConfigFile, m *v1.Manifest) (*Image, error) {
	cd, cn, err := s.storeJSON(cf)
	if err != nil {
		return nil, err
	}
	m.Config.Size, m.Config.Digest = cn, cd
	md, mn, err := s.storeJSON(m)
	if err != nil {
		return nil, err
	}
	if err := s.syncBlobs(); err != nil {
		return nil, err
	}
	if err := s.tag(ctx, full, v1.Descriptor{MediaType: m.MediaType, Size: mn, Digest: md}); err != nil {
		return nil, err
	}
	return s.load(full, md)
}

// decompress undoes gzip or bzip2 compression, told by magic bytes.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("not a gzip stream: %w", err)
		}
		return zr, nil
	case bytes.Equal(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	}
	return br, nil
}

// ErrNotTar is input that is not a tar archive.
var ErrNotTar = errors.New("not a tar archive")

// checkRootfsTar reads a root filesystem tarball to its end, refusing an
// entry (or hard link target) that would land outside the root, the
// same rule the rootfs builder applies.
func checkRootfsTar(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	entries := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if entries == 0 {
				return fmt.Errorf("%w: %v", ErrNotTar, err)
			}
			return fmt.Errorf("read tar: %w", truncated(err))
		}
		entries++
		if _, err := splitEntryName(h.Name); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if h.Typeflag == tar.TypeLink {
			if _, err := splitEntryName(h.Linkname); err != nil {
				return fmt.Errorf("hard link %q to %q: %w", h.Name, h.Linkname, err)
			}
		}
		// Next skips the entry's bytes as stored (a sparse file is not
		// expanded), and they still flow through the hash.
	}
	if entries == 0 {
		return fmt.Errorf("%w: no entries", ErrNotTar)
	}
	// The bytes after the end marker belong to the layer too.
	_, err := io.Copy(io.Discard, r)
	return err
}
