package main

import (
	"context"
	"fmt"
	"time"

	"github.com/a3s-box/a3s-box/engine"
	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
)

func init() {
	register(&verb{name: "inspect", summary: "Return low-level information on boxes", errCode: 1, run: inspectVerb})
}

// inspectJSON is a box in Docker's inspect shape.
type inspectJSON struct {
	ID              string            `json:"Id"`
	Created         string            `json:"Created"`
	Path            string            `json:"Path"`
	Args            []string          `json:"Args"`
	State           inspectState      `json:"State"`
	Image           string            `json:"Image"`
	LogPath         string            `json:"LogPath"`
	Name            string            `json:"Name"`
	RestartCount    int               `json:"RestartCount"`
	Driver          string            `json:"Driver"`
	Platform        string            `json:"Platform"`
	HostConfig      inspectHostConfig `json:"HostConfig"`
	Mounts          []inspectMount    `json:"Mounts"`
	Config          inspectConfig     `json:"Config"`
	NetworkSettings inspectNetwork    `json:"NetworkSettings"`
	SizeRw          *int64            `json:"SizeRw,omitempty"`
	SizeRootFs      *int64            `json:"SizeRootFs,omitempty"`
}

type inspectState struct {
	Status     string          `json:"Status"`
	Running    bool            `json:"Running"`
	Paused     bool            `json:"Paused"`
	Restarting bool            `json:"Restarting"`
	OOMKilled  bool            `json:"OOMKilled"`
	Dead       bool            `json:"Dead"`
	Pid        int             `json:"Pid"`
	ExitCode   int             `json:"ExitCode"`
	Error      string          `json:"Error"`
	StartedAt  string          `json:"StartedAt"`
	FinishedAt string          `json:"FinishedAt"`
	Health     *runtime.Health `json:"Health,omitempty"`
}

type inspectHostConfig struct {
	RestartPolicy struct {
		Name              string `json:"Name"`
		MaximumRetryCount int    `json:"MaximumRetryCount"`
	} `json:"RestartPolicy"`
	AutoRemove   bool                     `json:"AutoRemove"`
	NanoCpus     int64                    `json:"NanoCpus"`
	Memory       int64                    `json:"Memory"`
	NetworkMode  string                   `json:"NetworkMode"`
	PortBindings map[string][]inspectPort `json:"PortBindings"`
	DNS          []string                 `json:"Dns"`
	ExtraHosts   []string                 `json:"ExtraHosts"`
	inspectRunHost
}

type inspectConfig struct {
	Hostname    string            `json:"Hostname"`
	User        string            `json:"User"`
	OpenStdin   bool              `json:"OpenStdin"`
	Env         []string          `json:"Env"`
	Cmd         []string          `json:"Cmd"`
	Healthcheck *inspectHealth    `json:"Healthcheck,omitempty"`
	Image       string            `json:"Image"`
	WorkingDir  string            `json:"WorkingDir"`
	Entrypoint  []string          `json:"Entrypoint"`
	Labels      map[string]string `json:"Labels"`
	StopSignal  string            `json:"StopSignal,omitempty"`
	StopTimeout *int              `json:"StopTimeout,omitempty"`
	inspectRunConfig
}

type inspectHealth struct {
	Test          []string      `json:"Test"`
	Interval      time.Duration `json:"Interval,omitempty"`
	Timeout       time.Duration `json:"Timeout,omitempty"`
	StartPeriod   time.Duration `json:"StartPeriod,omitempty"`
	StartInterval time.Duration `json:"StartInterval,omitempty"`
	Retries       int           `json:"Retries,omitempty"`
}

type inspectNetwork struct {
	Ports    map[string][]inspectPort   `json:"Ports"`
	Networks map[string]inspectEndpoint `json:"Networks"`
	// The first network's endpoint, where Docker keeps the default
	// bridge's.
	IPAddress   string `json:"IPAddress"`
	IPPrefixLen int    `json:"IPPrefixLen"`
	Gateway     string `json:"Gateway"`
	MacAddress  string `json:"MacAddress"`
}

