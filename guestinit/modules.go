package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// loadModules loads every module the initramfs carries in dir (its
// /lib/modules/<release>), in the order moduleOrder gives, since almost
// every driver of Debian's generic kernel is a module and nothing but
// guestinit is there to load them.
func loadModules(dir string) error {
	dep, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return err
	}
	defer dep.Close()
	var softdep io.Reader = strings.NewReader("")
	switch f, err := os.Open(filepath.Join(dir, "modules.softdep")); {
	case err == nil:
		defer f.Close()
		softdep = f
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	order, err := moduleOrder(dep, softdep)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	for _, p := range order {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := loadModule(p); err != nil {
			return fmt.Errorf("module %s: %w", moduleName(p), err)
		}
	}
	return nil
}

func loadModule(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := 0
	if !strings.HasSuffix(file, ".ko") {
		// .ko.xz, .ko.zst, .ko.gz: the kernel decompresses (5.17 and later).
		flags = unix.MODULE_INIT_COMPRESSED_FILE
	}
	err = unix.FinitModule(int(f.Fd()), "", flags)
	switch {
	case err == nil, errors.Is(err, unix.EEXIST):
		return nil
	case errors.Is(err, unix.ENODEV):
		// The module declined this machine, as an accelerated crc32c
		// does on a CPU without the instruction; a module that needed
		// it fails on its own and is named then.
		return nil
	}
	return fmt.Errorf("finit_module: %w", err)
}

// moduleOrder reads modules.dep and modules.softdep and returns the paths
// of every module in modules.dep, as written there, in an order that loads
// each module after its dependencies, after its softdep "pre:" modules and
// before its "post:" modules. Soft dependencies on modules that are not in
// modules.dep are ignored: the initramfs carries only what it needs.
func moduleOrder(dep, softdep io.Reader) ([]string, error) {
	var names []string
	paths := map[string]string{}
	deps := map[string][]string{}
	err := scanLines(dep, func(n int, line string) error {
		p, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(p) == "" {
			return fmt.Errorf("modules.dep line %d: no \"module:\"", n)
		}
		m := moduleName(p)
		if _, dup := paths[m]; dup {
			return fmt.Errorf("modules.dep line %d: module %s listed twice", n, m)
		}
		names = append(names, m)
		paths[m] = strings.TrimSpace(p)
		for _, d := range strings.Fields(rest) {
			deps[m] = append(deps[m], moduleName(d))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pre, post := map[string][]string{}, map[string][]string{}
	err = scanLines(softdep, func(n int, line string) error {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "softdep" {
			return fmt.Errorf("modules.softdep line %d: want \"softdep MODULE pre: ... post: ...\"", n)
		}
		m := normalizeModule(f[1])
		var list map[string][]string // words before the first pre:/post: mean nothing, as for modprobe
		for _, w := range f[2:] {
			switch w {
			case "pre:":
				list = pre
			case "post:":
				list = post
			default:
				if list != nil {
					list[m] = append(list[m], normalizeModule(w))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []string
	var visit func(m string, soft bool) error
	visit = func(m string, soft bool) error {
		if _, ok := paths[m]; !ok {
			if soft {
				return nil
			}
			return fmt.Errorf("dependency %s: not in modules.dep", m)
		}
		switch state[m] {
		case done:
			return nil
		case visiting:
			if soft {
				// A soft dependency back onto a module being loaded:
				// it is loaded once its own dependencies are.
				return nil
			}
			return fmt.Errorf("dependency cycle through module %s", m)
		}
		state[m] = visiting
		for _, p := range pre[m] {
			if err := visit(p, true); err != nil {
				return err
			}
		}
		// modules.dep lists a module's dependencies users first; modprobe
		// loads them last to first.
		for i := len(deps[m]) - 1; i >= 0; i-- {
			if err := visit(deps[m][i], false); err != nil {
				return fmt.Errorf("module %s: %w", m, err)
			}
		}
		order = append(order, paths[m])
		state[m] = done
		for _, p := range post[m] {
			if err := visit(p, true); err != nil {
				return err
			}
		}
		return nil
	}
	for _, m := range names {
		if err := visit(m, false); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleName is the kernel's name for a module file: kernel/fs/ext4/ext4.ko
// is ext4, crc32c-intel.ko.xz is crc32c_intel.
func moduleName(p string) string {
	base := path.Base(strings.TrimSpace(p))
	if i := strings.Index(base, ".ko"); i > 0 {
		base = base[:i]
	}
	return normalizeModule(base)
}

// normalizeModule makes '-' and '_' alike in module names, as modprobe does.
func normalizeModule(name string) string { return strings.ReplaceAll(name, "-", "_") }

// scanLines calls fn with each line that is neither blank nor a comment.
func scanLines(r io.Reader, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
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
