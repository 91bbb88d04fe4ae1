package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// PullOptions tune a pull.
type PullOptions struct {
	// Insecure lists registries (host or host:port) that may be reached
	// over plain HTTP. Loopback registries always may.
	Insecure []string
	// Progress, when set, shows the pull.
	Progress Progress
	// Platform picks the image of a multi-platform index; nil means the
	// platform a3s-box boots, linux/amd64.
	Platform *v1.Platform
}

// Network bounds: an unreachable registry fails within seconds, a stalled
// one cannot hang a pull forever.
const (
	dialTimeout           = 5 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
	parallelLayers        = 3
)

// Platform is what a3s-box boots: the guest is an x86-64 Linux VM.
var Platform = v1.Platform{OS: "linux", Architecture: "amd64"}

// Pull fetches ref from its registry into the store and names it ref.
// Credentials come from the Docker config file ($DOCKER_CONFIG) and its
// credential helpers, anonymous otherwise; an index resolves to the
// requested platform's image.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	img, err := s.pull(ctx, r, opts)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", Familiar(canonical(r)), describe(err))
	}
	return img, nil
}

// PullAllTags pulls every tag of repo, as `docker pull --all-tags`.
func (s *Store) PullAllTags(ctx context.Context, repo string, opts PullOptions) ([]*Image, error) {
	r, err := parseRef(repo)
	if err != nil {
		return nil, err
	}
	if _, ok := r.(name.Tag); !ok || strings.Contains(repo, "@") || hasExplicitTag(repo) {
		return nil, fmt.Errorf("tag can't be used with --all-tags/-a")
	}
	rc, err := s.remoteRepo(r, opts.Insecure)
	if err != nil {
		return nil, err
	}
	rt := newTransport(opts.Insecure)
	defer rt.next.CloseIdleConnections()
	tags, err := remote.List(rc, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(rt))
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", Familiar(repoName(rc)), describe(err))
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("list tags of %s: the repository has no tags", Familiar(repoName(rc)))
	}
	sort.Strings(tags)
	var imgs []*Image
	for _, t := range tags {
		img, err := s.pull(ctx, rc.Tag(t), opts)
		if err != nil {
			return imgs, fmt.Errorf("pull %s:%s: %w", Familiar(repoName(rc)), t, describe(err))
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// hasExplicitTag reports whether a user's reference spells out a tag.
func hasExplicitTag(ref string) bool {
	i := strings.LastIndex(ref, ":")
	return i > strings.LastIndex(ref, "/")
}

// remoteRepo is r's repository, marked insecure when the user listed its
// registry.
func (s *Store) remoteRepo(r name.Reference, insecure []string) (name.Repository, error) {
	repo := r.Context()
	if insecureListed(repo.RegistryStr(), insecure) {
		return name.NewRepository(repo.Name(), name.Insecure)
	}
	return repo, nil
}

func (s *Store) pull(ctx context.Context, r name.Reference, opts PullOptions) (*Image, error) {
	if insecureListed(r.Context().RegistryStr(), opts.Insecure) {
		var err error
		if r, err = name.ParseReference(r.Name(), name.Insecure); err != nil {
			return nil, err
		}
	}
	platform := Platform
	if opts.Platform != nil {
		platform = *opts.Platform
	}
	// Blobs are written unnamed until the manifest is tagged: hold off a
	// concurrent removal of unnamed blobs, and remove this pull's own
	// when it fails.
	gc, err := statefile.AcquireShared(ctx, s.path(gcLock))
	if err != nil {
		return nil, err
	}
	img, err := s.fetch(ctx, r, platform, opts)
	gc.Release()
	if err != nil {
		s.collectQuietly()
		return nil, err
	}
	s.emit("pull", Familiar(canonical(r)), Familiar(repoName(r.Context())))
	return img, nil
}

// fetch downloads r's manifest, config and missing layers and tags it.
func (s *Store) fetch(ctx context.Context, r name.Reference, platform v1.Platform, opts PullOptions) (*Image, error) {
	p := orNoProgress(opts.Progress)
	full := canonical(r)
	rt := newTransport(opts.Insecure)
	defer rt.next.CloseIdleConnections()
	remoteImg, err := remote.Image(r,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(platform),
		remote.WithTransport(rt),
		remote.WithRetryPredicate(retryable),
	)
	if err != nil {
		return nil, err
	}
	digest, err := remoteImg.Digest()
	if err != nil {
		return nil, err
	}
	mediaType, err := remoteImg.MediaType()
	if err != nil {
		return nil, err
	}
	rawManifest, err := remoteImg.RawManifest()
	if err != nil {
		return nil, err
	}
	m, err := remoteImg.Manifest()
	if err != nil {
		return nil, err
	}
	rawConfig, err := remoteImg.RawConfigFile()
	if err != nil {
		return nil, err
	}
	if err := checkPlatform(rawConfig, platform); err != nil {
		return nil, err
	}
	p.Printf("%s: Pulling from %s\n", r.Identifier(), r.Context().RepositoryStr())

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelLayers)
	var fetched atomic.Bool
	for _, desc := range m.Layers {
		lp := p.Layer(ShortID(desc.Digest), desc.Size)
		if s.hasBlob(desc.Digest) {
			lp.Done("Already exists")
			continue
		}
		g.Go(func() (err error) {
			defer func() {
				if err != nil {
					lp.Abort()
				}
			}()
			if err := gctx.Err(); err != nil {
				return err
			}
			layer, err := remoteImg.LayerByDigest(desc.Digest)
			if err != nil {
				return err
			}
			rc, err := layer.Compressed()
			if err != nil {
				return fmt.Errorf("layer %s: %w", ShortID(desc.Digest), err)
			}
			defer rc.Close()
			if err := s.writeBlob(desc.Digest, desc.Size, lp.Reader(rc)); err != nil {
				return fmt.Errorf("layer %s: %w", ShortID(desc.Digest), err)
			}
			fetched.Store(true)
			lp.Done("Pull complete")
			return nil
		})
	}
	err = g.Wait()
	p.Wait()
	if err != nil {
		return nil, err
	}
	if err := s.writeBlob(m.Config.Digest, int64(len(rawConfig)), bytes.NewReader(rawConfig)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// The manifest goes last: a stored manifest implies its blobs are stored.
	if err := s.writeBlob(digest, int64(len(rawManifest)), bytes.NewReader(rawManifest)); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := s.syncBlobs(); err != nil {
		return nil, err
	}
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	upToDate := !fetched.Load() && refs.Refs[full] == digest
	desc := v1.Descriptor{MediaType: mediaType, Size: int64(len(rawManifest)), Digest: digest}
	if err := s.tag(ctx, full, desc); err != nil {
		return nil, err
	}
	p.Printf("Digest: %s\n", digest)
	if upToDate {
		p.Printf("Status: Image is up to date for %s\n", Familiar(full))
	} else {
		p.Printf("Status: Downloaded newer image for %s\n", Familiar(full))
	}
	return s.load(full, digest)
}

// checkPlatform refuses an image built for another platform than the one
// asked for: a registry serving a single-platform manifest has no index
// to choose from, and Docker refuses such a pull too.
func checkPlatform(rawConfig []byte, want v1.Platform) error {
	cf, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if cf.OS == "" && cf.Architecture == "" {
		return nil
	}
	if cf.OS != want.OS || cf.Architecture != want.Architecture {
		return fmt.Errorf("image is %s/%s, not the requested %s/%s", cf.OS, cf.Architecture, want.OS, want.Architecture)
	}
	return nil
}

// describe shortens a registry error to its first line: go-containerregistry
// appends the response's detail maps, which say nothing more to a user.
func describe(err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			detail := strings.TrimPrefix(strings.TrimPrefix(firstLine(te), "unauthorized"), ": ")
			if detail == "" || strings.HasPrefix(detail, "HEAD ") || strings.HasPrefix(detail, "GET ") {
				detail = "the registry answered " + http.StatusText(te.StatusCode)
			}
			return fmt.Errorf("%w: %s (credentials come from the Docker config file and its helpers)", ErrUnauthorized, detail)
		case http.StatusNotFound:
			return fmt.Errorf("not found in the registry: %s", firstLine(te))
		}
		return fmt.Errorf("registry answered %d %s: %s", te.StatusCode, http.StatusText(te.StatusCode), firstLine(te))
	}
	return err
}

