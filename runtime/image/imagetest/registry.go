package imagetest

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Serve starts an in-memory registry on a free port of 127.0.0.1, pushes
// images under their "repo:tag" keys and returns its host:port. stop
// shuts the registry down.
func Serve(images map[string]v1.Image) (addr string, stop func(), err error) {
	return ServeAt("127.0.0.1:0", images)
}

// ServeAt is Serve on a given listen address.
func ServeAt(listen string, images map[string]v1.Image) (addr string, stop func(), err error) {
	return ServeWith(listen, images, nil)
}

// ServeWith is ServeAt with wrap (when not nil) put in front of the
// registry once the images are pushed: authentication or faults.
func ServeWith(listen string, images map[string]v1.Image, wrap func(http.Handler) http.Handler) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return "", nil, fmt.Errorf("test registry: %w", err)
	}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var current atomic.Value // http.Handler
	current.Store(inner)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			current.Load().(http.Handler).ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("test registry: %v", err)
		}
	}()
	addr = ln.Addr().String()
	stop = func() { srv.Close() }
	names := make([]string, 0, len(images))
	for n := range images {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ref, err := name.ParseReference(addr + "/" + n)
		if err != nil {
			stop()
			return "", nil, fmt.Errorf("test registry: %w", err)
		}
		if err := remote.Write(ref, images[n]); err != nil {
			stop()
			return "", nil, fmt.Errorf("test registry: push %s: %w", ref, err)
		}
	}
	if wrap != nil {
		current.Store(wrap(inner))
	}
	return addr, stop, nil
}

// BasicAuth lets through only requests carrying user and password.
func BasicAuth(user, password string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="a3s-box test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// FailManifests answers every manifest request with status.
func FailManifests(status int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				w.WriteHeader(status)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// CutBlobs serves blobs larger than 1 KiB only half: the response
// announces the whole length, then the connection drops, as when a
// registry dies in the middle of a layer.
func CutBlobs() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if rec.Code != http.StatusOK || len(body) <= 1024 {
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(body)
				return
			}
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n", len(body))
			buf.Write(body[:len(body)/2])
			buf.Flush()
		})
	}
}

// ServeBusybox serves the busybox test image on a local registry and
// returns its reference: what the benchmarks boot.
func ServeBusybox() (ref string, stop func(), err error) {
	img, err := Busybox()
	if err != nil {
		return "", nil, err
	}
	addr, stop, err := Serve(map[string]v1.Image{"test/busybox:1": img})
	if err != nil {
		return "", nil, err
	}
	return addr + "/test/busybox:1", stop, nil
}
