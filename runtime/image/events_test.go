package image

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	it "github.com/a3s-box/a3s-box/runtime/image/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestEvents: each verb tells Event what it did, in Docker's shape.
func TestEvents(t *testing.T) {
	addr := serve(t, map[string]v1.Image{"test/busybox:1": busyboxImage(t)})
	s := openStore(t, t.TempDir())
	var got []string
	s.Event = func(action, actor string, attrs map[string]string) {
		got = append(got, action+" "+actor+" "+attrs["name"])
	}
	ctx := context.Background()
	ref := addr + "/test/busybox:1"
	img, err := s.Pull(ctx, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := img.ID.String()
	if err := s.Tag(ctx, ref, "other:2"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []string{"other:2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, "other:2", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, ref, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "other:2", addr+"/test/pushed:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(ctx, addr+"/test/pushed:1", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	tarball, err := it.Tar([]it.Entry{it.Dir("etc", 0o755), it.File("etc/hostname", 0o644, "box\n")})
	if err != nil {
		t.Fatal(err)
	}
	imported, err := s.Import(ctx, bytes.NewReader(tarball), ImportOptions{Ref: "imported:1", Source: "-"})
	if err != nil {
		t.Fatal(err)
	}
	iid := imported.ID.String()
	want := []string{
		"pull " + ref + " " + addr + "/test/busybox",
		"tag " + id + " other:2",
		"save " + id + " " + id,
		"untag " + id + " other:2",
		"untag " + id + " " + ref,
		"delete " + id + " " + id,
		"load " + id + " " + id,
		"tag " + id + " " + addr + "/test/pushed:1",
		"push " + addr + "/test/pushed:1 " + addr + "/test/pushed",
		"import " + iid + " " + iid,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n%q\nwant\n%q", got, want)
	}
}
