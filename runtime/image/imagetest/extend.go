package imagetest

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Extend is base with one more layer of entries and the config cfg (a
// zero Env or Cmd keeps base's).
func Extend(base v1.Image, cfg v1.Config, entries ...Entry) (v1.Image, error) {
	layers, err := base.Layers()
	if err != nil {
		return nil, fmt.Errorf("extend image: %w", err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("extend image: %w", err)
	}
	if cfg.Env == nil {
		cfg.Env = cf.Config.Env
	}
	if cfg.Cmd == nil {
		cfg.Cmd = cf.Config.Cmd
	}
	l, err := Layer(entries)
	if err != nil {
		return nil, fmt.Errorf("extend image: %w", err)
	}
	return Image(cfg, append(layers, l)...)
}
