package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 512: "512B", 1000: "1kB", 1150520: "1.15MB", 4_260_000: "4.26MB", 1 << 30: "1.07GB", 999_999: "1MB", 999: "999B"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	tests := map[time.Duration]string{
		0:                        "Less than a second",
		time.Second:              "1 second",
		30 * time.Second:         "30 seconds",
		90 * time.Second:         "About a minute",
		10 * time.Minute:         "10 minutes",
		time.Hour:                "About an hour",
		5 * time.Hour:            "5 hours",
		3 * 24 * time.Hour:       "3 days",
		20 * 24 * time.Hour:      "2 weeks",
		90 * 24 * time.Hour:      "3 months",
		3 * 365 * 24 * time.Hour: "3 years",
	}
	for d, want := range tests {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// summary is a stored image as List returns it, with fixed values.
func summary(id, digest string, size int64, refs ...string) *image.Summary {
	cf := &v1.ConfigFile{Created: v1.Time{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}
	return &image.Summary{
		Image: &image.Image{ID: v1.Hash{Algorithm: "sha256", Hex: id}, Digest: v1.Hash{Algorithm: "sha256", Hex: digest}, File: cf, Size: size},
		Refs:  refs,
	}
}

func TestImagesTableGolden(t *testing.T) {
	hex := func(c string) string { return string(bytes.Repeat([]byte(c), 64)) }
	list := []*image.Summary{
		summary(hex("a"), hex("1"), 4_260_000, "docker.io/library/busybox:latest", "docker.io/library/busybox:1.36", "127.0.0.1:5000/test/busybox@sha256:"+hex("1")),
		summary(hex("b"), hex("2"), 512),
	}
	for _, tt := range []struct {
		name, format string
		noTrunc      bool
	}{
		{"images.golden", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}", false},
		{"images-digests.golden", "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.Size}}", true},
		{"images-template.golden", "{{.Repository}}:{{.Tag}} {{.ID}}", false},
		{"images-json.golden", "json", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tab := &table{headers: imageHeaders}
			for _, s := range list {
				for _, r := range imageRows(s, tt.noTrunc) {
					delete(r.fields, "CreatedSince") // depends on today
					delete(r.fields, "CreatedAt")    // depends on the time zone
					tab.rows = append(tab.rows, r.fields)
				}
			}
			var buf bytes.Buffer
			if err := tab.write(&buf, tt.format, ""); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
}
