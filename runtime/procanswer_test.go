package runtime

import (
	"net"
	"strings"
	"testing"

	"github.com/a3s-box/a3s-box/guestinit/proto"
)

// TestGatherProcDataBounds plays a hostile guest answering top or stats:
// entries that cost it a few bytes each must not add up past the bounds.
func TestGatherProcDataBounds(t *testing.T) {
	empties := func(n int) []byte { // {"procs":[{},{},...],"more":true}
		return []byte(`{"procs":[` + strings.TrimSuffix(strings.Repeat("{},", n), ",") + `],"more":true}`)
	}
	files := func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"files":{`)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"/f` + strings.Repeat("x", i) + `":""`)
		}
		b.WriteString(`},"more":true}`)
		return []byte(b.String())
	}
	for _, tc := range []struct {
		name   string
		frames [][]byte
		err    string
	}{
		{"fair answer", [][]byte{empties(3), []byte(`{"files":{"/proc/stat":""}}`)}, ""},
		{"stream of empty entries", [][]byte{empties(30000), empties(30000), empties(30000), empties(30000)}, "over 65536 processes"},
		{"many files", [][]byte{files(procAnswerFiles + 1)}, "over 64 files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, guest := net.Pipe()
			defer host.Close()
			go func() {
				defer guest.Close()
				if _, err := proto.ReadFrame(guest); err != nil {
					return
				}
				for _, f := range tc.frames {
					if proto.WriteFrame(guest, proto.TypeProcData, f) != nil {
						return
					}
				}
			}()
			d, err := gatherProcData(host, &proto.ProcRequest{})
			if tc.err == "" {
				if err != nil || len(d.Procs) != 3 {
					t.Fatalf("answer %v, %v", d, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one with %q", err, tc.err)
			}
		})
	}
}
