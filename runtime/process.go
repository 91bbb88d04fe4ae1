package runtime

import (
	"errors"
	"fmt"
	"path"

	"github.com/a3s-box/a3s-box/guestinit/proto"
	"github.com/a3s-box/a3s-box/spec"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrNoCommand is Docker's "No command specified".
var ErrNoCommand = errors.New("no command specified")

// MainProcess combines a box's settings with its image's config by
// Docker's rules: --entrypoint replaces the image's ENTRYPOINT and drops
// its CMD; a command replaces CMD; environment variables are merged by key,
// the box's winning; HOSTNAME is set to the box's hostname.
func MainProcess(b *spec.Box, img *v1.Config, hostname string) (*proto.Exec, error) {
	var entrypoint, cmd []string
	if img != nil {
		entrypoint, cmd = img.Entrypoint, img.Cmd
	}
	if b.Entrypoint != nil {
		entrypoint, cmd = b.Entrypoint, nil
	}
	if len(b.Command) > 0 {
		cmd = b.Command
	}
	args := append(append([]string(nil), entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, ErrNoCommand
	}
	ex := &proto.Exec{Args: args, Main: true, Tty: b.Tty}
	var imgEnv []string
	if img != nil {
		imgEnv = img.Env
		ex.Dir, ex.User = img.WorkingDir, img.User
	}
	ex.Env = spec.MergeEnv([]string{"HOSTNAME=" + hostname}, imgEnv, b.Env)
	if b.WorkingDir != "" {
		if !path.IsAbs(b.WorkingDir) {
			return nil, fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", b.WorkingDir)
		}
		ex.Dir = b.WorkingDir
	}
	if b.User != "" {
		ex.User = b.User
	}
	return ex, nil
}
