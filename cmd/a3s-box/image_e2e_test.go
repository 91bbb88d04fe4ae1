package main

// End-to-end tests of the image verbs: the built binary against
// go-containerregistry's registry on 127.0.0.1 (plain, with basic auth,
// and with injected faults), skopeo as an independent implementation of
// the archive formats, and one VM boot of an imported image.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// call is one a3s-box invocation with its own stdin and environment.
type call struct {
	root  string
	stdin io.Reader
	env   []string
	dir   string // working directory; the test's when empty
}

func (k call) run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := command(ctx, k.root, args...)
	cmd.Env = append(cmd.Env, k.env...)
	cmd.Stdin, cmd.Dir = k.stdin, k.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("a3s-box %v: %v", args, err)
	}
	return r
}

// ok runs a3s-box and fails the test unless it exits 0.
func ok(t *testing.T, root string, args ...string) string {
	t.Helper()
	r := a3sIn(t, root, args...)
	if r.code != 0 {
		t.Fatalf("a3s-box %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// failsWith checks a failed command: its exit code, and one line on
// stderr naming want (after run's "Unable to find image" notice).
func failsWith(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d stderr %q; want exit %d naming %q", r.code, r.stderr, code, want)
	}
	msg := strings.TrimSpace(r.stderr)
	t.Logf("exit %d: %s", r.code, msg)
	if strings.HasPrefix(msg, "Unable to find image") {
		_, msg, _ = strings.Cut(msg, "\n")
	}
	if n := strings.Count(msg, "\n"); n > 0 {
		t.Errorf("error is not one line: %q", r.stderr)
	}
}

// storeState is everything of the image store a command could change:
// file names and sizes, and the index and references.
func storeState(t *testing.T, root string) string {
	t.Helper()
	dir := filepath.Join(root, "images")
	var lines []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasSuffix(rel, "lock") || strings.HasPrefix(rel, "tmp/") {
			return nil
		}
		line := fmt.Sprintf("%s %d", rel, fi.Size())
		if rel == "index.json" || rel == "refs.json" {
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// inspectOne reads `image inspect` of one image.
func inspectOne(t *testing.T, root, ref string) map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(ok(t, root, "image", "inspect", ref)), &out); err != nil || len(out) != 1 {
		t.Fatalf("image inspect %s: %v %v", ref, out, err)
	}
	return out[0]
}

func manifestDigest(t *testing.T, root, ref string) string {
	t.Helper()
	d, _ := inspectOne(t, root, ref)["Descriptor"].(map[string]any)
	s, _ := d["digest"].(string)
	if s == "" {
		t.Fatalf("inspect %s: no descriptor digest", ref)
	}
	return s
}

func busyboxDigest(t *testing.T) (manifest, id string) {
	t.Helper()
	img, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	c, _ := img.ConfigName()
	return d.String(), c.String()
}

func TestImagePullTagPushRmi(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	wantDigest, wantID := busyboxDigest(t)

	out := ok(t, root, "pull", e2e.image)
	for _, line := range []string{"1: Pulling from test/busybox", ": Pull complete", "Digest: " + wantDigest,
		"Status: Downloaded newer image for " + e2e.image, e2e.image} {
		if !strings.Contains(out, line+"\n") && !strings.Contains(out, line) {
			t.Fatalf("pull output lacks %q:\n%s", line, out)
		}
	}
	// Layers already present are not fetched again.
	out = ok(t, root, "pull", e2e.image)
	if !strings.Contains(out, ": Already exists") || !strings.Contains(out, "Status: Image is up to date") || strings.Contains(out, "Pull complete") {
		t.Fatalf("second pull:\n%s", out)
	}
	if out := ok(t, root, "pull", "-q", e2e.image); out != e2e.image+"\n" {
		t.Fatalf("pull -q printed %q", out)
	}

	ls := ok(t, root, "images")
	lines := strings.Split(strings.TrimSpace(ls), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "REPOSITORY") ||
		strings.Join(strings.Fields(lines[0]), " ") != "REPOSITORY TAG IMAGE ID CREATED SIZE" {
		t.Fatalf("images:\n%s", ls)
	}
	f := strings.Fields(lines[1])
	if f[0] != e2e.registry+"/test/busybox" || f[1] != "1" || f[2] != strings.TrimPrefix(wantID, "sha256:")[:12] {
		t.Fatalf("images row %q", lines[1])
	}

	ok(t, root, "tag", e2e.image, e2e.registry+"/test/pushed:2")
	ok(t, root, "image", "tag", e2e.image, "mybox")
	out = ok(t, root, "push", e2e.registry+"/test/pushed:2")
	if !strings.Contains(out, "The push refers to repository ["+e2e.registry+"/test/pushed]") || !strings.Contains(out, "2: digest: "+wantDigest) {
		t.Fatalf("push output:\n%s", out)
	}

	// By ID with several repositories: refused; by name: untagged only.
	failsWith(t, a3sIn(t, root, "rmi", strings.TrimPrefix(wantID, "sha256:")[:12]), 1, "referenced in multiple repositories")
	if out := ok(t, root, "rmi", "mybox"); out != "Untagged: mybox:latest\n" {
		t.Fatalf("rmi mybox printed %q", out)
	}
	out = ok(t, root, "image", "rm", e2e.image, e2e.registry+"/test/pushed:2")
	if !strings.Contains(out, "Untagged: "+e2e.image) || !strings.Contains(out, "Deleted: "+wantID) {
		t.Fatalf("rmi output:\n%s", out)
	}
	if out := ok(t, root, "images", "-q"); out != "" {
		t.Fatalf("images after rmi: %q", out)
	}
	if blobs, _ := os.ReadDir(filepath.Join(root, "images", "blobs", "sha256")); len(blobs) != 0 {
		t.Fatalf("%d blobs left after the last image went", len(blobs))
	}

	// The pushed copy comes back by digest.
	byDigest := e2e.registry + "/test/pushed@" + wantDigest
	ok(t, root, "pull", byDigest)
	out = ok(t, root, "images", "--digests", "--no-trunc")
	if !strings.Contains(out, wantDigest) || !strings.Contains(out, wantID) || !strings.Contains(out, e2e.registry+"/test/pushed") {
		t.Fatalf("images --digests after pull by digest:\n%s", out)
	}
	in := inspectOne(t, root, byDigest)
	if in["Id"] != wantID || fmt.Sprint(in["RepoDigests"]) != "["+byDigest+"]" || in["Os"] != "linux" || in["Architecture"] != "amd64" {
		t.Fatalf("inspect: %v", in)
	}
	if out := ok(t, root, "history", "-q", byDigest); out != strings.TrimPrefix(wantID, "sha256:")[:12]+"\n" {
		t.Fatalf("history -q: %q", out)
	}
}

func TestImagePullWithCredentials(t *testing.T) {
	needE2E(t)
	img, err := imagetest.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := imagetest.ServeWith("127.0.0.1:0", map[string]v1.Image{"private/busybox:1": img}, imagetest.BasicAuth("alice", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	root := t.TempDir()
	ref := addr + "/private/busybox:1"
	ok(t, root, "images") // creates the store

	before := storeState(t, root)
	noCreds := t.TempDir()
	r := call{root: root, env: []string{"DOCKER_CONFIG=" + noCreds}}.run(t, "pull", ref)
	failsWith(t, r, 1, "unauthorized")
	if after := storeState(t, root); after != before {
		t.Fatalf("a refused pull changed the store:\n%s\n---\n%s", before, after)
	}

	creds := t.TempDir()
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, addr, base64.StdEncoding.EncodeToString([]byte("alice:s3cret")))
	if err := os.WriteFile(filepath.Join(creds, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	withCreds := call{root: root, env: []string{"DOCKER_CONFIG=" + creds}}
	if r := withCreds.run(t, "pull", ref); r.code != 0 {
		t.Fatalf("pull with credentials: %d %q", r.code, r.stderr)
	}
	withCreds.run(t, "tag", ref, addr+"/private/copy:1")
	if r := withCreds.run(t, "push", addr+"/private/copy:1"); r.code != 0 || !strings.Contains(r.stdout, "digest: sha256:") {
		t.Fatalf("push with credentials: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = call{root: root, env: []string{"DOCKER_CONFIG=" + noCreds}}.run(t, "push", addr+"/private/copy:1")
	failsWith(t, r, 1, "unauthorized")
}

func TestImageSaveLoadRoundTrip(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	ok(t, root, "pull", e2e.image)
	ok(t, root, "tag", e2e.image, "saved/box:3")
	digest := manifestDigest(t, root, e2e.image)
	tarPath := filepath.Join(t.TempDir(), "images.tar")
	ok(t, root, "save", "-o", tarPath, e2e.image, "saved/box:3")

	// One tar, both layouts.
	names := tarNames(t, tarPath)
	for _, n := range []string{"oci-layout", "index.json", "manifest.json", "repositories", "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")} {
		if !names[n] {
			t.Fatalf("save tar lacks %s: %v", n, names)
		}
	}

	ok(t, root, "rmi", e2e.image, "saved/box:3")
	out := ok(t, root, "load", "-i", tarPath)
	if out != "Loaded image: "+e2e.image+"\nLoaded image: saved/box:3\n" {
		t.Fatalf("load printed %q", out)
	}
	if got := manifestDigest(t, root, "saved/box:3"); got != digest {
		t.Fatalf("digest after save/rmi/load %s, want %s", got, digest)
	}

	// Streams: save to stdout, load from stdin.
	var buf bytes.Buffer
	cmd := command(context.Background(), root, "save", "saved/box:3")
	cmd.Stdout = &buf
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if r := (call{root: other, stdin: &buf}).run(t, "image", "load"); r.code != 0 || r.stdout != "Loaded image: saved/box:3\n" {
		t.Fatalf("load from stdin: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if got := manifestDigest(t, other, "saved/box:3"); got != digest {
		t.Fatalf("digest after stdin load %s, want %s", got, digest)
	}
}

func tarNames(t *testing.T, p string) map[string]bool {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
}

// TestImageRmiKeepsWhatBoxesUse checks rmi against box records and the
// rootfs cache: refused while a box uses the image, forced it untags but
// keeps the rootfs, which goes once no box needs it.
func TestImageRmiKeepsWhatBoxesUse(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	ok(t, root, "pull", e2e.image)
	digest, id := manifestDigest(t, root, e2e.image), ""
	id, _ = inspectOne(t, root, e2e.image)["Id"].(string)
	rootfs := filepath.Join(root, "images", "rootfs", strings.Replace(digest, ":", "-", 1)+".ext4")
	if err := os.WriteFile(rootfs, []byte("cached rootfs"), 0o644); err != nil {
		t.Fatal(err)
	}
	boxID := strings.Repeat("b0c5", 16)
	boxDir := filepath.Join(root, "boxes", boxID)
	if err := os.MkdirAll(boxDir, 0o700); err != nil {
		t.Fatal(err)
	}
	rec := fmt.Sprintf(`{"id":%q,"name":"user","imageRef":%q,"imageDigest":%q,"imageId":%q}`, boxID, e2e.image, digest, id)
	if err := os.WriteFile(filepath.Join(boxDir, "config.json"), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}

	before := storeState(t, root)
	failsWith(t, a3sIn(t, root, "rmi", e2e.image), 1, "box "+boxID[:12]+" is using")
	failsWith(t, a3sIn(t, root, "rmi", id), 1, "being used by box "+boxID[:12])
	if after := storeState(t, root); after != before {
		t.Fatalf("a refused rmi changed the store")
	}
	ok(t, root, "rmi", "-f", e2e.image)
	if _, err := os.Stat(rootfs); err != nil {
		t.Fatalf("forced rmi removed the rootfs a box uses: %v", err)
	}
	if out := ok(t, root, "images", "--filter", "dangling=true", "-q"); out != strings.TrimPrefix(id, "sha256:")[:12]+"\n" {
		t.Fatalf("the used image should stay, unnamed: %q", out)
	}
	if err := os.RemoveAll(boxDir); err != nil {
		t.Fatal(err)
	}
	out := ok(t, root, "image", "prune", "-f")
	if !strings.Contains(out, "deleted: "+id) || !strings.Contains(out, "Total reclaimed space: ") {
		t.Fatalf("prune output:\n%s", out)
	}
	if _, err := os.Stat(rootfs); err == nil {
		t.Fatal("the rootfs survived its image and its box")
	}

	// Without boxes, rmi takes the rootfs with the image.
	ok(t, root, "pull", e2e.image)
	if err := os.WriteFile(rootfs, []byte("cached rootfs"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, root, "rmi", e2e.image)
	if _, err := os.Stat(rootfs); err == nil {
		t.Fatal("rmi left the image's rootfs")
	}
}

// TestImageListFilters makes images by import (no registry, no VM) and
// checks the listing's filters, formats and prune.
func TestImageListFilters(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	rootfs := rootfsTarball(t, "one")
	imp := func(args ...string) string {
		out := ok(t, root, append([]string{"import"}, args...)...)
		return strings.TrimSpace(out)
	}
	a := imp("-c", "LABEL tier=web", rootfs, "app/a:1")
	time.Sleep(1100 * time.Millisecond) // created times one second apart
	b := imp("-c", "LABEL tier=db", "-m", "second", rootfsTarball(t, "two"), "app/b:1")
	time.Sleep(1100 * time.Millisecond)
	c := imp(rootfsTarball(t, "three"))

	short := func(id string) string { return strings.TrimPrefix(id, "sha256:")[:12] }
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-q"}, []string{short(c), short(b), short(a)}},
		{[]string{"-q", "--filter", "dangling=true"}, []string{short(c)}},
		{[]string{"-q", "--filter", "dangling=false"}, []string{short(b), short(a)}},
		{[]string{"-q", "--filter", "label=tier=web"}, []string{short(a)}},
		{[]string{"-q", "--filter", "label=tier"}, []string{short(b), short(a)}},
		{[]string{"-q", "--filter", "reference=app/*"}, []string{short(b), short(a)}},
		{[]string{"-q", "app/b"}, []string{short(b)}},
		{[]string{"-q", "--filter", "before=app/b:1"}, []string{short(a)}},
		{[]string{"-q", "--filter", "since=app/b:1"}, []string{short(c)}},
		{[]string{"-q", "--no-trunc", "--filter", "reference=app/a:1"}, []string{a}},
		{[]string{"--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=app/a"}, []string{"app/a:1"}},
		{[]string{"--format", "table {{.Repository}}\t{{.Tag}}", "--filter", "reference=app/a"}, []string{"REPOSITORY   TAG", "app/a        1"}},
	}
	for _, tt := range tests {
		out := ok(t, root, append([]string{"images"}, tt.args...)...)
		if got := strings.Split(strings.TrimRight(out, "\n"), "\n"); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("images %v:\n%s\nwant %q", tt.args, out, tt.want)
		}
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(ok(t, root, "images", "--format", "json", "--filter", "reference=app/b")), &row); err != nil || row["Repository"] != "app/b" || row["ID"] != short(b) {
		t.Fatalf("images --format json: %v %v", row, err)
	}
	out := ok(t, root, "history", "app/b:1")
	if !strings.HasPrefix(out, "IMAGE          CREATED") || !strings.Contains(out, short(b)) || !strings.Contains(out, "second") {
		t.Fatalf("history:\n%s", out)
	}
	failsWith(t, a3sIn(t, root, "images", "--filter", "colour=red"), 1, "invalid filter 'colour'")

	out = ok(t, root, "image", "prune", "-f", "--filter", "label=tier=web", "-a")
	if !strings.Contains(out, "deleted: "+a) || strings.Contains(out, b) || strings.Contains(out, c) {
		t.Fatalf("prune --filter label=tier=web:\n%s", out)
	}
	r := call{root: root, stdin: strings.NewReader("n\n")}.run(t, "image", "prune")
	if r.code != 0 || !strings.Contains(r.stdout, "Are you sure") || strings.Contains(r.stdout, "deleted") {
		t.Fatalf("declined prune: %d %q", r.code, r.stdout)
	}
	out = ok(t, root, "image", "prune", "-f")
	if !strings.Contains(out, "deleted: "+c) || strings.Contains(out, b) {
		t.Fatalf("prune:\n%s", out)
	}
}

// rootfsTarball writes a gzip rootfs tarball holding busybox, a file
// saying what and an hello script, and returns its path.
func rootfsTarball(t *testing.T, what string, extra ...imagetest.Entry) string {
	t.Helper()
	bin, err := os.ReadFile(imagetest.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	entries := append([]imagetest.Entry{
		imagetest.Dir("bin", 0o755),
		imagetest.File("bin/busybox", 0o755, string(bin)),
		imagetest.Symlink("bin/sh", "busybox"),
		imagetest.Symlink("bin/cat", "busybox"),
		imagetest.Dir("etc", 0o755),
		imagetest.File("etc/what", 0o644, what+"\n"),
	}, extra...)
	b, err := imagetest.Tar(entries)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	p := filepath.Join(t.TempDir(), what+".tar.gz")
	if err := os.WriteFile(p, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImageImportRuns imports a rootfs tarball (from a file, a URL and
// stdin) and boots the imported image once.
func TestImageImportRuns(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	tarball := rootfsTarball(t, "imported")
	id := strings.TrimSpace(ok(t, root, "import", "-c", `CMD ["cat", "/etc/what"]`, "-c", "ENV GREETING=hi", "-m", "from a test", tarball, "imported:1"))
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("import printed %q", id)
	}
	in := inspectOne(t, root, "imported:1")
	cfg, _ := in["Config"].(map[string]any)
	if in["Id"] != id || in["Comment"] != "from a test" || fmt.Sprint(cfg["Cmd"]) != "[cat /etc/what]" || fmt.Sprint(cfg["Env"]) != "[GREETING=hi]" {
		t.Fatalf("inspect of the imported image: %v", in)
	}

	body, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	if byURL := strings.TrimSpace(ok(t, root, "image", "import", "-c", `CMD ["cat", "/etc/what"]`, "-c", "ENV GREETING=hi", "-m", "from a test", srv.URL+"/rootfs.tgz")); !strings.HasPrefix(byURL, "sha256:") {
		t.Fatalf("import from URL printed %q", byURL)
	}
	if r := (call{root: root, stdin: bytes.NewReader(body)}).run(t, "import", "-", "stdin/imported"); r.code != 0 {
		t.Fatalf("import -: %d %q", r.code, r.stderr)
	}

	r := a3sIn(t, root, "run", "--rm", "imported:1")
	if r.code != 0 || r.stdout != "imported\n" {
		t.Fatalf("run of the imported image: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestImageBadInput feeds each bad input to a verb: one clear line, exit
// 1 (125 from run), and the store as it was.
func TestImageBadInput(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	ok(t, root, "pull", e2e.image)
	good := filepath.Join(t.TempDir(), "good.tar")
	ok(t, root, "save", "-o", good, e2e.image)
	// The faulty registries serve an image with a layer of its own, so
	// nothing of it is in the store already.
	layer, err := imagetest.Layer([]imagetest.Entry{imagetest.File("data", 0o644, strings.Repeat("a3s-box layer data ", 8<<10))})
	if err != nil {
		t.Fatal(err)
	}
	img, err := imagetest.Image(v1.Config{Cmd: []string{"true"}}, layer)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(wrap func(http.Handler) http.Handler) string {
		addr, stop, err := imagetest.ServeWith("127.0.0.1:0", map[string]v1.Image{"test/busybox:1": img}, wrap)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return addr + "/test/busybox:1"
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncatedTar := write("truncated.tar", goodBytes[:len(goodBytes)/2])
	corruptTar := write("corrupt.tar", bytes.Repeat([]byte("not a tar archive "), 100))
	mismatch := write("mismatch.tar", archive(t, map[string]string{
		"oci-layout": `{"imageLayoutVersion":"1.0.0"}`,
		"index.json": `{"schemaVersion":2,"manifests":[]}`,
		"blobs/sha256/" + strings.Repeat("ab", 32): "content with another digest",
	}))
	escaping := write("escape.tar", archive(t, map[string]string{
		"../../outside": "escaped",
		"manifest.json": "[]",
	}))
	escapingRootfs := rootfsTarball(t, "escape", imagetest.File("../../../outside-a3s", 0o644, "escaped\n"))

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown image rmi", []string{"rmi", "no/such:image"}, 1, "No such image: no/such:image"},
		{"unknown image inspect", []string{"image", "inspect", "no/such:image"}, 1, "No such image"},
		{"unknown image tag", []string{"tag", "no/such:image", "x:1"}, 1, "No such image"},
		{"unknown image save", []string{"save", "-o", filepath.Join(dir, "x.tar"), "no/such:image"}, 1, "No such image"},
		{"unknown image history", []string{"history", "no/such:image"}, 1, "No such image"},
		{"unknown tag pull", []string{"pull", e2e.registry + "/test/busybox:nope"}, 1, "manifest unknown"},
		{"unknown tag run", []string{"run", "--rm", e2e.registry + "/test/busybox:nope", "true"}, 125, "manifest unknown"},
		{"unknown repository", []string{"pull", e2e.registry + "/test/nothing:1"}, 1, "not found in the registry"},
		{"registry 401", []string{"pull", serve(imagetest.BasicAuth("u", "p"))}, 1, "unauthorized"},
		{"registry 404", []string{"pull", serve(imagetest.FailManifests(http.StatusNotFound))}, 1, "not found in the registry"},
		{"registry 500", []string{"pull", serve(imagetest.FailManifests(http.StatusInternalServerError))}, 1, "500 Internal Server Error"},
		{"registry stops mid-blob", []string{"pull", serve(imagetest.CutBlobs())}, 1, "layer "},
		{"wrong digest", []string{"pull", e2e.registry + "/test/busybox@sha256:" + strings.Repeat("0", 64)}, 1, "not found in the registry"},
		{"truncated tar", []string{"load", "-i", truncatedTar}, 1, "truncated"},
		{"corrupt tar", []string{"load", "-i", corruptTar}, 1, "invalid image archive"},
		{"digest mismatch", []string{"load", "-i", mismatch}, 1, "digest mismatch"},
		{"escaping entry", []string{"load", "-i", escaping}, 1, "escapes the archive"},
		{"escaping rootfs entry", []string{"import", escapingRootfs, "bad:1"}, 1, "escapes the rootfs"},
		{"import not a tar", []string{"import", corruptTar}, 1, "not a tar archive"},
		{"tag with digest", []string{"tag", e2e.image, "x@sha256:" + strings.Repeat("0", 64)}, 1, "digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := storeState(t, root)
			r := a3sIn(t, root, tt.args...)
			failsWith(t, r, tt.code, tt.want)
			if after := storeState(t, root); after != before {
				t.Fatalf("the store changed:\n%s\n---\n%s", before, after)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(dir), "outside")); err == nil {
		t.Fatal("load wrote outside")
	}
}

// archive is a tar of name -> content, in name order.
func archive(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	return buf.Bytes()
}

// TestImageSkopeoInterop checks the archives against skopeo: it reads
// both halves of a save tar into OCI layouts with the same digests, and
// a3s-box loads what skopeo writes.
func TestImageSkopeoInterop(t *testing.T) {
	needE2E(t)
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Fatal("skopeo is not installed: run `make deps`")
	}
	root := t.TempDir()
	ok(t, root, "pull", e2e.image)
	digest := manifestDigest(t, root, e2e.image)
	id, _ := inspectOne(t, root, e2e.image)["Id"].(string)
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved.tar")
	ok(t, root, "save", "-o", saved, e2e.image)
	sk := func(args ...string) {
		t.Helper()
		out, err := exec.Command(skopeo, append([]string{"--insecure-policy"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo %v: %v\n%s", args, err, out)
		}
	}

	// The docker-archive half: skopeo keeps the config, so the image ID.
	sk("copy", "-q", "--format", "v2s2", "docker-archive:"+saved, "oci:"+filepath.Join(dir, "from-docker")+":x")
	m := layoutManifest(t, filepath.Join(dir, "from-docker"))
	if m.Config.Digest.String() != id {
		t.Fatalf("docker-archive half: skopeo read config %s, want the image ID %s", m.Config.Digest, id)
	}
	// The OCI half: the manifest digest itself.
	sk("copy", "-q", "--preserve-digests", "oci-archive:"+saved, "oci:"+filepath.Join(dir, "from-oci")+":x")
	if got := layoutDigest(t, filepath.Join(dir, "from-oci")); got != digest {
		t.Fatalf("OCI half: skopeo read manifest %s, want %s", got, digest)
	}

	// What skopeo writes, a3s-box loads.
	skDocker := filepath.Join(dir, "skopeo-docker.tar")
	sk("copy", "-q", "docker-archive:"+saved, "docker-archive:"+skDocker+":skopeo/docker:1")
	other := t.TempDir()
	if out := ok(t, other, "load", "-i", skDocker); out != "Loaded image: skopeo/docker:1\n" {
		t.Fatalf("load of skopeo's docker-archive printed %q", out)
	}
	if got, _ := inspectOne(t, other, "skopeo/docker:1")["Id"].(string); got != id {
		t.Fatalf("skopeo docker-archive loaded as %s, want %s", got, id)
	}
	skOCI := filepath.Join(dir, "skopeo-oci.tar")
	sk("copy", "-q", "--preserve-digests", "oci-archive:"+saved, "oci-archive:"+skOCI+":skopeo/oci:2")
	if out := ok(t, other, "load", "-i", skOCI); out != "Loaded image: skopeo/oci:2\n" {
		t.Fatalf("load of skopeo's oci-archive printed %q", out)
	}
	if got := manifestDigest(t, other, "skopeo/oci:2"); got != digest {
		t.Fatalf("skopeo oci-archive loaded as %s, want %s", got, digest)
	}
	// And the image skopeo round-tripped still lists its layers' content.
	if sum := sha256sum(t, filepath.Join(other, "images", "blobs", "sha256", strings.TrimPrefix(id, "sha256:"))); sum != id {
		t.Fatalf("stored config blob hashes to %s", sum)
	}
}

func layoutDigest(t *testing.T, dir string) string {
	t.Helper()
	var idx v1.IndexManifest
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil || json.Unmarshal(b, &idx) != nil || len(idx.Manifests) != 1 {
		t.Fatalf("OCI layout %s: %v %s", dir, err, b)
	}
	return idx.Manifests[0].Digest.String()
}

func layoutManifest(t *testing.T, dir string) *v1.Manifest {
	t.Helper()
	d := layoutDigest(t, dir)
	f, err := os.Open(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := v1.ParseManifest(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sha256sum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// TestImagePullFullDisk pulls into a store on a filesystem too small for
// the image: refused before the disk fills (every image bound leaves 512
// MiB free), in one clear line, and the store as it was.
func TestImagePullFullDisk(t *testing.T) {
	needE2E(t)
	root := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=640k", "a3s-full", root).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", root).Run() })
	a3sIn(t, root, "images")
	before := storeState(t, root)
	r := a3sIn(t, root, "pull", e2e.image)
	failsWith(t, r, 1, "less than 512 MiB of disk free")
	if after := storeState(t, root); after != before {
		t.Fatalf("the store changed:\n%s\n---\n%s", before, after)
	}
	if r := a3sIn(t, root, "images", "-q"); r.code != 0 || r.stdout != "" {
		t.Fatalf("images after the failed pull: code %d stdout %q", r.code, r.stdout)
	}
}
