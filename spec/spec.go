// Package spec holds a3s-box's domain types: what a user asks for, before
// any of it touches a VM. It imports nothing else of a3s-box, so every
// other package can share these types.
package spec

// Box is the desired configuration of one box: the same whether it comes
// from a stack file or from `a3s-box run` flags.
type Box struct {
	Name  string `json:"name,omitempty"`
	Image string `json:"image"`
	// Entrypoint overrides the image's ENTRYPOINT when non-nil; an empty
	// slice clears it (Docker's --entrypoint "").
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Command overrides the image's CMD when non-empty.
	Command    []string `json:"command,omitempty"`
	Env        []string `json:"env,omitempty"` // KEY=VALUE, applied over the image's
	WorkingDir string   `json:"workingDir,omitempty"`
	User       string   `json:"user,omitempty"`
	Hostname   string   `json:"hostname,omitempty"`
	// CPUs is the number of virtual CPUs; 0 means the default.
	CPUs float64 `json:"cpus,omitempty"`
	// Memory is the guest's memory in bytes; 0 means the default.
	Memory     int64 `json:"memory,omitempty"`
	AutoRemove bool  `json:"autoRemove,omitempty"`
}
