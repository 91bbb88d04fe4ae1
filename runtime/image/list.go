package image

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Summary is one stored image and every name it has.
type Summary struct {
	*Image
	Refs []string // full references (tags and digests), sorted; empty for a dangling image
}

// RepoTags are the summary's tag references.
func (s *Summary) RepoTags() []string {
	var tags []string
	for _, r := range s.Refs {
		if _, tag, _ := SplitRef(r); tag != "" {
			tags = append(tags, r)
		}
	}
	return tags
}

// RepoDigests are repo@digest for each repository naming the image, as
// Docker lists the manifests an image came from.
func (s *Summary) RepoDigests() []string {
	var out []string
	for _, repo := range repositories(s.Refs) {
		out = append(out, repo+"@"+s.Digest.String())
	}
	return out
}

// List returns every stored image, newest first (Docker's order).
func (s *Store) List(ctx context.Context) ([]*Summary, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	var out []*Summary
	for _, m := range idx.Manifests {
		img, err := s.load("", m.Digest)
		if err != nil {
			return nil, err
		}
		out = append(out, &Summary{Image: img, Refs: namesOf(refs, m.Digest)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].File.Created.After(out[j].File.Created.Time)
	})
	return out, nil
}

// Summary returns the image nameOrID names with all its names.
func (s *Store) Summary(ctx context.Context, nameOrID string) (*Summary, error) {
	img, err := s.Get(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	return &Summary{Image: img, Refs: namesOf(refs, img.Digest)}, nil
}

// Tags lists the tags the store holds for repo (a repository name without
// tag), as full references, for `push --all-tags`.
func (s *Store) Tags(ctx context.Context, repo string) ([]string, error) {
	if hasExplicitTag(repo) || strings.Contains(repo, "@") {
		return nil, fmt.Errorf("tag can't be used with --all-tags/-a")
	}
	r, err := parseRef(repo)
	if err != nil {
		return nil, err
	}
	want := repoName(r.Context())
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	var out []string
	for n := range refs.Refs {
		if rp, tag, _ := SplitRef(n); rp == want && tag != "" {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no tags of %s", ErrNotFound, Familiar(want))
	}
	sort.Strings(out)
	return out, nil
}
