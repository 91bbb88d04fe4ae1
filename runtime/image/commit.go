package image

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CommitOptions describe the image Commit makes.
type CommitOptions struct {
	Ref       string    // name for the image; empty leaves it unnamed
	Config    v1.Config // its config (see CommitConfig)
	Author    string
	Comment   string
	CreatedBy string // the history entry's command
	Container string // the box it was made from
}

// CheckCommitRef validates a name for a committed image: a reference
// with a tag, not a digest.
func CheckCommitRef(ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	if _, ok := r.(name.Digest); ok {
		return "", fmt.Errorf("refusing to create a tag with a digest reference: %s", ref)
	}
	return canonical(r), nil
}

// Commit makes an image of base's layers with one more on top: layer, an
// uncompressed OCI layer tar (a box's changes, deletions as .wh.
// entries), checked and stored as it streams in. Nothing of a failed
// commit stays in the store.
func (s *Store) Commit(ctx context.Context, base *Image, layer io.Reader, o CommitOptions) (*Image, error) {
	full, err := CheckCommitRef(o.Ref)
	if err != nil {
		return nil, err
	}
	gc, err := statefile.AcquireShared(ctx, s.path(gcLock))
	if err != nil {
		return nil, err
	}
	img, err := s.commit(ctx, base, layer, full, o)
	gc.Release()
	if err != nil {
		s.collectQuietly()
		return nil, fmt.Errorf("commit: %w", err)
	}
	return img, nil
}

func (s *Store) commit(ctx context.Context, base *Image, layer io.Reader, full string, o CommitOptions) (*Image, error) {
	if base.File == nil || base.Manifest == nil {
		return nil, fmt.Errorf("image %s has no config or manifest", base.ID)
	}
	l, err := s.storeLayer(ctx, layer)
	if err != nil {
		return nil, err
	}
	now := v1.Time{Time: time.Now().UTC()}
	cf := *base.File
	cf.Created, cf.Author, cf.Container, cf.Config = now, o.Author, o.Container, o.Config
	cf.RootFS.Type = "layers"
	cf.RootFS.DiffIDs = append(slices.Clone(base.File.RootFS.DiffIDs), l.diffID)
	cf.History = append(slices.Clone(base.File.History), v1.History{
		Created: now, Author: o.Author, CreatedBy: o.CreatedBy, Comment: o.Comment,
	})
	m := *base.Manifest
	layerType := types.DockerLayer
	if m.MediaType == types.OCIManifestSchema1 {
		layerType = types.OCILayer
	}
	m.Annotations = nil
	m.Layers = append(slices.Clone(base.Manifest.Layers), v1.Descriptor{MediaType: layerType, Size: l.size, Digest: l.digest})
	return s.storeImage(ctx, full, &cf, &m)
}

// CommitConfig is the config of an image committed from a box whose own
// config is box (the image's, with the box's command, environment,
// directory, user, labels and stop signal): the changes are applied to
// an empty config, and box fills in what they leave unset, Docker's
// merge: environment and labels merged by key, ports and volumes
// together, an ENTRYPOINT without CMD taking no CMD from the box.
func CommitConfig(box v1.Config, changes []string) (v1.Config, error) {
	var c v1.Config
	if err := ApplyChanges(&c, changes); err != nil {
		return v1.Config{}, err
	}
	if c.User == "" {
		c.User = box.User
	}
	c.ExposedPorts = unionSet(c.ExposedPorts, box.ExposedPorts)
	c.Volumes = unionSet(c.Volumes, box.Volumes)
	for _, kv := range box.Env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(c.Env, func(e string) bool { return strings.HasPrefix(e, k+"=") }) {
			c.Env = append(c.Env, kv)
		}
	}
	if len(box.Labels) > 0 || len(c.Labels) > 0 {
		labels := maps.Clone(box.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, c.Labels)
		c.Labels = labels
	}
	if len(c.Entrypoint) == 0 {
		if len(c.Cmd) == 0 {
			c.Cmd = box.Cmd
		}
		if c.Entrypoint == nil {
			c.Entrypoint = box.Entrypoint
		}
	}
	if c.Healthcheck == nil {
		c.Healthcheck = box.Healthcheck
	}
	if c.WorkingDir == "" {
		c.WorkingDir = box.WorkingDir
	}
	if c.StopSignal == "" {
		c.StopSignal = box.StopSignal
	}
	if len(c.OnBuild) == 0 {
		c.OnBuild = box.OnBuild
	}
	c.ArgsEscaped, c.Shell = box.ArgsEscaped, box.Shell
	return c, nil
}

func unionSet(a, b map[string]struct{}) map[string]struct{} {
	if len(a) == 0 {
		return maps.Clone(b)
	}
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
