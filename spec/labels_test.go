package spec

import (
	"reflect"
	"testing"
)

func TestUserLabels(t *testing.T) {
	tests := []struct {
		in, want map[string]string
	}{
		{nil, nil},
		{map[string]string{"tier": "web"}, map[string]string{"tier": "web"}},
		{map[string]string{"a3s-box.stack": "_boxes", "a3s-box.box": "web", "a3s-box.config-hash": "abc", "tier": "web",
			"com.docker.compose.project": "shop", "a3s-boxes": "kept"},
			map[string]string{"tier": "web", "com.docker.compose.project": "shop", "a3s-boxes": "kept"}},
		{map[string]string{"a3s-box.stack": "st"}, map[string]string{}},
	}
	for _, tt := range tests {
		in := map[string]string{}
		for k, v := range tt.in {
			in[k] = v
		}
		if got := UserLabels(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("UserLabels(%v) = %v, want %v", tt.in, got, tt.want)
		}
		if tt.in != nil && !reflect.DeepEqual(in, tt.in) {
			t.Errorf("UserLabels changed its argument: %v", tt.in)
		}
	}
}
