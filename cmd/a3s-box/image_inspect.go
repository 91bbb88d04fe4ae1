package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/runtime/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func init() {
	register(&verb{name: "history", summary: "Show the history of an image", errCode: 1, run: historyVerb})
}

// imageInspect is Docker's `image inspect` object.
type imageInspect struct {
	ID            string             `json:"Id"`
	RepoTags      []string           `json:"RepoTags"`
	RepoDigests   []string           `json:"RepoDigests"`
	Parent        string             `json:"Parent"`
	Comment       string             `json:"Comment"`
	Created       string             `json:"Created,omitempty"`
	DockerVersion string             `json:"DockerVersion"`
	Author        string             `json:"Author"`
	Config        *v1.Config         `json:"Config"`
	Architecture  string             `json:"Architecture"`
	Variant       string             `json:"Variant,omitempty"`
	Os            string             `json:"Os"`
	OsVersion     string             `json:"OsVersion,omitempty"`
	Size          int64              `json:"Size"`
	GraphDriver   inspectGraphDriver `json:"GraphDriver"`
	RootFS        inspectRootFS      `json:"RootFS"`
	Metadata      inspectMetadata    `json:"Metadata"`
	Descriptor    v1.Descriptor      `json:"Descriptor"`
}

type inspectGraphDriver struct {
	Data map[string]string `json:"Data"`
	Name string            `json:"Name"`
}

type inspectRootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

type inspectMetadata struct {
	LastTagTime string `json:"LastTagTime,omitempty"`
}

func inspectOf(img *image.Summary) imageInspect {
	cf := img.File
	out := imageInspect{
		ID:            img.ID.String(),
		RepoTags:      []string{},
		RepoDigests:   []string{},
		DockerVersion: cf.DockerVersion,
		Author:        cf.Author,
		Config:        &cf.Config,
		Architecture:  cf.Architecture,
		Variant:       cf.Variant,
		Os:            cf.OS,
		OsVersion:     cf.OSVersion,
		Size:          img.Size,
		GraphDriver:   inspectGraphDriver{Name: "a3s-box", Data: map[string]string{}},
		RootFS:        inspectRootFS{Type: "layers", Layers: []string{}},
		Descriptor:    v1.Descriptor{MediaType: img.Manifest.MediaType, Digest: img.Digest},
	}
	if !cf.Created.IsZero() {
		out.Created = cf.Created.UTC().Format(time.RFC3339Nano)
	}
	if n := len(cf.History); n > 0 {
		out.Comment = cf.History[n-1].Comment
	}
	for _, r := range img.RepoTags() {
		out.RepoTags = append(out.RepoTags, image.Familiar(r))
	}
	for _, r := range img.RepoDigests() {
		out.RepoDigests = append(out.RepoDigests, image.Familiar(r))
	}
	for _, d := range cf.RootFS.DiffIDs {
		out.RootFS.Layers = append(out.RootFS.Layers, d.String())
	}
	return out
}

func imageInspectVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("image inspect", "image inspect [OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images")
	format := fs.StringP("format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "image inspect", 1); err != nil {
		return err
	}
	s, _, err := c.images()
	if err != nil {
		return err
	}
	var out []imageInspect
	var missing []string
	for _, name := range fs.Args() {
		img, err := s.Summary(ctx, name)
		if err != nil {
			missing = append(missing, noSuchImage(err, name).Error())
			continue
		}
		out = append(out, inspectOf(img))
	}
	if *format != "" && *format != "json" {
		tmpl, err := parseTemplate(*format)
		if err != nil {
			return err
		}
		for _, o := range out {
			// Templates see the JSON shape, as Docker's do.
			var v any
			b, _ := json.Marshal(o)
			_ = json.Unmarshal(b, &v)
			if err := tmpl.Execute(c.stdout, v); err != nil {
				return fmt.Errorf("template: %w", err)
			}
			fmt.Fprintln(c.stdout)
		}
	} else {
		if out == nil {
			out = []imageInspect{}
		}
		b, err := json.MarshalIndent(out, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
	}
	if len(missing) > 0 {
		return &exitError{1, fmt.Errorf("%s", strings.Join(missing, "\n"))}
	}
	return nil
}

var historyHeaders = map[string]string{
	"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
}

func historyVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("history", "history [OPTIONS] IMAGE", "Show the history of an image")
	human := fs.BoolP("human", "H", true, "Print sizes and dates in human readable format")
	noTrunc := fs.Bool("no-trunc", false, "Don't truncate output")
	quiet := fs.BoolP("quiet", "q", false, "Only show image IDs")
	format := fs.String("format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "history", 1); err != nil {
		return err
	}
	s, _, err := c.images()
	if err != nil {
		return err
	}
	img, err := s.Get(ctx, fs.Arg(0))
	if err != nil {
		return noSuchImage(err, fs.Arg(0))
	}
	t := &table{headers: historyHeaders}
	for _, h := range historyOf(img) {
		id := "<missing>"
		if h.top {
			id = shortOrFull(img.ID.String(), *noTrunc)
		}
		if *quiet {
			fmt.Fprintln(c.stdout, id)
			continue
		}
		createdBy := strings.ReplaceAll(h.CreatedBy, "\t", " ")
		if !*noTrunc {
			createdBy = ellipsis(createdBy, 45)
		}
		row := map[string]any{"ID": id, "CreatedBy": createdBy, "Comment": h.Comment,
			"CreatedAt": h.Created.Time.Local().Format(time.RFC3339), "CreatedSince": since(h.Created.Time), "Size": humanSize(h.size)}
		if !*human {
			row["CreatedSince"] = row["CreatedAt"]
			row["Size"] = fmt.Sprint(h.size)
		}
		t.rows = append(t.rows, row)
	}
	if *quiet {
		return nil
	}
	return t.write(c.stdout, *format, "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}")
}

type historyEntry struct {
	v1.History
	size int64
	top  bool
}

// historyOf pairs the config's history, newest first, with the layers
// its non-empty entries made. An image without history shows one entry.
func historyOf(img *image.Image) []historyEntry {
	if len(img.File.History) == 0 {
		return []historyEntry{{History: v1.History{Created: img.File.Created}, size: img.Size, top: true}}
	}
	var out []historyEntry
	layer := 0
	for _, h := range img.File.History {
		e := historyEntry{History: h}
		if !h.EmptyLayer && layer < len(img.Manifest.Layers) {
			e.size = img.Manifest.Layers[layer].Size
			layer++
		}
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	out[0].top = true
	return out
}

// ellipsis shortens s to n characters, ending in "…".
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
