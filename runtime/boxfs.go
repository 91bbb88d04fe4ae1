package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/spec"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Bounds on what one diff may list, so a hostile guest cannot make the
// CLI hold without limit: entries, bytes in all and bytes per entry (a
// path is at most PATH_MAX, JSON may escape each byte in six).
const (
	maxChanges      = 1 << 20
	maxChangesBytes = 128 << 20
	maxChangeLine   = 6*4096 + 64
)

// Diff lists box b's changes against its image, as `docker diff` does:
// A added, C changed, D deleted, in path order with the directories of
// additions and deletions listed as changed before them.
func (r *Runtime) Diff(ctx context.Context, b *Box) ([]proto.Change, error) {
	_, data, release, err := r.fsRead(ctx, b, &proto.FSRequest{Op: proto.FSDiff})
	if err != nil {
		return nil, err
	}
	defer release()
	out, err := decodeChanges(data)
	if err != nil {
		return nil, boxFSError(b, fmt.Errorf("diff of box %s: %w", b.Name, err))
	}
	return out, nil
}

// decodeChanges reads the guest's changes: one JSON Change a line, each
// with a kind of A, C or D and an absolute path. It reads at most
// maxChangesBytes and keeps at most maxChanges.
func decodeChanges(r io.Reader) ([]proto.Change, error) {
	lr := &io.LimitedReader{R: r, N: maxChangesBytes + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), maxChangeLine)
	var out []proto.Change
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(out) >= maxChanges {
			return nil, fmt.Errorf("more than %d changes", maxChanges)
		}
		var c proto.Change
		if err := json.Unmarshal(line, &c); err != nil {
			if lr.N <= 0 { // the last line was cut at the bound
				return nil, fmt.Errorf("changes over %d bytes", maxChangesBytes)
			}
			return nil, fmt.Errorf("change %d: %w", len(out)+1, err)
		}
		if (c.Kind != "A" && c.Kind != "C" && c.Kind != "D") || !strings.HasPrefix(c.Path, "/") {
			return nil, fmt.Errorf("change %d: bad kind %q or path %q", len(out)+1, c.Kind, c.Path)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("change %d is over %d bytes", len(out)+1, maxChangeLine)
		}
		return nil, err
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("changes over %d bytes", maxChangesBytes)
	}
	return out, nil
}

// Export writes a tar of box b's whole file system to w, as `docker
// export` does: what other file systems are mounted in it (pseudo file
// systems, volumes) is left out.
func (r *Runtime) Export(ctx context.Context, b *Box, w io.Writer) error {
	_, data, release, err := r.fsRead(ctx, b, &proto.FSRequest{Op: proto.FSExport})
	if err != nil {
		return err
	}
	defer release()
	if _, err := io.Copy(w, data); err != nil {
		return boxFSError(b, fmt.Errorf("export box %s: %w", b.Name, err))
	}
	return nil
}

// CommitOptions are commit's flags.
type CommitOptions struct {
	Ref     string   // REPO[:TAG] for the image; empty leaves it unnamed
	Author  string   // -a
	Message string   // -m
	Changes []string // -c: Dockerfile instructions
	Pause   bool     // stop the box's processes while its layer is read
}

// Commit makes an image of box b: its image's layers and, on top, a layer
// of the box's changes (deletions as whiteouts), with the box's config
// (command, environment, directory, user, labels, stop signal) and the
// changes -c asks for. Bad input is refused before the box is touched.
func (r *Runtime) Commit(ctx context.Context, b *Box, o CommitOptions) (*image.Image, error) {
	if _, err := image.CheckCommitRef(o.Ref); err != nil {
		return nil, err
	}
	base, err := r.Images.Get(ctx, b.ImageDigest)
	if err != nil {
		return nil, fmt.Errorf("commit box %s: its image %s: %w", b.Name, image.ShortID(mustHash(b.ImageID)), err)
	}
	boxCfg := boxConfig(b, base.Config)
	cfg, err := image.CommitConfig(boxCfg, o.Changes)
	if err != nil {
		return nil, err
	}
	_, data, release, err := r.fsRead(ctx, b, &proto.FSRequest{Op: proto.FSLayer, Pause: o.Pause})
	if err != nil {
		return nil, err
	}
	defer release()
	img, err := r.Images.Commit(ctx, base, data, image.CommitOptions{
		Ref: o.Ref, Config: cfg, Author: o.Author, Comment: o.Message,
		CreatedBy: strings.Join(boxCfg.Cmd, " "), Container: b.ID,
	})
	if err != nil {
		return nil, boxFSError(b, err)
	}
	return img, nil
}

// boxConfig is Docker's container config of box b made from an image
// with config img: the image's, overridden by what the box was run with.
func boxConfig(b *Box, img v1.Config) v1.Config {
	c := img
	c.Env = spec.MergeEnv(img.Env, b.Spec.Env)
	if b.Spec.Entrypoint != nil {
		c.Entrypoint, c.Cmd = b.Spec.Entrypoint, nil
	}
	if len(b.Spec.Command) > 0 {
		c.Cmd = b.Spec.Command
	}
	if b.Spec.WorkingDir != "" {
		c.WorkingDir = b.Spec.WorkingDir
	}
	if b.Spec.User != "" {
		c.User = b.Spec.User
	}
	if len(b.Spec.Labels) > 0 {
		c.Labels = maps.Clone(img.Labels)
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		maps.Copy(c.Labels, b.Spec.Labels)
	}
	if b.StopSignal != "" {
		c.StopSignal = b.StopSignal
	}
	c.Cmd, c.Entrypoint = slices.Clone(c.Cmd), slices.Clone(c.Entrypoint)
	return c
}

func mustHash(s string) v1.Hash {
	h, _ := v1.NewHash(s)
	return h
}
