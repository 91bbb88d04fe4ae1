package image

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrNotFound is returned by Get when the store holds no image under a
// reference.
var ErrNotFound = errors.New("no such image")

// InvalidReferenceError is a reference that is not a valid image name.
// Docker answers these with "invalid reference format" and exit code 125.
type InvalidReferenceError struct {
	Ref string
	Err error // the parser's reason
}

func (e *InvalidReferenceError) Error() string {
	return "invalid reference format: " + e.Ref
}

func (e *InvalidReferenceError) Unwrap() error { return e.Err }

// parseRef parses a user's reference with Docker's defaults (Docker Hub,
// library/ namespace, tag latest).
func parseRef(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, &InvalidReferenceError{Ref: ref, Err: err}
	}
	return r, nil
}

// notFound says which reference the store lacks.
func notFound(ref string) error {
	return fmt.Errorf("%w: %s", ErrNotFound, ref)
}

// dockerHub is how Docker spells Docker Hub in full names;
// go-containerregistry calls it index.docker.io.
const dockerHub = "docker.io"

// canonical is the full name the store keeps for r, as Docker normalises
// it: "busybox" is docker.io/library/busybox:latest.
func canonical(r name.Reference) string {
	s := repoName(r.Context())
	if d, ok := r.(name.Digest); ok {
		return s + "@" + d.DigestStr()
	}
	return s + ":" + r.Identifier()
}

// repoName is a repository's full name, Docker Hub spelt docker.io.
func repoName(repo name.Repository) string {
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	return reg + "/" + repo.RepositoryStr()
}

// Canonical normalises a user's reference to the full name the store
// keeps ("busybox" -> "docker.io/library/busybox:latest").
func Canonical(ref string) (string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return canonical(r), nil
}

// Familiar is the short form Docker shows for a full name: Docker Hub's
// registry and its library/ namespace are left out.
func Familiar(full string) string {
	if rest, ok := strings.CutPrefix(full, dockerHub+"/"); ok {
		if short, ok := strings.CutPrefix(rest, "library/"); ok && !strings.Contains(strings.SplitN(short, ":", 2)[0], "/") {
			return short
		}
		return rest
	}
	return full
}

// SplitRef splits a full name into repository and tag or digest; the tag
// is empty for a digest reference, the digest empty for a tag.
func SplitRef(full string) (repo, tag, digest string) {
	if i := strings.LastIndex(full, "@"); i >= 0 {
		return full[:i], "", full[i+1:]
	}
	if i := strings.LastIndex(full, ":"); i > strings.LastIndex(full, "/") {
		return full[:i], full[i+1:], ""
	}
	return full, "", ""
}
