package initramfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto/kmod"
)

// ErrNoModule is returned when a wanted module is neither a loadable
// module, nor built into the kernel, nor an alias of either.
var ErrNoModule = errors.New("no such module")

// modIndex is what the build needs from a kernel's modules directory, as
// depmod wrote it: modules.dep, modules.softdep, modules.alias,
// modules.builtin and modules.builtin.modinfo.
type modIndex struct {
	order   []string            // module names in modules.dep order
	path    map[string]string   // name -> path relative to the modules directory
	deps    map[string][]string // name -> names of its hard dependencies
	pre     map[string][]string // name -> softdep "pre:" names, aliases unresolved
	post    map[string][]string // name -> softdep "post:" names, aliases unresolved
	builtin map[string]bool
	aliases []modAlias
}

type modAlias struct{ pattern, module string }

func readModIndex(dir string) (*modIndex, error) {
	ix := &modIndex{
		path: map[string]string{}, deps: map[string][]string{},
		pre: map[string][]string{}, post: map[string][]string{},
		builtin: map[string]bool{},
	}
	for _, f := range []struct {
		name     string
		optional bool
		parse    func(io.Reader) error
	}{
		{"modules.dep", false, ix.parseDep},
		{"modules.softdep", true, ix.parseSoftdep},
		{"modules.alias", true, ix.parseAlias},
		{"modules.builtin", true, ix.parseBuiltin},
		{"modules.builtin.modinfo", true, ix.parseBuiltinModinfo},
	} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if errors.Is(err, os.ErrNotExist) && f.optional {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read module index: %w", err)
		}
		if err := f.parse(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, f.name), err)
		}
	}
	return ix, nil
}

func (ix *modIndex) parseDep(r io.Reader) error {
	deps, err := kmod.ReadDep(r)
	if err != nil {
		return err
	}
	for _, d := range deps {
		// Module paths become archive paths: one that climbs out of the
		// modules directory would overwrite /init or read any host file.
		for _, q := range append([]string{d.Path}, d.Deps...) {
			if !filepath.IsLocal(q) {
				return fmt.Errorf("line %d: module path %q is not inside the modules directory", d.Line, q)
			}
		}
		ix.order = append(ix.order, d.Name)
		ix.path[d.Name] = d.Path
		for _, q := range d.Deps {
			ix.deps[d.Name] = append(ix.deps[d.Name], kmod.Name(q))
		}
	}
	return nil
}

// parseSoftdep reads modules.softdep; the names it gives may be aliases,
// which closure resolves.
func (ix *modIndex) parseSoftdep(r io.Reader) error {
	s, err := kmod.ReadSoftdep(r)
	if err != nil {
		return err
	}
	for m, names := range s.Pre {
		ix.pre[m] = append(ix.pre[m], names...)
	}
	for m, names := range s.Post {
		ix.post[m] = append(ix.post[m], names...)
	}
	return nil
}

func (ix *modIndex) parseAlias(r io.Reader) error {
	return kmod.Lines(r, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "alias" {
			return fmt.Errorf("line %d: want \"alias PATTERN MODULE\"", n)
		}
		ix.aliases = append(ix.aliases, modAlias{f[1], kmod.Normalize(f[2])})
		return nil
	})
}

func (ix *modIndex) parseBuiltin(r io.Reader) error {
	return kmod.Lines(r, func(_ int, line string) error {
		ix.builtin[kmod.Name(line)] = true
		return nil
	})
}

// parseBuiltinModinfo reads the NUL-separated "module.key=value" records
// of built-in modules, for their aliases.
func (ix *modIndex) parseBuiltinModinfo(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, rec := range strings.Split(string(b), "\x00") {
		mod, kv, ok := strings.Cut(rec, ".")
		if !ok {
			continue
		}
		if alias, ok := strings.CutPrefix(kv, "alias="); ok {
			ix.builtin[kmod.Normalize(mod)] = true
			ix.aliases = append(ix.aliases, modAlias{alias, kmod.Normalize(mod)})
		}
	}
	return nil
}

