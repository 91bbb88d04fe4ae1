package spec

import (
	"reflect"
	"strings"
	"testing"
)

func lookup(k string) (string, bool) {
	v, ok := map[string]string{"HOSTVAR": "fromhost"}[k]
	return v, ok
}

func TestEnvEntry(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		keep    bool
		wantErr bool
	}{
		{"A=1", "A=1", true, false},
		{"A=", "A=", true, false},
		{"A=b=c", "A=b=c", true, false},
		{"HOSTVAR", "HOSTVAR=fromhost", true, false},
		{"UNSET", "", false, false},
		{"=x", "", false, true},
		{"A B=1", "", false, true},
	}
	for _, tt := range tests {
		got, keep, err := EnvEntry(tt.in, lookup)
		if got != tt.want || keep != tt.keep || (err != nil) != tt.wantErr {
			t.Errorf("EnvEntry(%q) = %q, %v, %v", tt.in, got, keep, err)
		}
	}
}

func TestParseEnvFile(t *testing.T) {
	in := "# comment\n\nA=1\n  B=two words\nHOSTVAR\nUNSET\nQ=\"quoted\"\n"
	got, err := ParseEnvFile("f.env", strings.NewReader(in), lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "B=two words", "HOSTVAR=fromhost", `Q="quoted"`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	_, err = ParseEnvFile("f.env", strings.NewReader("A=1\nBAD KEY=2\n"), lookup)
	if err == nil || !strings.Contains(err.Error(), "f.env:2") {
		t.Fatalf("err = %v, want it to name f.env:2", err)
	}
}
