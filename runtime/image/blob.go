package image

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/runtime/statefile"
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
	final, err := s.blobPath(h)
	if err != nil {
		return err
	}
	hasher, err := v1.Hasher(h.Algorithm)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.path(tmpDir), "blob-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if size >= 0 {
		r = io.LimitReader(r, size+1)
	}
	n, err := io.Copy(io.MultiWriter(f, hasher), r)
	if err != nil {
		return fmt.Errorf("write blob %s: %w", h, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("write blob %s: got %d bytes, want %d", h, n, size)
	}
	if got := hex.EncodeToString(hasher.Sum(nil)); got != h.Hex {
		return fmt.Errorf("write blob %s: content has digest %s:%s", h, h.Algorithm, got)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write blob %s: %w", h, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write blob %s: %w", h, err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return fmt.Errorf("write blob %s: %w", h, err)
	}
	ok = true
	return nil
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
