package image

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// PushOptions tune a push.
type PushOptions struct {
	Insecure []string // as PullOptions.Insecure
	Progress Progress
}

// Pushed is what Push sent.
type Pushed struct {
	Ref    string // full reference pushed
	Digest v1.Hash
	Size   int64 // manifest size
}

// Push uploads the image named ref to the registry the name points at,
// layers the registry lacks first, then the config and the manifest.
func (s *Store) Push(ctx context.Context, ref string, opts PushOptions) (*Pushed, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	full := canonical(r)
	f, err := s.find(ref)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", Familiar(full), err)
	}
	out, err := s.push(ctx, r, f.digests[0], opts)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", Familiar(full), describe(err))
	}
	s.emit("push", Familiar(full), Familiar(repoName(r.Context())))
	return out, nil
}

func (s *Store) push(ctx context.Context, r name.Reference, d v1.Hash, opts PushOptions) (*Pushed, error) {
	p := orNoProgress(opts.Progress)
	if insecureListed(r.Context().RegistryStr(), opts.Insecure) {
		var err error
		if r, err = name.ParseReference(r.Name(), name.Insecure); err != nil {
			return nil, err
		}
	}
	img, err := s.layout.Image(d)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	rt := newTransport(opts.Insecure)
	defer rt.next.CloseIdleConnections()
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(rt),
		remote.WithRetryPredicate(retryable),
	}
	p.Printf("The push refers to repository [%s]\n", Familiar(repoName(r.Context())))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelLayers)
	for _, l := range layers {
		ld, err := l.Digest()
		if err != nil {
			return nil, err
		}
		size, err := l.Size()
		if err != nil {
			return nil, err
		}
		lp := p.Layer(ShortID(ld), size)
		g.Go(func() error {
			cl := &countedLayer{Layer: l, lp: lp}
			if err := remote.WriteLayer(r.Context(), cl, append(ropts[1:], remote.WithContext(gctx))...); err != nil {
				lp.Abort()
				return fmt.Errorf("layer %s: %w", ShortID(ld), err)
			}
			if cl.read.Load() {
				lp.Done("Pushed")
			} else {
				lp.Done("Layer already exists")
			}
			return nil
		})
	}
	err = g.Wait()
	p.Wait()
	if err != nil {
		return nil, err
	}
	if err := remote.Write(r, img, ropts...); err != nil {
		return nil, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	p.Printf("%s: digest: %s size: %d\n", r.Identifier(), d, len(raw))
	return &Pushed{Ref: canonical(r), Digest: d, Size: int64(len(raw))}, nil
}

// countedLayer shows an upload's bytes; a layer the registry has already
// is never read.
type countedLayer struct {
	v1.Layer
	lp   LayerProgress
	read atomic.Bool
}

func (c *countedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := c.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	c.read.Store(true)
	return struct {
		io.Reader
		io.Closer
	}{c.lp.Reader(rc), rc}, nil
}
