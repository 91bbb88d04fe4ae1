package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Annotations Docker and containerd put on an image archive's index.json
// entries: the full name, and the tag alone.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// dockerManifestEntry is one image of a docker-archive's manifest.json.
type dockerManifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// saved is one image going into an archive, with the names asked for.
type saved struct {
	digest v1.Hash
	m      *v1.Manifest
	names  []string // full references
}

// Save writes the images names name (references or IDs) to w as one tar
// that is both an OCI image layout (oci-layout, index.json, blobs/) and a
// docker-archive (manifest.json, repositories) over the same blobs, as
// Docker writes it. An image named by ID is saved without a name.
func (s *Store) Save(ctx context.Context, w io.Writer, names []string) error {
	var imgs []*saved
	for _, n := range names {
		f, err := s.find(n)
		if err != nil {
			return err
		}
		for _, d := range f.digests {
			i := slices.IndexFunc(imgs, func(x *saved) bool { return x.digest == d })
			if i < 0 {
				m, err := s.readManifest(d)
				if err != nil {
					return fmt.Errorf("read image %s: %w", n, err)
				}
				imgs = append(imgs, &saved{digest: d, m: m})
				i = len(imgs) - 1
			}
			if f.ref != "" && !slices.Contains(imgs[i].names, f.ref) {
				imgs[i].names = append(imgs[i].names, f.ref)
			}
		}
	}
	tw := tar.NewWriter(w)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: archiveTime, Format: tar.FormatPAX}); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	written := map[v1.Hash]bool{}
	idx := emptyIndex()
	var dm []dockerManifestEntry
	repos := map[string]map[string]string{}
	for _, img := range imgs {
		blobs := []v1.Hash{img.digest, img.m.Config.Digest}
		for _, l := range img.m.Layers {
			blobs = append(blobs, l.Digest)
		}
		for _, b := range blobs {
			if written[b] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.copyBlob(tw, b); err != nil {
				return fmt.Errorf("save: %w", err)
			}
			written[b] = true
		}
		desc, err := s.descriptor(img.digest)
		if err != nil {
			return fmt.Errorf("save: %w", err)
		}
		desc.Annotations = nil
		entry := dockerManifestEntry{Config: blobName(img.m.Config.Digest), RepoTags: []string{}}
		for _, l := range img.m.Layers {
			entry.Layers = append(entry.Layers, blobName(l.Digest))
		}
		if len(img.names) == 0 {
			idx.Manifests = append(idx.Manifests, desc)
		}
		for _, n := range img.names {
			repo, tag, _ := SplitRef(n)
			d := desc
			d.Annotations = map[string]string{annotationImageName: n}
			if tag != "" {
				d.Annotations[annotationRefName] = tag
				entry.RepoTags = append(entry.RepoTags, Familiar(n))
				if len(img.m.Layers) > 0 {
					fr := Familiar(repo)
					if repos[fr] == nil {
						repos[fr] = map[string]string{}
					}
					repos[fr][tag] = img.m.Layers[len(img.m.Layers)-1].Digest.Hex
				}
			}
			idx.Manifests = append(idx.Manifests, d)
		}
		dm = append(dm, entry)
	}
	for _, f := range []struct {
		name string
		v    any
	}{
		{"index.json", idx},
		{"manifest.json", dm},
		{"oci-layout", map[string]string{"imageLayoutVersion": "1.0.0"}},
		{"repositories", repos},
	} {
		b, err := json.Marshal(f.v)
		if err != nil {
			return fmt.Errorf("save: %w", err)
		}
		if err := writeFile(tw, f.name, b); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	for _, img := range imgs {
		s.emitID("save", img.m.Config.Digest, "")
	}
	return nil
}

// archiveTime is every archive entry's mtime, so saving an image twice
// gives the same bytes.
var archiveTime = time.Unix(0, 0).UTC()

func blobName(h v1.Hash) string { return path.Join("blobs", h.Algorithm, h.Hex) }

func writeFile(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: archiveTime, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func (s *Store) copyBlob(tw *tar.Writer, h v1.Hash) error {
	p, err := s.blobPath(h)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: blobName(h), Mode: 0o644, Size: fi.Size(), ModTime: archiveTime, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
