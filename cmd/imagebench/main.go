// Command imagebench measures what it takes to get an image from a
// registry to a bootable root filesystem: `a3s-box pull` plus the rootfs
// build, against `skopeo copy` of the same image into an OCI layout, tar
// extracting its layers and `mkfs.ext4 -d` on the tree. The image (at least
// 200 MiB in 24 layers of incompressible data) is served from an
// in-process registry on 127.0.0.1. It prints the medians, their ratio,
// and the time of a second pull, which must fetch no layer.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/internal/benchrig"
	"github.com/a3s-box/a3s-box/runtime/image"
	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	dir := flag.String("dir", "out", "directory holding the a3s-box binary")
	runs := flag.Int("runs", 3, "samples of each")
	layers := flag.Int("layers", 24, "layers in the image")
	layerMiB := flag.Int("layer-mib", 9, "MiB of file data per layer")
	flag.Parse()
	benchrig.Main("imagebench", *dir, func(ctx context.Context, rig *benchrig.Rig) error {
		return bench(ctx, rig, *runs, *layers, *layerMiB)
	})
}

func bench(ctx context.Context, rig *benchrig.Rig, runs, nLayers, layerMiB int) error {
	for _, tool := range []string{"skopeo", "mkfs.ext4", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is missing: run `make deps`", tool)
		}
	}
	img, total, err := bigImage(nLayers, layerMiB)
	if err != nil {
		return err
	}
	ref, err := rig.Serve("bench/big:1", img)
	if err != nil {
		return err
	}
	fmt.Printf("image %s: %d layers, %d MiB compressed\n", ref, nLayers, total>>20)

	var a3sTimes, toolTimes, againTimes benchrig.Samples
	for i := range runs { // interleaved, so load drifts hit both alike
		root := filepath.Join(rig.Work, fmt.Sprintf("a3s-%d", i))
		d, again, err := a3sPullRootfs(ctx, rig.At(root), ref)
		if err != nil {
			return err
		}
		a3sTimes, againTimes = append(a3sTimes, d), append(againTimes, again)
		os.RemoveAll(root)

		tools := filepath.Join(rig.Work, fmt.Sprintf("tools-%d", i))
		d, err = skopeoMkfs(tools, ref)
		if err != nil {
			return err
		}
		toolTimes = append(toolTimes, d)
		os.RemoveAll(tools)
	}
	ma, mt := a3sTimes.Median(), toolTimes.Median()
	fmt.Printf("a3s-box pull + rootfs                    median %7.3fs  %v\n", ma.Seconds(), a3sTimes)
	fmt.Printf("skopeo copy + tar -x + mkfs.ext4 -d      median %7.3fs  %v\n", mt.Seconds(), toolTimes)
	fmt.Printf("ratio %.2f (aim: at most 1.00)\n", ma.Seconds()/mt.Seconds())
	fmt.Printf("second a3s-box pull (no layer fetched)   median %7.3fs  %v (aim: under 1s)\n", againTimes.Median().Seconds(), againTimes)
	return nil
}

// a3sPullRootfs pulls with the built binary, builds the rootfs through the
// store (what `run` does before it boots), then pulls again.
func a3sPullRootfs(ctx context.Context, a3s *benchrig.CLI, ref string) (first, again time.Duration, err error) {
	start := time.Now()
	if _, err := a3s.Run(ctx, "pull", ref); err != nil {
		return 0, 0, err
	}
	s, err := image.Open(filepath.Join(a3s.Root, "images"))
	if err != nil {
		return 0, 0, err
	}
	img, err := s.Get(ctx, ref)
	if err != nil {
		return 0, 0, err
	}
	if _, err := s.Rootfs(ctx, img); err != nil {
		return 0, 0, err
	}
	first = time.Since(start)
	start = time.Now()
	out, err := a3s.Run(ctx, "pull", ref)
	if err != nil {
		return 0, 0, err
	}
	again = time.Since(start)
	if strings.Contains(out, "Pull complete") {
		return 0, 0, fmt.Errorf("the second pull fetched layers:\n%s", out)
	}
	return first, again, nil
}

