package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/a3s-box/a3s-box/internal/statefile"
	"github.com/a3s-box/a3s-box/runtime/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// OpenImages opens the image store under cfg.Root on its own: the image
// verbs need no accelerator, kernel or repair. The store learns from the
// box records which images boxes were created from, so that it keeps
// those and their root filesystems.
func OpenImages(cfg *Config) (*image.Store, error) {
	s, err := image.Open(filepath.Join(cfg.Root, "images"))
	if err != nil {
		return nil, err
	}
	boxes := filepath.Join(cfg.Root, "boxes")
	s.InUse = func() ([]image.BoxImage, error) { return boxImages(boxes) }
	root := cfg.Root
	s.Event = func(action, actor string, attrs map[string]string) {
		e := newEvent("image", actor, action, attrs)
		e.Status, e.ID = action, actor
		appendEvent(root, e)
	}
	return s, nil
}

// boxImages reads every box record under dir. A box being created has no
// record yet and is skipped; a record that cannot be read is an error,
// since the image it names might otherwise be deleted under it.
func boxImages(dir string) ([]image.BoxImage, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []image.BoxImage
	for _, e := range entries {
		var rec BoxRecord
		err := statefile.ReadJSON(filepath.Join(dir, e.Name(), "config.json"), &rec)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("box %s: %w", e.Name(), err)
		}
		bi := image.BoxImage{Box: rec.ID}
		bi.Digest, _ = v1.NewHash(rec.ImageDigest)
		bi.ID, _ = v1.NewHash(rec.ImageID)
		out = append(out, bi)
	}
	return out, nil
}
