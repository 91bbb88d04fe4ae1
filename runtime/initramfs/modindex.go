package initramfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
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

// modName is the name the kernel knows a module file by.
func modName(p string) string {
	base := path.Base(p)
	if i := strings.Index(base, ".ko"); i > 0 {
		base = base[:i]
	}
	return normalize(base)
}

// normalize spells a module name the way the kernel does: modprobe treats
// '-' and '_' alike.
func normalize(name string) string { return strings.ReplaceAll(name, "-", "_") }

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

// eachLine calls fn with the fields of every line that is not blank or a
// comment, and its line number.
func eachLine(r io.Reader, fn func(n int, line string) error) error {
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

func (ix *modIndex) parseDep(r io.Reader) error {
	return eachLine(r, func(n int, line string) error {
		p, rest, ok := strings.Cut(line, ":")
		if !ok || p == "" {
			return fmt.Errorf("line %d: want \"module: dependencies\"", n)
		}
		deps := strings.Fields(rest)
		// Module paths become archive paths: one that climbs out of the
		// modules directory would overwrite /init or read any host file.
		for _, q := range append([]string{p}, deps...) {
			if !filepath.IsLocal(q) {
				return fmt.Errorf("line %d: module path %q is not inside the modules directory", n, q)
			}
		}
		name := modName(p)
		if _, dup := ix.path[name]; dup {
			return fmt.Errorf("line %d: module %s listed twice", n, name)
		}
		ix.order = append(ix.order, name)
		ix.path[name] = p
		for _, d := range deps {
			ix.deps[name] = append(ix.deps[name], modName(d))
		}
		return nil
	})
}

// parseSoftdep reads "softdep MODULE pre: A B post: C" lines. Words before
// the first pre: or post: are ignored, as modprobe does; several lines for
// one module add up.
func (ix *modIndex) parseSoftdep(r io.Reader) error {
	return eachLine(r, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "softdep" {
			return fmt.Errorf("line %d: want \"softdep MODULE pre: ... post: ...\"", n)
		}
		name := normalize(f[1])
		var to map[string][]string
		for _, w := range f[2:] {
			switch w {
			case "pre:":
				to = ix.pre
			case "post:":
				to = ix.post
			default:
				if to != nil {
					to[name] = append(to[name], w)
				}
			}
		}
		return nil
	})
}

func (ix *modIndex) parseAlias(r io.Reader) error {
	return eachLine(r, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "alias" {
			return fmt.Errorf("line %d: want \"alias PATTERN MODULE\"", n)
		}
		ix.aliases = append(ix.aliases, modAlias{f[1], normalize(f[2])})
		return nil
	})
}

func (ix *modIndex) parseBuiltin(r io.Reader) error {
	return eachLine(r, func(_ int, line string) error {
		ix.builtin[modName(line)] = true
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
			ix.builtin[normalize(mod)] = true
			ix.aliases = append(ix.aliases, modAlias{alias, normalize(mod)})
		}
	}
	return nil
}

// resolve names the loadable modules that provide name, as modprobe
// would load them: the module itself, or every module with a matching
// alias. builtin says name is (or is provided by) built-in code.
func (ix *modIndex) resolve(name string) (mods []string, builtin bool) {
	n := normalize(name)
	if _, ok := ix.path[n]; ok {
		return []string{n}, false
	}
	if ix.builtin[n] {
		return nil, true
	}
	for _, a := range ix.aliases {
		if ok, _ := path.Match(normalize(a.pattern), n); !ok {
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