// skopeoMkfs is the same work with standard tools.
func skopeoMkfs(work, ref string) (time.Duration, error) {
	layout := filepath.Join(work, "layout")
	tree := filepath.Join(work, "tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		return 0, err
	}
	start := time.Now()
	if out, err := exec.Command("skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
		"docker://"+ref, "oci:"+layout+":x").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("skopeo copy: %v: %s", err, out)
	}
	layers, err := layoutLayers(layout)
	if err != nil {
		return 0, err
	}
	for _, l := range layers {
		if out, err := exec.Command("tar", "-xzf", l, "-C", tree).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("tar -x %s: %v: %s", l, err, out)
		}
	}
	var size int64
	_ = filepath.WalkDir(tree, func(_ string, d fs.DirEntry, err error) error {
		if err == nil {
			if fi, err := d.Info(); err == nil {
				size += fi.Size() + 4096
			}
		}
		return nil
	})
	size = size*11/10 + 16<<20
	out := filepath.Join(work, "rootfs.ext4")
	if b, err := exec.Command("mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-m", "0", "-d", tree, out,
		strconv.FormatInt(size/1024, 10)+"k").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("mkfs.ext4: %v: %s", err, b)
	}
	return time.Since(start), nil
}

// layoutLayers lists the layer blobs of an OCI layout's only image.
func layoutLayers(layout string) ([]string, error) {
	var idx v1.IndexManifest
	if err := readJSON(filepath.Join(layout, "index.json"), &idx); err != nil {
		return nil, err
	}
	if len(idx.Manifests) != 1 {
		return nil, fmt.Errorf("%s: want one image, found %d", layout, len(idx.Manifests))
	}
	var m v1.Manifest
	if err := readJSON(blob(layout, idx.Manifests[0].Digest), &m); err != nil {
		return nil, err
	}
	var out []string
	for _, l := range m.Layers {
		out = append(out, blob(layout, l.Digest))
	}
	return out, nil
}

func blob(layout string, h v1.Hash) string { return filepath.Join(layout, "blobs", h.Algorithm, h.Hex) }

func readJSON(p string, v any) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// bigImage is nLayers layers, each with layerMiB of incompressible data
// in 1.5 MiB files and a hundred small text files. It returns the
// compressed size too.
func bigImage(nLayers, layerMiB int) (v1.Image, int64, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	var layers []v1.Layer
	var total int64
	for i := range nLayers {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		dir := fmt.Sprintf("layer%02d/", i)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: imagetest.ModTime}); err != nil {
			return nil, 0, err
		}
		const chunk = 3 << 19
		for j := 0; j*chunk < layerMiB<<20; j++ {
			data := make([]byte, chunk)
			for k := 0; k+8 <= len(data); k += 8 {
				v := rng.Uint64()
				for b := range 8 {
					data[k+b] = byte(v >> (8 * b))
				}
			}
			if err := writeEntry(tw, fmt.Sprintf("%sblob%02d.bin", dir, j), data); err != nil {
				return nil, 0, err
			}
		}
		for j := range 100 {
			text := strings.Repeat(fmt.Sprintf("layer %d file %d: some configuration text\n", i, j), 20)
			if err := writeEntry(tw, fmt.Sprintf("%sconf%03d.txt", dir, j), []byte(text)); err != nil {
				return nil, 0, err
			}
		}
		if err := tw.Close(); err != nil {
			return nil, 0, err
		}
		b := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
			tarball.WithCompressionLevel(gzip.BestSpeed))
		if err != nil {
			return nil, 0, err
		}
		n, err := l.Size()
		if err != nil {
			return nil, 0, err
		}
		total += n
		layers = append(layers, l)
	}
	img, err := imagetest.Image(v1.Config{Cmd: []string{"/bin/true"}}, layers...)
	return img, total, err
}

func writeEntry(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: imagetest.ModTime}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}
