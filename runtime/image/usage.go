package image

import (
	"context"
	"os"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DiskUsage is the disk the store takes on the host, as `system df`
// reports it. Sizes are allocated blocks (st_blocks × 512), what du
// counts; a blob that several images share is counted once in the totals.
type DiskUsage struct {
	Images []*ImageUsage
	// Total is every blob and root filesystem in the store, each once,
	// whether an image needs it or not.
	Total int64
	// Reclaimable is what removing every image no box was created from
	// would free: Total less what the images boxes use need.
	Reclaimable int64
}

// ImageUsage is one stored image's share of the disk.
type ImageUsage struct {
	*Summary
	// Size is the image's manifest, config and layer blobs and its root
	// filesystem; Shared is the part of it other images use too.
	Size, Shared int64
	// Boxes is how many boxes were created from the image.
	Boxes int
}

// DiskUsage measures the store: each image's files and the totals.
func (s *Store) DiskUsage(ctx context.Context) (*DiskUsage, error) {
	images, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.users()
	if err != nil {
		return nil, err
	}
	u := &DiskUsage{}
	sizes := map[string]int64{} // file -> allocated bytes
	for _, dir := range []string{s.path("blobs"), s.path(rootfsDir)} {
		_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() && e.Name()[0] != '.' {
				sizes[p] = allocated(p)
				u.Total += sizes[p]
			}
			return nil
		})
	}
	files := map[*ImageUsage][]string{}
	sharedBy := map[string]int{} // file -> images needing it
	for _, img := range images {
		iu := &ImageUsage{Summary: img, Boxes: len(users[img.Digest])}
		needs := s.imageFiles(img.Image)
		files[iu] = needs
		for _, f := range needs {
			sharedBy[f]++
			iu.Size += sizes[f]
		}
		u.Images = append(u.Images, iu)
	}
	inUse := map[string]bool{}
	for _, iu := range u.Images {
		for _, f := range files[iu] {
			if sharedBy[f] > 1 {
				iu.Shared += sizes[f]
			}
			if iu.Boxes > 0 {
				inUse[f] = true
			}
		}
	}
	// A box keeps the root filesystem of an image removed under it.
	for d := range users {
		inUse[s.rootfsFile(d)] = true
	}
	u.Reclaimable = u.Total
	for f := range inUse {
		u.Reclaimable -= sizes[f]
	}
	return u, nil
}

// imageFiles are the files of the store an image needs, each once.
func (s *Store) imageFiles(img *Image) []string {
	var out []string
	seen := map[string]bool{}
	add := func(d v1.Hash) {
		if p, err := s.blobPath(d); err == nil && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	add(img.Digest)
	add(img.Manifest.Config.Digest)
	for _, l := range img.Manifest.Layers {
		add(l.Digest)
	}
	return append(out, s.rootfsFile(img.Digest))
}

// rootfsFile is where the root filesystem of manifest d is kept.
func (s *Store) rootfsFile(d v1.Hash) string {
	return s.path(rootfsDir, d.Algorithm+"-"+d.Hex+".ext4")
}

// allocated is the disk a file takes: its allocated blocks, which for a
// sparse file are fewer than its length says.
func allocated(p string) int64 {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return 0
	}
	return st.Blocks * 512
}
