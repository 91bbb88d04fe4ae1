package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/a3s-box/a3s-box/guestinit/proto/kmod"
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
			return fmt.Errorf("module %s: %w", kmod.Name(p), err)
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
	index, err := kmod.ReadDep(dep)
	if err != nil {
		return nil, fmt.Errorf("modules.dep: %w", err)
	}
	soft, err := kmod.ReadSoftdep(softdep)
	if err != nil {
		return nil, fmt.Errorf("modules.softdep: %w", err)
	}
	paths := map[string]string{}
	deps := map[string][]string{}
	for _, d := range index {
		paths[d.Name] = d.Path
		for _, q := range d.Deps {
			deps[d.Name] = append(deps[d.Name], kmod.Name(q))
		}
	}
	pre, post := soft.Pre, soft.Post

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
	for _, d := range index {
		if err := visit(d.Name, false); err != nil {
			return nil, err
		}
	}
	return order, nil
}
