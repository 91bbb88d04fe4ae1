package image

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ApplyChanges applies Dockerfile instructions (`import -c`, `commit -c`)
// to cfg: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER,
// VOLUME and WORKDIR, as Docker's import and commit do.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	for _, c := range changes {
		if err := applyChange(cfg, c); err != nil {
			return fmt.Errorf("change %q: %w", c, err)
		}
	}
	return nil
}

func applyChange(cfg *v1.Config, change string) error {
	instr, rest, _ := strings.Cut(strings.TrimSpace(change), " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToUpper(instr) {
	case "CMD":
		cfg.Cmd = commandForm(rest)
	case "ENTRYPOINT":
		cfg.Entrypoint = commandForm(rest)
	case "ENV":
		kvs, err := keyValues(rest, true)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			cfg.Env = setEnv(cfg.Env, kv[0], kv[1])
		}
	case "LABEL":
		kvs, err := keyValues(rest, false)
		if err != nil {
			return err
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range kvs {
			cfg.Labels[kv[0]] = kv[1]
		}
	case "EXPOSE":
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range strings.Fields(rest) {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cfg.ExposedPorts[p] = struct{}{}
		}
	case "VOLUME":
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		var vs []string
		if json.Unmarshal([]byte(rest), &vs) != nil {
			vs = strings.Fields(rest)
		}
		for _, v := range vs {
			cfg.Volumes[v] = struct{}{}
		}
	case "USER":
		cfg.User = rest
	case "WORKDIR":
		cfg.WorkingDir = rest
	case "STOPSIGNAL":
		cfg.StopSignal = rest
	case "ONBUILD":
		trigger, _, _ := strings.Cut(rest, " ")
		switch strings.ToUpper(trigger) {
		case "ONBUILD", "FROM", "MAINTAINER":
			return fmt.Errorf("%s isn't allowed as an ONBUILD trigger", strings.ToUpper(trigger))
		}
		if rest != "" {
			cfg.OnBuild = append(cfg.OnBuild, rest)
		}
	default:
		return fmt.Errorf("%s is not a supported instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)", instr)
	}
	if rest == "" {
		return fmt.Errorf("%s needs an argument", strings.ToUpper(instr))
	}
	return nil
}

// commandForm is the exec form (a JSON array) or the shell form, run by
// /bin/sh -c.
func commandForm(s string) []string {
	var argv []string
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &argv) == nil {
		return argv
	}
	return []string{"/bin/sh", "-c", s}
}

// keyValues parses `K=V K2="V 2"`, or the legacy `K V` (envLegacy) form.
func keyValues(s string, envLegacy bool) ([][2]string, error) {
	words, err := splitWords(s)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, nil
	}
	if !strings.Contains(words[0], "=") {
		if !envLegacy {
			return nil, fmt.Errorf("%q is not KEY=VALUE", words[0])
		}
		k, v, _ := strings.Cut(s, " ")
		return [][2]string{{k, strings.TrimSpace(v)}}, nil
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// splitWords splits on blanks, keeping double- or single-quoted runs
// (quotes removed) and backslash escapes together.
func splitWords(s string) ([]string, error) {
	var words []string
	var b strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range s {
		switch {
		case esc:
			b.WriteRune(r)
			esc, in = false, true
		case r == '\\' && quote != '\'':
			esc = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				b.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if in {
		words = append(words, b.String())
	}
	return words, nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
