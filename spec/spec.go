// Package spec holds a3s-box's domain types: what a user asks for, before
// any of it touches a VM. It imports nothing else of a3s-box, so every
// other package can share these types.
package spec

// Box is the desired configuration of one box: the same whether it comes
// from a stack file or from `a3s-box run` flags. Field names in JSON and
// YAML follow compose's spelling, so a compose user reads a stack file
// without a manual.
type Box struct {
	Name  string `json:"name,omitempty"`
	Image string `json:"image"`
	// Entrypoint overrides the image's ENTRYPOINT when non-nil; an empty
	// slice clears it (Docker's --entrypoint "").
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Command overrides the image's CMD when non-empty.
	Command    []string `json:"command,omitempty"`
	Env        []string `json:"environment,omitempty"` // KEY=VALUE, applied over the image's
	WorkingDir string   `json:"working_dir,omitempty"`
	User       string   `json:"user,omitempty"`
	Hostname   string   `json:"hostname,omitempty"`
	// CPUs is the number of virtual CPUs; 0 means the default.
	CPUs float64 `json:"cpus,omitempty"`
	// Memory is the guest's memory in bytes; 0 means the default.
	Memory     int64 `json:"mem_limit,omitempty"`
	AutoRemove bool  `json:"auto_remove,omitempty"`
	// Interactive keeps the main process's stdin open for attach
	// (docker run -i).
	Interactive bool `json:"stdin_open,omitempty"`
	// Tty gives the main process a pseudo-terminal (docker run -t).
	Tty     bool              `json:"tty,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Restart RestartPolicy     `json:"restart,omitempty"`
	// Healthcheck overrides the image's HEALTHCHECK when non-nil.
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
	// StopSignal overrides the image's STOPSIGNAL; Docker's default is
	// SIGTERM.
	StopSignal string `json:"stop_signal,omitempty"`
	// StopGracePeriod is how long stop waits before SIGKILL; nil means
	// Docker's 10 seconds.
	StopGracePeriod *Duration `json:"stop_grace_period,omitempty"`
}
