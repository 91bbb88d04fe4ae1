package spec

import (
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
