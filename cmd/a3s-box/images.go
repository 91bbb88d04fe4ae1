package main

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/runtime/image"
)

func init() {
	register(&verb{name: "images", summary: "List images", errCode: 1, run: imagesVerb})
}

// imageHeaders are Docker's column titles for `images` fields.
var imageHeaders = map[string]string{
	"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
	"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
	"Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE",
}

func imagesVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("images", "images [OPTIONS] [REPOSITORY[:TAG]]", "List images")
	fs.BoolP("all", "a", false, "Show all images (a3s-box stores no intermediate images)")
	quiet := fs.BoolP("quiet", "q", false, "Only show image IDs")
	digests := fs.Bool("digests", false, "Show digests")
	noTrunc := fs.Bool("no-trunc", false, "Don't truncate output")
	filters := fs.StringArrayP("filter", "f", nil, "Filter output based on conditions provided")
	format := fs.String("format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("'a3s-box images' requires at most 1 argument.\nSee 'a3s-box images --help'")
	}
	s, _, err := c.images()
	if err != nil {
		return err
	}
	list, err := s.List(ctx)
	if err != nil {
		return err
	}
	keep, err := imageFilter(ctx, s, *filters)
	if err != nil {
		return err
	}
	if fs.NArg() == 1 {
		byRef, err := imageFilter(ctx, s, []string{"reference=" + fs.Arg(0)})
		if err != nil {
			return err
		}
		keep = both(keep, byRef)
	}
	t := &table{headers: imageHeaders}
	seen := map[string]bool{}
	for _, img := range list {
		for _, row := range imageRows(img, *noTrunc) {
			if !keep(img, row.repo, row.tag) {
				continue
			}
			if *quiet {
				if id := row.fields["ID"].(string); !seen[id] {
					seen[id] = true
					fmt.Fprintln(c.stdout, id)
				}
				continue
			}
			t.rows = append(t.rows, row.fields)
		}
	}
	if *quiet {
		return nil
	}
	def := "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	if *digests {
		def = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	}
	return t.write(c.stdout, *format, def)
}

type imageRow struct {
	repo, tag string // full repository and tag, empty when none
	fields    map[string]any
}

// imageRows are an image's lines in `images`: one per tag; one per
// repository known only by digest; one <none> line for a dangling image.
func imageRows(img *image.Summary, noTrunc bool) []imageRow {
	fields := func(repo, tag string) map[string]any {
		f := map[string]any{
			"ID":           shortOrFull(img.ID.String(), noTrunc),
			"Repository":   "<none>",
			"Tag":          "<none>",
			"Digest":       "<none>",
			"CreatedSince": since(img.File.Created.Time),
			"CreatedAt":    img.File.Created.Time.Local().Format("2006-01-02 15:04:05 -0700 MST"),
			"Size":         humanSize(img.Size),
			"VirtualSize":  humanSize(img.Size),
			"Containers":   "N/A",
			"SharedSize":   "N/A",
			"UniqueSize":   "N/A",
		}
		if repo != "" {
			f["Repository"] = image.Familiar(repo)
			f["Digest"] = img.Digest.String()
		}
		if tag != "" {
			f["Tag"] = tag
		}
		return f
	}
	var rows []imageRow
	tagged := map[string]bool{}
	for _, r := range img.Refs {
		if repo, tag, _ := image.SplitRef(r); tag != "" {
			rows = append(rows, imageRow{repo, tag, fields(repo, tag)})
			tagged[repo] = true
		}
	}
	for _, r := range img.Refs {
		if repo, tag, _ := image.SplitRef(r); tag == "" && !tagged[repo] {
			rows = append(rows, imageRow{repo, "", fields(repo, "")})
			tagged[repo] = true
		}
	}
	if len(rows) == 0 {
		rows = append(rows, imageRow{"", "", fields("", "")})
	}
	return rows
}

// imageFilterFunc decides whether an image's row is listed.
type imageFilterFunc func(img *image.Summary, repo, tag string) bool

func both(a, b imageFilterFunc) imageFilterFunc {
	return func(img *image.Summary, repo, tag string) bool { return a(img, repo, tag) && b(img, repo, tag) }
}

// imageFilter builds Docker's --filter for images: dangling, label,
// reference, before and since. Filters of one kind are alternatives;
// different kinds must all hold.
func imageFilter(ctx context.Context, s *image.Store, specs []string) (imageFilterFunc, error) {
	byKind := map[string][]string{}
	for _, sp := range specs {
		k, v, ok := strings.Cut(sp, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", sp)
		}
		k = strings.ToLower(k)
		switch k {
		case "dangling", "label", "reference", "before", "since", "until":
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		byKind[k] = append(byKind[k], v)
	}
	var preds []imageFilterFunc
	for k, vs := range byKind {
		var alts []imageFilterFunc
		for _, v := range vs {
			p, err := imagePredicate(ctx, s, k, v)
			if err != nil {
				return nil, err
			}
			alts = append(alts, p)
		}
		preds = append(preds, func(img *image.Summary, repo, tag string) bool {
			for _, a := range alts {
				if a(img, repo, tag) {
					return true
				}
			}
			return false
		})
	}
	return func(img *image.Summary, repo, tag string) bool {
		for _, p := range preds {
			if !p(img, repo, tag) {
				return false
			}
		}
		return true
	}, nil
}

func imagePredicate(ctx context.Context, s *image.Store, kind, v string) (imageFilterFunc, error) {
	switch kind {
	case "dangling":
		want := v == "true" || v == "1"
		if !want && v != "false" && v != "0" {
			return nil, fmt.Errorf("invalid filter 'dangling=%s'", v)
		}
		return func(img *image.Summary, _, _ string) bool { return (len(img.Refs) == 0) == want }, nil
	case "label":
		k, val, hasVal := strings.Cut(v, "=")
		return func(img *image.Summary, _, _ string) bool {
			got, ok := img.Config.Labels[k]
			return ok && (!hasVal || got == val)
		}, nil
	case "reference":
		return func(_ *image.Summary, repo, tag string) bool {
			if repo == "" {
				return false
			}
			for _, name := range []string{image.Familiar(repo), repo} {
				cands := []string{name}
				if tag != "" {
					cands = append(cands, name+":"+tag)
				}
				for _, cand := range cands {
					if ok, _ := path.Match(v, cand); ok {
						return true
					}
				}
			}
			return false
		}, nil
	case "before", "since":
		ref, err := s.Get(ctx, v)
		if err != nil {
			return nil, noSuchImage(err, v)
		}
		at := ref.File.Created.Time
		if kind == "before" {
			return func(img *image.Summary, _, _ string) bool { return img.File.Created.Before(at) }, nil
		}
		return func(img *image.Summary, _, _ string) bool { return img.File.Created.After(at) }, nil
	case "until":
		at, err := parseUntil(v)
		if err != nil {
			return nil, err
		}
		return func(img *image.Summary, _, _ string) bool { return img.File.Created.Before(at) }, nil
	}
	return nil, fmt.Errorf("invalid filter '%s'", kind)
}

// parseUntil reads an until= filter: a duration before now, a Unix
// timestamp or an RFC 3339 time.
func parseUntil(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	var secs int64
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && fmt.Sprint(secs) == v {
		return time.Unix(secs, 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid filter 'until=%s': want a duration (24h), a Unix time or an RFC 3339 time", v)
}