// resolve names the loadable modules that provide name, as modprobe
// would load them: the module itself, or every module with a matching
// alias. builtin says name is (or is provided by) built-in code.
func (ix *modIndex) resolve(name string) (mods []string, builtin bool) {
	n := kmod.Normalize(name)
	if _, ok := ix.path[n]; ok {
		return []string{n}, false
	}
	if ix.builtin[n] {
		return nil, true
	}
	for _, a := range ix.aliases {
		if ok, _ := path.Match(kmod.Normalize(a.pattern), n); !ok {
			continue
		}
		switch _, loadable := ix.path[a.module]; {
		case ix.builtin[a.module]:
			builtin = true
		case loadable && !slices.Contains(mods, a.module):
			mods = append(mods, a.module)
		}
	}
	slices.Sort(mods)
	return mods, builtin
}

// modSet is a closure of modules: everything the wanted modules need to
// load, with their soft dependencies resolved to module names in the set.
type modSet struct {
	ix        *modIndex
	in        map[string]bool
	pre, post map[string][]string
}

// closure resolves wanted names and adds, until nothing changes, every
// hard dependency and every soft dependency that resolves to a loadable
// module. A wanted name that resolves to nothing is an error; a soft
// dependency that does is not, as modprobe treats it.
func (ix *modIndex) closure(wanted []string) (*modSet, error) {
	s := &modSet{ix: ix, in: map[string]bool{}, pre: map[string][]string{}, post: map[string][]string{}}
	var queue []string
	add := func(m string) {
		if !s.in[m] {
			s.in[m] = true
			queue = append(queue, m)
		}
	}
	for _, w := range wanted {
		mods, builtin := ix.resolve(w)
		if len(mods) == 0 && !builtin {
			return nil, fmt.Errorf("module %s: %w", w, ErrNoModule)
		}
		for _, m := range mods {
			add(m)
		}
	}
	softdeps := func(names []string) []string {
		var out []string
		for _, n := range names {
			mods, _ := ix.resolve(n)
			for _, m := range mods {
				if !slices.Contains(out, m) {
					out = append(out, m)
				}
			}
		}
		return out
	}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		for _, d := range ix.deps[m] {
			if _, ok := ix.path[d]; !ok {
				return nil, fmt.Errorf("module %s: dependency %s: %w", m, d, ErrNoModule)
			}
			add(d)
		}
		if pre := softdeps(ix.pre[m]); len(pre) > 0 {
			s.pre[m] = pre
			for _, d := range pre {
				add(d)
			}
		}
		if post := softdeps(ix.post[m]); len(post) > 0 {
			s.post[m] = post
			for _, d := range post {
				add(d)
			}
		}
	}
	return s, nil
}

// names lists the set in modules.dep order.
func (s *modSet) names() []string {
	var out []string
	for _, m := range s.ix.order {
		if s.in[m] {
			out = append(out, m)
		}
	}
	return out
}

// depFile is modules.dep for exactly the set.
func (s *modSet) depFile() []byte {
	var b bytes.Buffer
	for _, m := range s.names() {
		b.WriteString(s.ix.path[m] + ":")
		for _, d := range s.ix.deps[m] {
			b.WriteString(" " + s.ix.path[d])
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// softdepFile is modules.softdep for exactly the set, with aliases already
// resolved: the guest has no modules.alias to resolve them with.
func (s *modSet) softdepFile() []byte {
	var b bytes.Buffer
	b.WriteString("# Soft dependencies of the modules in this initramfs, aliases resolved.\n")
	for _, m := range s.names() {
		if len(s.pre[m]) == 0 && len(s.post[m]) == 0 {
			continue
		}
		b.WriteString("softdep " + m)
		if len(s.pre[m]) > 0 {
			b.WriteString(" pre: " + strings.Join(s.pre[m], " "))
		}
		if len(s.post[m]) > 0 {
			b.WriteString(" post: " + strings.Join(s.post[m], " "))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
