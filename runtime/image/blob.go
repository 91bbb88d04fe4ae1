package image

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/internal/statefile"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// staleTempAge is how long a blob temp file may go unwritten before Open
// takes it for the leftover of a crashed pull.
const staleTempAge = time.Hour

// validHash re-parses h, so a digest from a damaged refs.json or a caller's
// struct literal can never become a path outside the store.
func validHash(h v1.Hash) (v1.Hash, error) {
	p, err := v1.NewHash(h.String())
	if err != nil || p != h {
		return v1.Hash{}, fmt.Errorf("invalid digest %q", h.String())
	}
	return p, nil
}

func (s *Store) blobPath(h v1.Hash) (string, error) {
	h, err := validHash(h)
	if err != nil {
		return "", err
	}
	return s.path("blobs", h.Algorithm, h.Hex), nil
}

func (s *Store) hasBlob(h v1.Hash) bool {
	p, err := s.blobPath(h)
	if err != nil {
		return false
	}
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode().IsRegular()
}

// writeBlob stores r's content under digest h. The content goes to a temp
// file, is checked against h (and size, when not negative), synced and
// renamed into place, so a blob path never holds partial or wrong bytes,
// and two processes writing the same blob both succeed.
func (s *Store) writeBlob(h v1.Hash, size int64, r io.Reader) error {
	if _, err := validHash(h); err != nil {
		return err
	}
	_, _, err := s.putBlob(h.Algorithm, &h, size, r)
	return err
}

// storeBlob stores r's content under its own sha256 digest, which it
// returns with the content's size.
func (s *Store) storeBlob(r io.Reader) (v1.Hash, int64, error) {
	return s.putBlob("sha256", nil, -1, r)
}

// ErrDigestMismatch is content that does not hash to the digest it came
// under.
var ErrDigestMismatch = errors.New("digest mismatch")

// mismatchError is an ErrDigestMismatch saying what the content hashed to.
type mismatchError struct{ want, got v1.Hash }

func (e *mismatchError) Error() string {
	return fmt.Sprintf("digest mismatch: the content of %s has digest %s", e.want, e.got)
}

func (e *mismatchError) Is(target error) bool { return target == ErrDigestMismatch }

func (s *Store) putBlob(algo string, want *v1.Hash, size int64, r io.Reader) (v1.Hash, int64, error) {
	hasher, err := v1.Hasher(algo)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	f, err := os.CreateTemp(s.path(tmpDir), "blob-*")
	if err != nil {
		return v1.Hash{}, 0, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	what := "blob"
	if want != nil {
		what = "blob " + want.String()
	}
	budget, why, err := s.extractBudget()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	if size > budget {
		return v1.Hash{}, 0, fmt.Errorf("write %s of %s: %w: %s", what, sizeString(size), ErrTooLarge, why)
	}
	r = &boundReader{r: r, n: budget, why: why}
	if size >= 0 {
		r = io.LimitReader(r, size+1)
	}
	n, err := io.Copy(io.MultiWriter(f, hasher), r)
	if err != nil && size >= 0 {
		return v1.Hash{}, 0, fmt.Errorf("transfer ended after %d of %d bytes: %w", n, size, err)
	}
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("write %s: %w", what, err)
	}
	if size >= 0 && n != size {
		return v1.Hash{}, 0, fmt.Errorf("write %s: got %d bytes, want %d", what, n, size)
	}
	h := v1.Hash{Algorithm: algo, Hex: hex.EncodeToString(hasher.Sum(nil))}
	if want != nil && h != *want {
		return v1.Hash{}, 0, &mismatchError{want: *want, got: h}
	}
	final, err := s.blobPath(h)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return v1.Hash{}, 0, err
	}
	if err := f.Sync(); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("write %s: %w", what, err)
	}
	if err := f.Close(); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("write %s: %w", what, err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("write %s: %w", what, err)
	}
	ok = true
	return h, n, nil
}

// readBlob returns a stored blob's content (small ones only: manifests and
// configs).
func (s *Store) readBlob(d v1.Hash) ([]byte, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMetadata+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetadata {
		return nil, fmt.Errorf("blob %s is larger than %d MiB", d, maxMetadata>>20)
	}
	return b, nil
}

// storeJSON stores v, marshalled, as a blob.
func (s *Store) storeJSON(v any) (v1.Hash, int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	return s.storeBlob(bytes.NewReader(b))
}

// syncBlobs makes renamed blobs durable before an index names them.
func (s *Store) syncBlobs() error {
	entries, err := os.ReadDir(s.path("blobs"))
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, statefile.SyncDir(s.path("blobs", e.Name())))
	}
	return errors.Join(errs...)
}

// removeStaleTemps deletes blob temp files a crashed pull left behind.
// Root filesystem work directories are cleaned under their build lock.
func (s *Store) removeStaleTemps() {
	entries, err := os.ReadDir(s.path(tmpDir))
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "blob-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTempAge {
			os.Remove(s.path(tmpDir, e.Name()))
		}
	}
}
