package image

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrNotFound is returned by Get when the store holds no image under a
// reference.
var ErrNotFound = errors.New("image not found")

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
