package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/a3s-box/a3s-box/runtime"
	"github.com/a3s-box/a3s-box/spec"
	"github.com/spf13/pflag"
)

// boxFlags are the flags run and create share: everything that makes a
// spec.Box.
type boxFlags struct {
	b              spec.Box
	envs, envFiles []string
	labels         []string
	entrypoint     string
	memory         string
	restart        string
	stopTimeout    int
	health         spec.Healthcheck
	healthCmd      string
	noHealthcheck  bool
	mounts         *mountFlags
	net            netFlags
	run            runOptFlags
}

func addBoxFlags(fs *pflag.FlagSet) *boxFlags {
	f := &boxFlags{}
	fs.SetInterspersed(false)
	fs.StringArrayVarP(&f.envs, "env", "e", nil, "Set environment variables")
	fs.StringArrayVar(&f.envFiles, "env-file", nil, "Read in a file of environment variables")
	fs.StringArrayVarP(&f.labels, "label", "l", nil, "Set meta data on a box")
	fs.StringVar(&f.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fs.StringVarP(&f.memory, "memory", "m", "", "Memory of the box's VM (e.g. 512m, 1g)")
	fs.BoolVar(&f.b.AutoRemove, "rm", false, "Automatically remove the box when it exits")
	fs.BoolVarP(&f.b.Interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVarP(&f.b.Tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.StringVarP(&f.b.WorkingDir, "workdir", "w", "", "Working directory inside the box")
	fs.StringVarP(&f.b.User, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fs.Float64Var(&f.b.CPUs, "cpus", 0, fmt.Sprintf("Number of virtual CPUs (default %d)", runtime.DefaultCPUs))
	fs.StringVar(&f.b.Name, "name", "", "Assign a name to the box")
	fs.StringVarP(&f.b.Hostname, "hostname", "h", "", "Box host name")
	fs.StringVar(&f.restart, "restart", "no", "Restart policy to apply when a box exits")
	fs.StringVar(&f.b.StopSignal, "stop-signal", "", "Signal to stop the box")
	fs.IntVar(&f.stopTimeout, "stop-timeout", runtime.DefaultStopTimeout, "Timeout (in seconds) to stop a box")
	fs.StringVar(&f.healthCmd, "health-cmd", "", "Command to run to check health")
	fs.DurationVar((*time.Duration)(&f.health.Interval), "health-interval", 0, "Time between running the check (ms|s|m|h) (default 30s)")
	fs.DurationVar((*time.Duration)(&f.health.Timeout), "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 30s)")
	fs.DurationVar((*time.Duration)(&f.health.StartPeriod), "health-start-period", 0, "Start period for the box to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	fs.DurationVar((*time.Duration)(&f.health.StartInterval), "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h) (default 5s)")
	fs.IntVar(&f.health.Retries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fs.BoolVar(&f.noHealthcheck, "no-healthcheck", false, "Disable any box-specified HEALTHCHECK")
	f.mounts = addMountFlags(fs)
	f.net.add(fs)
	f.run.add(fs)
	return f
}

// box builds the spec from the parsed flags and the IMAGE [COMMAND...]
// arguments.
func (f *boxFlags) box(fs *pflag.FlagSet) (*spec.Box, error) {
	b := f.b
	if fs.NArg() < 1 {
		return nil, fmt.Errorf("'a3s-box %s' requires at least 1 argument.\nSee 'a3s-box %s --help'.", fs.Name(), fs.Name())
	}
	b.Image, b.Command = fs.Arg(0), fs.Args()[1:]
	if fs.Changed("entrypoint") {
		b.Entrypoint = []string{}
		if f.entrypoint != "" {
			b.Entrypoint = []string{f.entrypoint}
		}
	}
	if f.memory != "" {
		n, err := spec.ParseBytes(f.memory)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %v", f.memory, err)
		}
		if err := spec.CheckMemory(n); err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %v", f.memory, err)
		}
		b.Memory = n
	}
	if err := spec.CheckCPUs(b.CPUs); err != nil {
		return nil, fmt.Errorf("invalid argument \"%v\" for \"--cpus\" flag: %v", b.CPUs, err)
	}
	for _, file := range f.envFiles {
		kvs, err := spec.ReadEnvFile(file)
		if err != nil {
			return nil, err
		}
		b.Env = append(b.Env, kvs...)
	}
	for _, e := range f.envs {
		kv, ok, err := spec.EnvEntry(e, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		if ok {
			b.Env = append(b.Env, kv)
		}
	}
	for _, l := range f.labels {
		if b.Labels == nil {
			b.Labels = map[string]string{}
		}
		k, v, _ := strings.Cut(l, "=")
		b.Labels[k] = v
	}
	p, err := spec.ParseRestartPolicy(f.restart)
	if err != nil {
		return nil, err
	}
	b.Restart = p
	if b.AutoRemove && !p.IsZero() {
		return nil, errors.New("conflicting options: cannot specify both --restart and --rm")
	}
	if fs.Changed("stop-timeout") {
		if f.stopTimeout < -1 {
			return nil, fmt.Errorf("invalid --stop-timeout %d: must be -1 (wait for ever) or more", f.stopTimeout)
		}
		d := spec.Duration(time.Duration(f.stopTimeout) * time.Second)
		b.StopGracePeriod = &d
	}
	if b.StopSignal != "" {
		if _, err := runtime.ParseSignal(b.StopSignal); err != nil {
			return nil, fmt.Errorf("invalid --stop-signal: %v", err)
		}
	}
	if err := f.healthcheck(fs, &b); err != nil {
		return nil, err
	}
	if err := f.mounts.apply(&b); err != nil {
		return nil, err
	}
	if err := f.net.apply(&b); err != nil {
		return nil, err
	}
	if err := f.run.apply(fs, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

func (f *boxFlags) healthcheck(fs *pflag.FlagSet, b *spec.Box) error {
	h := f.health
	changed := false
	for _, n := range []string{"health-cmd", "health-interval", "health-timeout", "health-start-period", "health-start-interval", "health-retries"} {
		changed = changed || fs.Changed(n)
	}
	if f.noHealthcheck {
		if changed {
			return errors.New("--no-healthcheck conflicts with --health-* options")
		}
		b.Healthcheck = &spec.Healthcheck{Disable: true}
		return nil
	}
	if !changed {
		return nil
	}
	for _, d := range []struct {
		name string
		v    spec.Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start-period", h.StartPeriod}, {"start-interval", h.StartInterval}} {
		if d.v < 0 || (d.v != 0 && d.v.D() < time.Millisecond) {
			return fmt.Errorf("invalid --health-%s %s: must be at least 1ms", d.name, d.v.D())
		}
	}
	if h.Retries < 0 {
		return errors.New("--health-retries cannot be negative")
	}
	if f.healthCmd != "" {
		h.Test = []string{"CMD-SHELL", f.healthCmd}
	}
	b.Healthcheck = &h
	return nil
}