// ErrUnauthorized is a registry refusing the pull or push for want of
// (valid) credentials.
var ErrUnauthorized = errors.New("unauthorized")

func firstLine(te *transport.Error) string {
	if len(te.Errors) > 0 {
		d := te.Errors[0]
		code := strings.ReplaceAll(strings.ToLower(string(d.Code)), "_", " ")
		if d.Message != "" {
			return code + ": " + d.Message
		}
		return code
	}
	if te.Request != nil {
		return te.Request.Method + " " + te.Request.URL.Path
	}
	return http.StatusText(te.StatusCode)
}

// retryable retries network failures in the middle of a transfer and
// registry errors marked temporary, but never a failed dial: an
// unreachable registry must fail fast rather than be retried for seconds.
func retryable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// plainHTTPGuard refuses plain-HTTP requests to registries that are
// neither loopback nor listed insecure. go-containerregistry falls back
// to HTTP on its own for private (RFC 1918) and .local addresses; a3s-box
// follows Docker and does not.
type plainHTTPGuard struct {
	insecure []string
	next     *http.Transport
}

func newTransport(insecure []string) *plainHTTPGuard {
	return &plainHTTPGuard{insecure: insecure, next: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   parallelLayers + 1,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}}
}

func (g *plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !plainHTTPAllowed(req.URL.Host, g.insecure) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing plain HTTP to %s: the registry is not on loopback and not marked insecure", req.URL.Host)
	}
	return g.next.RoundTrip(req)
}

// plainHTTPAllowed reports whether host (host[:port]) may be reached over
// plain HTTP.
func plainHTTPAllowed(host string, insecure []string) bool {
	if insecureListed(host, insecure) {
		return true
	}
	h := hostname(host)
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// insecureListed matches host against the user's list, by host:port or by
// host name alone.
func insecureListed(host string, insecure []string) bool {
	for _, e := range insecure {
		if strings.EqualFold(e, host) || strings.EqualFold(e, hostname(host)) {
			return true
		}
	}
	return false
}

// hostname is host without its port and IPv6 brackets.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}
