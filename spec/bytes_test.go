package spec

import "testing"

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"512", 512, false},
		{"512b", 512, false},
		{"64k", 64 << 10, false},
		{"512m", 512 << 20, false},
		{"512M", 512 << 20, false},
		{"1g", 1 << 30, false},
		{"1GB", 1 << 30, false},
		{"1GiB", 1 << 30, false},
		{"1.5g", 3 << 29, false},
		{"", 0, true},
		{"m", 0, true},
		{"-1m", 0, true},
		{"ten", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
