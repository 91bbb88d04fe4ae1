package main

import "testing"

func TestSplitCpArg(t *testing.T) {
	tests := []struct{ arg, box, path string }{
		{"web:/etc/hosts", "web", "/etc/hosts"},
		{"web:etc", "web", "etc"},
		{"/tmp/a:b", "", "/tmp/a:b"},
		{"./a:b", "", "./a:b"},
		{"file", "", "file"},
		{"-", "", "-"},
		{"abc123:/", "abc123", "/"},
	}
	for _, tt := range tests {
		box, path := splitCpArg(tt.arg)
		if box != tt.box || path != tt.path {
			t.Errorf("splitCpArg(%q) = %q, %q; want %q, %q", tt.arg, box, path, tt.box, tt.path)
		}
	}
}
