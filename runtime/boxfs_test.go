package runtime

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// repeatReader yields s over and over, n bytes in all: a guest's endless
// answer without holding it in the test.
type repeatReader struct {
	s string
	n int64
	i int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		p[k] = r.s[r.i%len(r.s)]
		r.i++
		k++
		r.n--
	}
	return k, nil
}

func TestDecodeChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   io.Reader
		want []proto.Change
		err  string
	}{
		{"listing", strings.NewReader(`{"kind":"C","path":"/etc"}` + "\n" + `{"kind":"A","path":"/etc/x"}` + "\n"),
			[]proto.Change{{Kind: "C", Path: "/etc"}, {Kind: "A", Path: "/etc/x"}}, ""},
		{"empty", strings.NewReader(""), nil, ""},
		{"bad kind", strings.NewReader(`{"kind":"X","path":"/a"}` + "\n"), nil, "bad kind"},
		{"relative path", strings.NewReader(`{"kind":"A","path":"a"}` + "\n"), nil, "bad kind"},
		{"not JSON", strings.NewReader("garbage\n"), nil, "change 1"},
		{"one endless value", &repeatReader{s: `{"kind":"A","path":"/` + strings.Repeat("a", 100), n: 1 << 30}, nil, "over"},
		{"too many entries", &repeatReader{s: `{"kind":"A","path":"/a"}` + "\n", n: 25 * (maxChanges + 10)}, nil, "more than"},
		{"too many bytes", &repeatReader{s: `{"kind":"A","path":"/` + strings.Repeat("a", 20000) + `"}` + "\n", n: 1 << 30}, nil, "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeChanges(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// FuzzDecodeChanges feeds diff's decoder arbitrary guest bytes: nothing
// may panic and every change accepted must be well formed.
func FuzzDecodeChanges(f *testing.F) {
	f.Add([]byte(`{"kind":"C","path":"/etc"}` + "\n" + `{"kind":"D","path":"/etc/x"}` + "\n"))
	f.Add([]byte(`{"kind":"A","path":"/a"}{"kind":"A"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeChanges(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		if len(got) > maxChanges {
			t.Fatalf("%d changes kept", len(got))
		}
		for _, c := range got {
			if (c.Kind != "A" && c.Kind != "C" && c.Kind != "D") || !strings.HasPrefix(c.Path, "/") {
				t.Fatalf("accepted %+v", c)
			}
		}
	})
}
