package capped

import "testing"

func TestBufferKeepsTheFirstBytes(t *testing.T) {
	for _, tc := range []struct {
		max    int
		writes []string
		want   string
	}{
		{4, []string{"ab", "cd", "ef"}, "abcd"},
		{4, []string{"abcdef"}, "abcd"},
		{10, []string{"ab", "cd"}, "abcd"},
		{0, []string{"ab"}, ""},
	} {
		b := New(tc.max)
		for _, w := range tc.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v; want every byte taken", w, n, err)
			}
		}
		if got := b.String(); got != tc.want {
			t.Errorf("max %d, writes %q: kept %q, want %q", tc.max, tc.writes, got, tc.want)
		}
	}
}
