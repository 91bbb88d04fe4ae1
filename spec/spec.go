// Package spec holds a3s-box's domain types: what a user asks for, before
// any of it touches a VM. It imports nothing else of a3s-box, so every
// other package can share these types.
//
// A Box is one box; a Stack is a named set of boxes with the volumes and
// networks they share, read from a stack file (Parse) or a compose file
// (Load). The file format keeps compose's field names and accepts compose's
// alternative spellings; its JSON form (MarshalJSON of these types) is the
// canonical one a3s-box keeps on disk.
package spec

// Box is the desired configuration of one box: the same whether it comes
// from a stack file or from `a3s-box run` flags. Field names in JSON and
// YAML follow compose's spelling, so a compose user reads a stack file
// without a manual.
type Box struct {
	Name  string `json:"name,omitempty"`
	Image string `json:"image"`
	// Entrypoint overrides the image's ENTRYPOINT when non-nil; an empty
	// slice clears it (Docker's --entrypoint ""). Not omitempty: an empty
	// slice must survive a round trip through JSON.
	Entrypoint []string `json:"entrypoint"`
	// Command overrides the image's CMD when non-empty.
	Command []string `json:"command,omitempty"`
	Env     []string `json:"environment,omitempty"` // KEY=VALUE, applied over the image's
	// EnvFile lists the env files a stack named for this box, as written.
	// Loading a stack reads them into Env (ahead of the variables written
	// in the stack itself), so consumers of a loaded Box use Env alone.
	EnvFile    []string `json:"env_file,omitempty"`
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

	// Ports are published on the host, one entry per port (a range in a
	// file becomes one entry per port).
	Ports []Port `json:"ports,omitempty"`
	// Volumes are the named volumes and bind mounts, in file order.
	Volumes []Mount `json:"volumes,omitempty"`
	Tmpfs   []Tmpfs `json:"tmpfs,omitempty"`
	// Networks the box joins; none means the stack's default network.
	Networks  []NetworkAttachment `json:"networks,omitempty"`
	DependsOn []Dependency        `json:"depends_on,omitempty"`
	// DNS servers for the box's /etc/resolv.conf, as IP addresses.
	DNS []string `json:"dns,omitempty"`
	// ExtraHosts are added to the box's /etc/hosts, each "HOST:IP" as
	// Docker's --add-host writes it.
	ExtraHosts []string `json:"extra_hosts,omitempty"`
	// Init runs a minimal init that forwards signals and reaps zombies as
	// the parent of the main process (Docker's --init).
	Init bool `json:"init,omitempty"`
	// The settings below are the box's process and kernel settings of
	// docker run (the guest applies them: the box has a kernel of its
	// own) and the host resources Docker records; see runopts.go.
	RunOptions
	// Replicas is how many boxes of this configuration a stack runs
	// (compose's scale and deploy.replicas), named <stack>-<box>-1..N;
	// nil means one. It is not part of a box's config hash: scaling
	// neither recreates nor restarts the replicas that stay.
	Replicas *int `json:"replicas,omitempty"`
}

// Scale is the number of replicas b asks for: Replicas, or 1.
func (b Box) Scale() int {
	if b.Replicas == nil {
		return 1
	}
	return *b.Replicas
}
