// Package kmod reads the module index depmod writes, modules.dep and
// modules.softdep, with one grammar for both ends of a box: the host
// reads a kernel's index to choose the modules an initramfs carries and
// writes the two files again for exactly those (runtime/initramfs), and
// guestinit reads them back to load the modules in order. What each end
// does with the index (aliases and a closure on the host, a load order
// in the guest) stays with it.
package kmod

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Name is the kernel's name for a module file: kernel/fs/ext4/ext4.ko is
// ext4, crc32c-intel.ko.xz is crc32c_intel.
func Name(file string) string {
	base := path.Base(strings.TrimSpace(file))
	if i := strings.Index(base, ".ko"); i > 0 {
		base = base[:i]
	}
	return Normalize(base)
}

// Normalize spells a module name as the kernel does: modprobe takes '-'
// and '_' alike.
func Normalize(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Lines calls fn with every line of r that is neither blank nor a
// comment, trimmed, and its line number.
func Lines(r io.Reader, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Dep is one module of modules.dep.
type Dep struct {
	Line int      // where it is listed
	Path string   // its file, as written: relative to the modules directory
	Name string   // Name(Path)
	Deps []string // the files of the modules it needs, as written
}

// ReadDep reads modules.dep ("path: dependency paths" lines): one Dep per
// module, in the file's order, which is not a load order. A line without
// "path:" and a module listed twice are errors that name their line.
func ReadDep(r io.Reader) ([]Dep, error) {
	var deps []Dep
	seen := map[string]bool{}
	err := Lines(r, func(n int, line string) error {
		p, rest, ok := strings.Cut(line, ":")
		p = strings.TrimSpace(p)
		if !ok || p == "" {
			return fmt.Errorf("line %d: want \"module: dependencies\"", n)
		}
		d := Dep{Line: n, Path: p, Name: Name(p), Deps: strings.Fields(rest)}
		if seen[d.Name] {
			return fmt.Errorf("line %d: module %s listed twice", n, d.Name)
		}
		seen[d.Name] = true
		deps = append(deps, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deps, nil
}

// Softdeps are the soft dependencies of modules.softdep: by module name,
// the names (or aliases) of the modules to load before it (Pre) and
// after it (Post), all normalized.
type Softdeps struct {
	Pre, Post map[string][]string
}

// ReadSoftdep reads "softdep MODULE pre: A B post: C" lines. Words before
// the first pre: or post: are ignored, as modprobe does; several lines
// for one module add up.
func ReadSoftdep(r io.Reader) (Softdeps, error) {
	s := Softdeps{Pre: map[string][]string{}, Post: map[string][]string{}}
	err := Lines(r, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "softdep" {
			return fmt.Errorf("line %d: want \"softdep MODULE pre: ... post: ...\"", n)
		}
		m := Normalize(f[1])
		var to map[string][]string
		for _, w := range f[2:] {
			switch w {
			case "pre:":
				to = s.Pre
			case "post:":
				to = s.Post
			default:
				if to != nil {
					to[m] = append(to[m], Normalize(w))
				}
			}
		}
		return nil
	})
	if err != nil {
		return Softdeps{}, err
	}
	return s, nil
}
