package engine_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/runtime/image/imagetest"
	"github.com/a3s-box/a3s-box/spec"
)

// What the example needs beyond a Go program: a state directory, the
// a3s-box binary (each box's supervisor), the guest kernel and
// initramfs beside it, and an image. `make test` builds the binary and
// the guest files and points A3S_BOX_E2E_DIR at them; the image comes
// from an in-process registry on 127.0.0.1.
var (
	dir   string // a3s-box, vmlinux or vmlinuz, initramfs.img
	root  string
	image string
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir = os.Getenv("A3S_BOX_E2E_DIR")
	if dir == "" {
		// The example boots a microVM: without a built guest, run the
		// unit tests alone.
		fmt.Fprintln(os.Stderr, "engine: A3S_BOX_E2E_DIR is not set: the example is skipped (make test runs it)")
		if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "" {
			_ = flag.Set("test.run", "^(Test|Fuzz)")
		}
		os.Exit(m.Run())
	}
	img, err := imagetest.Busybox()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build test image:", err)
		os.Exit(1)
	}
	addr, stop, err := imagetest.Serve(map[string]v1.Image{"test/busybox:1": img})
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve registry:", err)
		os.Exit(1)
	}
	image = addr + "/test/busybox:1"
	if root, err = os.MkdirTemp("", "a3s-engine-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.RemoveAll(root)
	os.Exit(code)
}

// A Go program runs a box, runs a command in it, stops it and removes it,
// with no CLI.
func Example() {
	ctx := context.Background()
	cfg, err := runtime.LoadConfig(root)
	if err != nil {
		panic(err)
	}
	cfg.Kernel, cfg.Initrd = guestKernel(), filepath.Join(dir, "initramfs.img")
	eng, err := engine.Open(ctx, cfg, engine.Options{Binary: filepath.Join(dir, "a3s-box")})
	if err != nil {
		panic(err)
	}
	box, err := eng.Run(ctx, &spec.Box{Name: "hello", Image: image, Command: []string{"sleep", "600"}}, nil, engine.RunOptions{})
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	p, err := eng.Exec(ctx, box, engine.ExecOptions{Args: []string{"echo", "hello from a microVM"}}, runtime.ProcessIO{Stdout: &out})
	if err != nil {
		panic(err)
	}
	exit, err := p.Wait()
	if err != nil {
		panic(err)
	}
	fmt.Print(out.String())
	fmt.Println("exit status", exit.Code)
	if err := eng.Stop(ctx, box, engine.StopOptions{}); err != nil {
		panic(err)
	}
	if err := eng.Remove(ctx, box, engine.RemoveOptions{}); err != nil {
		panic(err)
	}
	_, err = eng.Box("hello")
	fmt.Println("removed:", err != nil)
	// Output:
	// hello from a microVM
	// exit status 0
	// removed: true
}

// guestKernel is the kernel make build puts beside the binary.
func guestKernel() string {
	for _, k := range []string{"vmlinux", "vmlinuz"} {
		if p := filepath.Join(dir, k); fileExists(p) {
			return p
		}
	}
	return filepath.Join(dir, "vmlinux")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
