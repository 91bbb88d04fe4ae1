package spec

import (
	"context"
	"errors"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// ComposeOptions are the project options of `a3s-box compose`, taken as
// `docker compose` takes them and resolved by compose-go's own logic.
type ComposeOptions struct {
	// Files are the compose files (-f), the first being the main one.
	// None means COMPOSE_FILE, else compose.yaml, compose.yml,
	// docker-compose.yml or docker-compose.yaml (with its override file)
	// in the project directory or the nearest parent that has one.
	Files []string
	// Name is the project's name (-p). Empty means COMPOSE_PROJECT_NAME,
	// else the files' name:, else the project directory's name.
	Name string
	// Profiles are the active profiles (--profile); none means
	// COMPOSE_PROFILES.
	Profiles []string
	// EnvFiles are read for interpolation (--env-file); none means the
	// project directory's .env.
	EnvFiles []string
	// WorkingDir is the project directory (--project-directory); empty
	// means the main file's directory.
	WorkingDir string
}

// ComposeProject is a compose project as loaded: the stack it becomes and
// compose's own model of it.
type ComposeProject struct {
	Stack *Stack
	// Model is the resolved compose model, as `docker compose config`
	// prints it.
	Model *types.Project
	// Files are the compose files read, absolute.
	Files    []string
	Warnings []Warning
}

// ErrNoComposeFile is a project whose files were not given and were not
// found.
var ErrNoComposeFile = errors.New("no configuration file provided: not found")

// LoadCompose loads the compose project o names. Errors name the file and
// line where they can; with an error nothing is returned.
func LoadCompose(ctx context.Context, o ComposeOptions) (*ComposeProject, error) {
	l := &composeLoad{}
	var files []string
	model, s, err := l.run(func(checks []func(*loader.Options)) (*types.Project, error) {
		po, err := cli.NewProjectOptions(o.Files,
			cli.WithWorkingDirectory(o.WorkingDir),
			cli.WithOsEnv,
			cli.WithConfigFileEnv,
			cli.WithDefaultConfigPath,
			cli.WithEnvFiles(o.EnvFiles...),
			cli.WithDotEnv,
			cli.WithDefaultProfiles(o.Profiles...),
			cli.WithName(o.Name),
			cli.WithResolvedPaths(true),
			cli.WithLoadOptions(checks...),
		)
		if err != nil {
			return nil, err
		}
		if len(po.ConfigPaths) == 0 {
			return nil, ErrNoComposeFile
		}
		files = po.ConfigPaths
		// Messages are placed on the main file's lines.
		l.main = files[0]
		if data, err := os.ReadFile(l.main); err == nil {
			l.lines = lineIndex(data)
		}
		for _, f := range files {
			l.files = append(l.files, types.ConfigFile{Filename: f})
		}
		return po.LoadProject(ctx)
	})
	if err != nil {
		return nil, err
	}
	return &ComposeProject{Stack: s, Model: model, Files: files, Warnings: l.warnings}, nil
}
