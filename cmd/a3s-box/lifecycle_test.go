package main

import (
	"io"
	"strings"
	"testing"
)

// TestStopTimeoutSpellings: -t, --timeout (Docker 28's) and --time name
// one grace period; none leaves the box's own.
func TestStopTimeoutSpellings(t *testing.T) {
	tests := []struct {
		args    []string
		timeout int // -2: the box's own
		err     string
	}{
		{[]string{"b"}, -2, ""},
		{[]string{"-t", "3", "b"}, 3, ""},
		{[]string{"--timeout", "4", "b"}, 4, ""},
		{[]string{"--timeout=-1", "b"}, -1, ""},
		{[]string{"--time", "5", "b"}, 5, ""},
		{[]string{"--time", "5", "--timeout", "6", "b"}, 0, "conflicting options: --time and --timeout"},
		{[]string{"--timeout", "-5", "b"}, 0, "invalid value for --timeout: -5"},
	}
	for _, name := range []string{"stop", "restart"} {
		for _, tt := range tests {
			c := &cli{stdout: io.Discard, stderr: io.Discard}
			o := newStopOpts(c, name, name+" BOX", "")
			err := o.parse(c, tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("%s %v: %v, want %q", name, tt.args, err, tt.err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %v: %v", name, tt.args, err)
				continue
			}
			so := o.options()
			got := -2
			if so.Timeout != nil {
				got = *so.Timeout
			}
			if got != tt.timeout {
				t.Errorf("%s %v: timeout %d, want %d", name, tt.args, got, tt.timeout)
			}
		}
	}
}
