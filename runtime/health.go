package runtime

import (
	"context"
	"time"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/internal/capped"
	"github.com/a3s-box/a3s-box/spec"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// healthLogKeep is how many results a box keeps, as Docker does.
const healthLogKeep = 5

// healthOutputMax bounds the output kept per result.
const healthOutputMax = 4096

// Health is a box's health in Docker's inspect shape.
type Health struct {
	Status        string         `json:"Status"`
	FailingStreak int            `json:"FailingStreak"`
	Log           []HealthResult `json:"Log"`
}

// HealthResult is one run of the health command.
type HealthResult struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// effectiveHealthcheck applies the box's health check settings over the
// image's HEALTHCHECK; nil means the box has none.
func effectiveHealthcheck(box *spec.Healthcheck, img *v1.HealthConfig) *spec.Healthcheck {
	var h spec.Healthcheck
	if img != nil {
		h = spec.Healthcheck{
			Test: img.Test, Interval: spec.Duration(img.Interval), Timeout: spec.Duration(img.Timeout),
			StartPeriod: spec.Duration(img.StartPeriod), Retries: img.Retries,
		}
	}
	if box != nil {
		if box.Disable {
			return nil
		}
		if len(box.Test) > 0 {
			h.Test = box.Test
		}
		for _, f := range []struct{ dst, src *spec.Duration }{
			{&h.Interval, &box.Interval}, {&h.Timeout, &box.Timeout},
			{&h.StartPeriod, &box.StartPeriod}, {&h.StartInterval, &box.StartInterval},
		} {
			if *f.src != 0 {
				*f.dst = *f.src
			}
		}
		if box.Retries != 0 {
			h.Retries = box.Retries
		}
	}
	if len(h.Test) == 0 || h.Test[0] == "NONE" {
		return nil
	}
	if h.Interval == 0 {
		h.Interval = spec.Duration(spec.DefaultHealthInterval)
	}
	if h.Timeout == 0 {
		h.Timeout = spec.Duration(spec.DefaultHealthTimeout)
	}
	if h.StartInterval == 0 {
		h.StartInterval = spec.Duration(spec.DefaultHealthStartInterval)
	}
	if h.Retries == 0 {
		h.Retries = spec.DefaultHealthRetries
	}
	return &h
}

// healthArgs is the command line of a health test.
func healthArgs(test []string) []string {
	switch test[0] {
	case "CMD-SHELL":
		if len(test) > 1 {
			return []string{"/bin/sh", "-c", test[1]}
		}
	case "CMD":
		return test[1:]
	}
	// A bare list, as compose allows, is a CMD.
	return test
}

// checkHealth runs the health command once in the guest, with the main
// process's environment, user and directory.
func checkHealth(ctx context.Context, g *Guest, main *proto.Exec, h *spec.Healthcheck) HealthResult {
	res := HealthResult{Start: time.Now().UTC()}
	ctx, cancel := context.WithTimeout(ctx, h.Timeout.D())
	defer cancel()
	out := capped.New(healthOutputMax)
	ex := &proto.Exec{Args: healthArgs(h.Test), Env: main.Env, Dir: main.Dir, User: main.User,
		Groups: main.Groups, Caps: main.Caps, Rlimits: main.Rlimits, NoNewPrivs: main.NoNewPrivs}
	p, err := g.Exec(ctx, ex, ProcessIO{Stdout: out, Stderr: out})
	if err != nil {
		res.End, res.ExitCode, res.Output = time.Now().UTC(), 1, err.Error()
		return res
	}
	select {
	case <-p.Done():
		exit, err := p.Wait()
		switch {
		case err != nil:
			res.ExitCode, res.Output = 1, err.Error()
		default:
			res.ExitCode, res.Output = exit.Code, out.String()
		}
	case <-ctx.Done():
		go abandon(p) // the result need not wait for it
		res.ExitCode = -1
		res.Output = "Health check exceeded timeout (" + h.Timeout.D().String() + ")"
	}
	res.End = time.Now().UTC()
	return res
}

// healthKillGrace is how long a timed-out health command has to end
// after SIGKILL before the host drops its stream.
const healthKillGrace = 2 * time.Second

// abandon kills timed-out process p and drops its stream: a guest that
// never answers (or a child that holds the output open) must not keep a
// stream and its reader on the host for each interval.
func abandon(p *Process) {
	_ = p.Signal(9)
	select {
	case <-p.Done():
	case <-time.After(healthKillGrace):
		p.Drop()
		<-p.Done()
	}
}

// record adds a result and returns whether the status changed. Failures
// during the start period do not count until the box was healthy once.
func (h *Health) record(r HealthResult, inStartPeriod bool, retries int) bool {
	before := h.Status
	h.Log = append(h.Log, r)
	if len(h.Log) > healthLogKeep {
		h.Log = h.Log[len(h.Log)-healthLogKeep:]
	}
	if r.ExitCode == 0 {
		h.Status, h.FailingStreak = spec.HealthHealthy, 0
		return h.Status != before
	}
	if inStartPeriod && h.Status == spec.HealthStarting {
		return false
	}
	h.FailingStreak++
	if h.FailingStreak >= retries {
		h.Status = spec.HealthUnhealthy
	}
	return h.Status != before
}
