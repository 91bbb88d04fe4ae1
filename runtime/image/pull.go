package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// PullOptions tune a pull.
type PullOptions struct {
	// Insecure lists registries (host or host:port) that may be reached
	// over plain HTTP. Loopback registries always may.
	Insecure []string
	// Progress, when set, receives Docker-style progress lines.
	Progress io.Writer
}

// Network bounds: an unreachable registry fails within seconds, a stalled
// one cannot hang a pull forever.
const (
	dialTimeout           = 5 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
	parallelLayers        = 3
)

// platform is what a3s-box boots: the guest is an x86-64 Linux VM.
var platform = v1.Platform{OS: "linux", Architecture: "amd64"}

// Pull fetches ref from its registry into the store and names it ref.
// Credentials come from the Docker config file ($DOCKER_CONFIG), anonymous
// otherwise; an index resolves to its linux/amd64 image.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	img, err := s.pull(ctx, r, opts)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return img, nil
}

func (s *Store) pull(ctx context.Context, r name.Reference, opts PullOptions) (*Image, error) {
	if insecureListed(r.Context().RegistryStr(), opts.Insecure) {
		var err error
		if r, err = name.ParseReference(r.Name(), name.Insecure); err != nil {
			return nil, err
		}
	}
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
	p := &progress{w: opts.Progress}
	p.printf("%s: Pulling from %s\n", r.Identifier(), r.Context().RepositoryStr())

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelLayers)
	fetched := false
	var mu sync.Mutex
	for _, desc := range m.Layers {
		short := shortID(desc.Digest)
		if s.hasBlob(desc.Digest) {
			p.printf("%s: Already exists\n", short)
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			layer, err := remoteImg.LayerByDigest(desc.Digest)
			if err != nil {
				return err
			}
			rc, err := layer.Compressed()
			if err != nil {
				return fmt.Errorf("layer %s: %w", desc.Digest, err)
			}
			defer rc.Close()
			if err := s.writeBlob(desc.Digest, desc.Size, rc); err != nil {
				return err
			}
			mu.Lock()
			fetched = true
			mu.Unlock()
			p.printf("%s: Pull complete\n", short)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rawConfig, err := remoteImg.RawConfigFile()
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
	upToDate := !fetched && refs.Refs[r.Name()] == digest
	desc := v1.Descriptor{MediaType: mediaType, Size: int64(len(rawManifest)), Digest: digest}
	if err := s.tag(ctx, r.Name(), desc); err != nil {
		return nil, err
	}
	p.printf("Digest: %s\n", digest)
	if upToDate {
		p.printf("Status: Image is up to date for %s\n", r.Name())
	} else {
		p.printf("Status: Downloaded newer image for %s\n", r.Name())
	}
	return s.load(r.Name(), digest)
}

// shortID is Docker's 12-hex-digit abbreviation of a digest.
func shortID(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Hex[:12]
	}
	return h.Hex
}

type progress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *progress) printf(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
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
