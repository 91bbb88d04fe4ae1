package spec

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds the stack decoder arbitrary bytes: it must never panic
// or hang, every problem it reports must name the file and a line, and
// what it accepts must validate again.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/invalid/*.yaml", "../examples/stacks/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("boxes: {a: {image: busybox, ports: [80], depends_on: [a]}}\n---\nname: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		stacks, err := Parse("fuzz.yaml", data)
		if err != nil {
			for _, e := range Errors(err) {
				if !strings.HasPrefix(e.Error(), "fuzz.yaml:") {
					t.Fatalf("problem without the file: %q", e)
				}
				if pe, ok := e.(*Error); !ok || pe.Line < 1 {
					t.Fatalf("problem without a line: %q", e)
				}
			}
			if stacks != nil {
				t.Fatal("stacks returned along with an error")
			}
			return
		}
		for _, s := range stacks {
			s.pos = positions{}
			if err := s.Validate(); err != nil {
				t.Fatalf("accepted a stack that does not validate: %v", err)
			}
		}
	})
}

// FuzzReadStack feeds Load stack files of any size (data repeated):
// a file over MaxStackFile is refused by its size, on one line naming
// the file, and never for what its content would expand to.
func FuzzReadStack(f *testing.F) {
	f.Add([]byte("boxes: {a: {image: busybox, replicas: 1001}}\n"), uint32(1))
	f.Add([]byte("boxes: {a: {image: busybox, cpus: 1e10, mem_limit: 64m}}\n"), uint32(1))
	f.Add([]byte("#"+strings.Repeat("x", 1023)), uint32(4097))
	f.Add([]byte("a: &a [x]\n"), uint32(1<<20))
	f.Fuzz(func(t *testing.T, data []byte, repeat uint32) {
		n := int64(len(data)) * int64(repeat%(1<<23))
		if n == 0 || n > 2*MaxStackFile {
			return
		}
		path := filepath.Join(t.TempDir(), "s.yaml")
		if err := os.WriteFile(path, bytes.Repeat(data, int(repeat%(1<<23))), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(context.Background(), path)
		if n > MaxStackFile {
			if err == nil || !strings.Contains(err.Error(), path+":1: the file is") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("a %d-byte stack: %v", n, err)
			}
		}
	})
}
