package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/a3s-box/a3s-box/spec"
)

// Event is one state change, in the shape of Docker's events API.
type Event struct {
	Status   string     `json:"status,omitempty"`
	ID       string     `json:"id,omitempty"`
	From     string     `json:"from,omitempty"`
	Type     string     `json:"Type"`
	Action   string     `json:"Action"`
	Actor    EventActor `json:"Actor"`
	Scope    string     `json:"scope"`
	Time     int64      `json:"time"`
	TimeNano int64      `json:"timeNano"`
}

// EventActor is what an event is about.
type EventActor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// When is the event's time.
func (e *Event) When() time.Time { return time.Unix(0, e.TimeNano) }

func (r *Runtime) eventsPath() string { return eventsPath(r.root) }

func eventsPath(root string) string { return filepath.Join(root, "events.jsonl") }

// emit appends a box event to the event log.
func (r *Runtime) emit(rec *BoxRecord, action string, extra map[string]string) {
	attrs := map[string]string{"name": rec.Name, "image": rec.ImageRef}
	for k, v := range spec.UserLabels(rec.Spec.Labels) {
		attrs[k] = v
	}
	for k, v := range extra {
		attrs[k] = v
	}
	e := newEvent("container", rec.ID, action, attrs)
	e.Status, e.ID, e.From = action, rec.ID, rec.ImageRef
	appendEvent(r.root, e)
}

// signalAttr is a kill event's attribute: the signal's number, as
// Docker gives it.
func signalAttr(sig syscall.Signal) map[string]string {
	return map[string]string{"signal": strconv.Itoa(int(sig))}
}

// emitObject appends an event of an object that is not a box (a volume,
// a network): Docker's form, the object's ID as the actor.
func (r *Runtime) emitObject(typ, id, action string, attrs map[string]string) {
	appendEvent(r.root, newEvent(typ, id, action, attrs))
}

// newEvent is an event of now.
func newEvent(typ, actor, action string, attrs map[string]string) *Event {
	now := time.Now()
	return &Event{
		Type: typ, Action: action, Scope: "local",
		Actor: EventActor{ID: actor, Attributes: attrs},
		Time:  now.Unix(), TimeNano: now.UnixNano(),
	}
}

// appendEvent writes one event to root's log. Each event is one write of
// one line to a file opened for appending, so writers in several
// processes never interleave within a line.
func appendEvent(root string, e *Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	f, err := os.OpenFile(eventsPath(root), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	_, _ = f.Write(append(b, '\n'))
	f.Close()
}

// Events calls fn for each event from since on (the zero time means all
// of them). With follow it keeps reading new events until ctx ends or
// until passes; otherwise it stops at the end of the log.
func (r *Runtime) Events(ctx context.Context, since, until time.Time, follow bool, fn func(*Event) error) error {
	f, err := os.OpenFile(r.eventsPath(), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			// A line without its newline is still being written.
			partial = append(partial, line...)
			if !follow || (!until.IsZero() && time.Now().After(until)) {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		line = append(partial, line...)
		partial = nil
		var e Event
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		t := e.When()
		if t.Before(since) {
			continue
		}
		if !until.IsZero() && t.After(until) {
			return nil
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
}
