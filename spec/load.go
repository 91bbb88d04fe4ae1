package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Load reads the stacks at path, the one entry point for `apply -f`,
// `plan -f` and `watch`:
//
//   - a compose file (compose.yaml, docker-compose.yml and their
//     variants, or a file with compose's top-level version or include)
//     is read by compose-go as `docker compose` would, and gives one
//     stack named after its project;
//   - any other file is a stack file (Parse), one stack per document, and
//     the env files its boxes name are read into their environment;
//   - a directory gives the stacks of every *.yaml and *.yml under it,
//     except that a directory holding a compose file is that compose
//     project alone (its other YAML files are its includes and extends);
//   - "-" reads standard input.
//
// Warnings name what a3s-box reads but does not act on. On error nothing
// is returned: err holds every problem found, each with its file and line
// where known. Two stacks of the same name are an error.
func Load(ctx context.Context, path string) ([]*Stack, []Warning, error) {
	if path == "-" {
		data, err := readBounded("-", os.Stdin)
		if err != nil {
			return nil, nil, err
		}
		return LoadData(ctx, "-", data)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		data, err := readStackFile(path)
		if err != nil {
			return nil, nil, err
		}
		return LoadData(ctx, path, data)
	}
	return loadDir(ctx, path)
}

// LoadData reads stacks from data as if it were the file named name ("-"
// for standard input: relative paths are then relative to the working
// directory). See Load.
func LoadData(ctx context.Context, name string, data []byte) ([]*Stack, []Warning, error) {
	if len(data) > MaxStackFile {
		return nil, nil, tooLarge(name, int64(len(data)))
	}
	if IsCompose(name, data) {
		s, warnings, err := loadCompose(ctx, name, data)
		if err != nil {
			return nil, warnings, err
		}
		return []*Stack{s}, warnings, nil
	}
	stacks, err := Parse(name, data)
	if err != nil {
		return nil, nil, err
	}
	if err := readEnvFiles(stacks); err != nil {
		return nil, nil, err
	}
	return stacks, nil, nil
}

var composeName = regexp.MustCompile(`^(docker-)?compose(\.[^.]+)*\.ya?ml$`)

// composeKeys are top-level keys only a compose file has.
var composeKeys = []string{"version", "include", "secrets", "configs", "models", "jobs"}

// IsCompose reports whether Load reads the file named name with content
// data as a compose file: by its name (compose.yaml, docker-compose.yml,
// compose.override.yaml...) or, for other names, by a top-level key only
// compose has (version, include, secrets, configs).
func IsCompose(name string, data []byte) bool {
	if composeName.MatchString(filepath.Base(name)) {
		return true
	}
	var top map[string]yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&top); err != nil {
		return false
	}
	for _, k := range composeKeys {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}

// composeDefaultNames are the files `docker compose` looks for in a
// directory, in its order of preference, and the override files it adds.
var (
	composeDefaultNames  = []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}
	composeOverrideNames = []string{"compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"}
)

// loadDir loads every stack under dir (see Load).
func loadDir(ctx context.Context, dir string) ([]*Stack, []Warning, error) {
	var (
		stacks   []*Stack
		warnings []Warning
		p        problems
	)
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path != dir && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.IsDir() {
			if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
				return nil
			}
			data, err := readStackFile(path)
			if err != nil {
				return err
			}
			got, w, err := LoadData(ctx, path, data)
			warnings = append(warnings, w...)
			p.addErr(err)
			stacks = append(stacks, got...)
			return nil
		}
		main := firstExisting(path, composeDefaultNames)
		if main == "" {
			return nil
		}
		s, w, err := loadComposeFiles(ctx, append([]string{main}, overrideFile(path)...), nil)
		warnings = append(warnings, w...)
		p.addErr(err)
		if s != nil {
			stacks = append(stacks, s)
		}
		return filepath.SkipDir
	})
	if err != nil {
		return nil, warnings, err
	}
	checkUniqueNames(stacks, &p)
	if err := p.err(); err != nil {
		return nil, warnings, err
	}
	return stacks, warnings, nil
}

func firstExisting(dir string, names []string) string {
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && !fi.IsDir() {
			return filepath.Join(dir, n)
		}
	}
	return ""
}

func overrideFile(dir string) []string {
	if f := firstExisting(dir, composeOverrideNames); f != "" {
		return []string{f}
	}
	return nil
}

// checkUniqueNames reports two stacks of one name from different files.
func checkUniqueNames(stacks []*Stack, p *problems) {
	first := map[string]*Stack{}
	for _, s := range stacks {
		if f, dup := first[s.Name]; dup {
			p.add(s.File, s.pos.line("name"), "", "stack %q is already defined in %s", s.Name, f.File)
			continue
		}
		first[s.Name] = s
	}
}

// readEnvFiles reads the env files of a stack file's boxes into their
// environment: the files' variables first, in order, then the box's own,
// a later value of a name replacing an earlier one in its place.
func readEnvFiles(stacks []*Stack) error {
	var p problems
	for _, s := range stacks {
		for _, name := range s.BoxNames() {
			refs := s.envFiles[name]
			if len(refs) == 0 {
				continue
			}
			var env []string
			for _, r := range refs {
				kvs, err := ReadEnvFile(r.path)
				if errors.Is(err, fs.ErrNotExist) && !r.required {
					continue
				}
				if err != nil {
					w := s.pos.written(r.field)
					if errors.Is(err, fs.ErrNotExist) {
						err = fmt.Errorf("env file %s does not exist", r.path)
					}
					p.add(s.File, s.pos.line(w), w, "%v", err)
					continue
				}
				env = append(env, kvs...)
			}
			b := s.Boxes[name]
			b.Env = MergeEnv(env, b.Env)
			s.Boxes[name] = b
		}
	}
	return p.err()
}

// MergeEnv merges lists of NAME=VALUE into one with one entry per name:
// a later list's value replaces an earlier one's, in the earlier one's
// place, so an image's variables keep their order under a box's.
func MergeEnv(lists ...[]string) []string {
	index := map[string]int{}
	var out []string
	for _, list := range lists {
		for _, kv := range list {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := index[k]; ok {
				out[i] = kv
				continue
			}
			index[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
