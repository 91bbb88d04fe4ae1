package host

import (
	"os"
	"testing"
)

func TestParseStartTime(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 42 1000 10", 42, false},
		{"7 (a) b) (c) R 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 99 1000 10", 99, false},
		{"no paren", 0, true},
		{"1 (x) S 0", 0, true},
	}
	for _, tt := range tests {
		got, err := parseStartTime(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseStartTime(%q) = %d, %v", tt.in, got, err)
		}
	}
	if st, err := ProcStartTime(os.Getpid()); err != nil || st == 0 {
		t.Fatalf("own start time: %d, %v", st, err)
	}
}
