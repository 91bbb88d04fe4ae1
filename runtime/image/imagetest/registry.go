package imagetest

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
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
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return "", nil, fmt.Errorf("test registry: %w", err)
	}
	srv := &http.Server{
		Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
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
	return addr, stop, nil
}
