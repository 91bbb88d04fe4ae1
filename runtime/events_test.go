package runtime

import (
	"context"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

// TestEmitBoxEvent: a box's event carries its name, image and the
// user's labels, never a3s-box's own, and the extra attributes.
func TestEmitBoxEvent(t *testing.T) {
	r := &Runtime{root: t.TempDir()}
	rec := &BoxRecord{ID: "abc", Name: "web", ImageRef: "img:1", Spec: spec.Box{Labels: map[string]string{
		"tier": "web", "a3s-box.stack": "_boxes", "a3s-box.box": "web", "a3s-box.config-hash": "0123",
	}}}
	r.emit(rec, "kill", signalAttr(syscall.SIGTERM))
	var got []*Event
	if err := r.Events(context.Background(), time.Time{}, time.Time{}, false, func(e *Event) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d events, want 1", len(got))
	}
	e := got[0]
	want := map[string]string{"name": "web", "image": "img:1", "tier": "web", "signal": "15"}
	if e.Type != "container" || e.Action != "kill" || e.Actor.ID != "abc" || !reflect.DeepEqual(e.Actor.Attributes, want) {
		t.Fatalf("event %+v, want a container kill of abc with %v", e, want)
	}
}
