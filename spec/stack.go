package spec

import (
	"fmt"
	"regexp"
	"sort"
)

// Stack is a named set of boxes with the volumes and networks they share:
// the unit that `apply` makes the machine match.
type Stack struct {
	Name string `json:"name"`
	// Boxes by their name within the stack; each Box's Name is its key.
	Boxes    map[string]Box     `json:"boxes"`
	Volumes  map[string]Volume  `json:"volumes,omitempty"`
	Networks map[string]Network `json:"networks,omitempty"`

	// File is the file the stack was read from; empty when built in code.
	File string `json:"-"`
	// pos locates the stack's fields in File, for messages.
	pos positions
	// envFiles are the env files of each box, for Load to read.
	envFiles map[string][]envFileRef
}

// envFileRef is an env file a box of a stack file names.
type envFileRef struct {
	path     string // absolute
	required bool
	field    string // domain path, for messages
}

// Volume is a named volume a stack declares for its boxes.
type Volume struct {
	// Name is the volume's name on the machine; empty means
	// "<stack>_<key>".
	Name string `json:"name,omitempty"`
	// External volumes exist outside the stack: apply neither creates nor
	// removes them.
	External bool              `json:"external,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// Network is a private network a stack declares for its boxes. Every stack
// also has a network named DefaultNetwork, which boxes that name no network
// join.
type Network struct {
	// Name is the network's name on the machine; empty means
	// "<stack>_<key>".
	Name string `json:"name,omitempty"`
	// External networks exist outside the stack.
	External bool `json:"external,omitempty"`
	// Internal networks have no route out of the machine.
	Internal bool              `json:"internal,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// Driver is the network driver; only "bridge" (the default) exists.
	Driver string `json:"driver,omitempty"`
	// Subnet (CIDR) and Gateway are compose's ipam.config; empty means
	// one picked from a3s-box's pool and its first address.
	Subnet  string `json:"subnet,omitempty"`
	Gateway string `json:"gateway,omitempty"`
}

// DefaultNetwork is the network every stack has without declaring it.
const DefaultNetwork = "default"

// NetworkAttachment is one network a box joins, with the extra names other
// boxes on that network reach it by (its box name always works).
type NetworkAttachment struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
	// IPv4Address is a fixed address in the network's subnet; empty means
	// the next free one.
	IPv4Address string `json:"ipv4_address,omitempty"`
}

// BoxNames returns the stack's box names, sorted.
func (s *Stack) BoxNames() []string {
	names := make([]string, 0, len(s.Boxes))
	for n := range s.Boxes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var (
	// Stack names follow compose's project names, so a compose project
	// keeps its name: lower-case letters, digits, '-' and '_', starting
	// with a letter or digit.
	stackNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	// Box, volume and network names follow Docker's container names.
	objectNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
)

// CheckStackName reports whether name can name a stack (it also names the
// stack's file in the desired-state store).
func CheckStackName(name string) error {
	if len(name) > 63 || !stackNameRE.MatchString(name) {
		return fmt.Errorf("invalid stack name %q: want at most 63 lower-case letters, digits, '-' or '_', starting with a letter or digit", name)
	}
	return nil
}

// CheckName reports whether name can name a box, volume or network.
func CheckName(kind, name string) error {
	if len(name) > 63 || !objectNameRE.MatchString(name) {
		return fmt.Errorf("invalid %s name %q: want at most 63 letters, digits, '_', '.' or '-', starting with a letter or digit", kind, name)
	}
	return nil
}
