package spec

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// EnvEntry resolves one -e argument as Docker does: KEY=VALUE is taken as
// is; a bare KEY takes the caller's value of KEY, or is dropped when the
// caller has none.
func EnvEntry(arg string, lookup func(string) (string, bool)) (string, bool, error) {
	key, _, hasValue := strings.Cut(arg, "=")
	if key == "" {
		return "", false, fmt.Errorf("invalid environment variable: %q", arg)
	}
	if strings.ContainsAny(key, " \t") {
		return "", false, fmt.Errorf("variable %q contains whitespaces", key)
	}
	if hasValue {
		return arg, true, nil
	}
	if v, ok := lookup(key); ok {
		return key + "=" + v, true, nil
	}
	return "", false, nil
}

// ParseEnvFile reads an --env-file: one KEY=VALUE or KEY per line, blank
// lines and lines starting with # ignored, values taken literally.
func ParseEnvFile(name string, r io.Reader, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kv, ok, err := EnvEntry(line, lookup)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if ok {
			out = append(out, kv)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// ReadEnvFile opens and parses an --env-file.
func ReadEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	defer f.Close()
	return ParseEnvFile(path, f, os.LookupEnv)
}