// dockerTime is Docker's inspect time: RFC 3339 with nanoseconds, and the
// zero time for never.
func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func newInspect(eng *engine.Engine, b *runtime.Box, size bool) *inspectJSON {
	st := b.State
	j := &inspectJSON{
		ID: b.ID, Created: dockerTime(b.Created), Image: b.ImageID, Name: "/" + b.Name,
		LogPath: eng.LogPath(b), RestartCount: st.RestartCount, Driver: eng.Driver(), Platform: "linux",
		Mounts:          inspectMounts(eng, b),
		NetworkSettings: newInspectNetwork(eng, b),
	}
	if len(b.Main.Args) > 0 {
		j.Path, j.Args = b.Main.Args[0], b.Main.Args[1:]
	}
	j.State = inspectState{
		Status: st.Status, Running: st.Running(), Paused: st.Status == spec.StatusPaused,
		Restarting: st.Status == spec.StatusRestarting, Dead: st.Status == spec.StatusDead,
		Pid: st.PID, ExitCode: st.ExitCode, Error: st.Error,
		StartedAt: dockerTime(st.StartedAt), FinishedAt: dockerTime(st.FinishedAt), Health: st.Health,
	}
	j.HostConfig.RestartPolicy.Name = b.Spec.Restart.String()
	j.HostConfig.RestartPolicy.MaximumRetryCount = b.Spec.Restart.MaxRetries
	j.HostConfig.AutoRemove = b.Spec.AutoRemove
	j.HostConfig.NanoCpus = int64(b.Spec.CPUs * 1e9)
	j.HostConfig.Memory = b.Spec.Memory
	j.HostConfig.NetworkMode, j.HostConfig.PortBindings = networkMode(b), portBindings(b)
	j.HostConfig.DNS, j.HostConfig.ExtraHosts = orEmpty(b.Spec.DNS), orEmpty(b.Spec.ExtraHosts)
	j.Config = inspectConfig{
		Hostname: b.Hostname, User: b.Main.User, OpenStdin: b.Spec.Interactive, Env: b.Main.Env,
		Cmd: b.Spec.Command, Image: b.Spec.Image, WorkingDir: b.Main.Dir, Entrypoint: b.Spec.Entrypoint,
		Labels: spec.UserLabels(b.Spec.Labels), StopSignal: b.StopSignal,
	}
	j.HostConfig.inspectRunHost, j.Config.inspectRunConfig = newInspectRun(&b.Spec.RunOptions)
	if j.Config.Labels == nil {
		j.Config.Labels = map[string]string{}
	}
	if b.Spec.StopGracePeriod != nil {
		t := int(b.Spec.StopGracePeriod.D() / time.Second)
		j.Config.StopTimeout = &t
	}
	if h := b.Health; h != nil {
		j.Config.Healthcheck = &inspectHealth{
			Test: h.Test, Interval: h.Interval.D(), Timeout: h.Timeout.D(),
			StartPeriod: h.StartPeriod.D(), StartInterval: h.StartInterval.D(), Retries: h.Retries,
		}
	}
	if size {
		rw, virt := eng.BoxSize(b)
		j.SizeRw, j.SizeRootFs = &rw, &virt
	}
	return j
}

func inspectVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("inspect", "inspect [OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on boxes")
	format := fs.StringP("format", "f", "", "Format output using a custom template")
	kind := fs.String("type", "", "Only inspect objects of the given type (container)")
	size := fs.BoolP("size", "s", false, "Display total file sizes")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := needArgs(fs, "inspect", 1); err != nil {
		return err
	}
	if *kind != "" && *kind != "container" && *kind != "box" {
		return fmt.Errorf("%q is not a valid value for --type: this verb inspects boxes (container); use 'a3s-box image inspect' for images", *kind)
	}
	show, err := inspectPrinter(c.stdout, *format)
	if err != nil {
		return err
	}
	eng, err := c.engine(ctx)
	if err != nil {
		return err
	}
	var objs []any
	boxes, failed := c.lookupBoxes(eng, fs.Args())
	for _, b := range boxes {
		objs = append(objs, newInspect(eng, b, *size))
	}
	if err := show(objs); err != nil {
		return err
	}
	if failed {
		return errPrinted
	}
	return nil
}
