package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/a3s-box/a3s-box/spec"
)

// hashVersion changes when what ConfigHash covers changes, so that boxes
// made by an older a3s-box are recreated rather than compared wrongly.
const hashVersion = 1

// ConfigHash returns the hash of what box name of stack s was made from:
// its Box (less its name, its depends_on, which only orders starts, its
// env_file list, whose variables are in its environment, and its replica
// count, which says how many such boxes run, not what they are), and the
// declarations of the volumes and networks it uses. Two boxes with the
// same hash need not be recreated to match each other.
func ConfigHash(s *spec.Stack, name string) string {
	b := s.Boxes[name]
	// JSON leaves out empty lists and maps, so a Box built in code and one
	// read back from disk hash alike; only Entrypoint tells nil (the
	// image's) from empty (cleared).
	b.Name, b.DependsOn, b.EnvFile, b.Replicas = "", nil, nil, nil
	h := struct {
		V        int                     `json:"v"`
		Box      spec.Box                `json:"box"`
		Volumes  map[string]spec.Volume  `json:"volumes,omitempty"`
		Networks map[string]spec.Network `json:"networks,omitempty"`
	}{V: hashVersion, Box: b}
	for _, m := range b.Volumes {
		if m.Type == spec.MountVolume && m.Source != "" {
			if h.Volumes == nil {
				h.Volumes = map[string]spec.Volume{}
			}
			h.Volumes[m.Source] = s.Volumes[m.Source]
		}
	}
	nets := b.Networks
	if len(nets) == 0 {
		nets = []spec.NetworkAttachment{{Name: spec.DefaultNetwork}}
	}
	for _, n := range nets {
		if h.Networks == nil {
			h.Networks = map[string]spec.Network{}
		}
		h.Networks[n.Name] = s.Networks[n.Name]
	}
	data, err := json.Marshal(h)
	if err != nil {
		panic(err) // spec's types always encode
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
