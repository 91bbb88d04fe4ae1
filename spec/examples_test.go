package spec

import (
	"context"
	"testing"
)

func TestExamplesLoad(t *testing.T) {
	stacks, warnings, err := Load(context.Background(), "../examples/stacks")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Logf("warning: %s", w)
	}
	names := map[string]*Stack{}
	for _, s := range stacks {
		names[s.Name] = s
	}
	for _, want := range []string{"web", "app", "hello-compose"} {
		if names[want] == nil {
			t.Errorf("examples/stacks gave no stack %q (got %d stacks)", want, len(stacks))
		}
	}
}
