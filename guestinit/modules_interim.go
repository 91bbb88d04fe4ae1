package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

func loadModules(dir string) error {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return err
	}
	defer f.Close()
	deps := map[string][]string{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		deps[k] = strings.Fields(v)
		order = append(order, k)
	}
	done := map[string]bool{}
	var load func(string)
	load = func(m string) {
		if done[m] {
			return
		}
		done[m] = true
		ds := deps[m]
		for i := len(ds) - 1; i >= 0; i-- {
			load(ds[i])
		}
		if strings.Contains(m, "ext4") {
			load("kernel/crypto/crc32c_generic.ko")
		}
		mf, err := os.Open(filepath.Join(dir, m))
		if err != nil {
			logf("module %s: %v", m, err)
			return
		}
		defer mf.Close()
		if err := unix.FinitModule(int(mf.Fd()), "", 0); err != nil && err != unix.EEXIST {
			logf("module %s: %v", m, err)
		}
	}
	for _, m := range order {
		load(m)
	}
	return nil
}
