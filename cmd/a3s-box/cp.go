package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/a3s-box/a3s-box/runtime"
)

func init() {
	register(&verb{name: "cp", summary: "Copy files/folders between a box and the local filesystem", errCode: 1, run: cpVerb})
}

func cpVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("cp", "cp [OPTIONS] BOX:SRC_PATH DEST_PATH|-\n\ta3s-box cp [OPTIONS] SRC_PATH|- BOX:DEST_PATH",
		"Copy files/folders between a box and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a box.\nUse '-' as the destination to stream a tar archive of a\nbox source to stdout.")
	follow := fs.BoolP("follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	owners := fs.BoolP("archive", "a", false, "Archive mode (copy all uid/gid information)")
	quiet := fs.BoolP("quiet", "q", false, "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "cp", 2); err != nil {
		return err
	}
	src, dst := fs.Arg(0), fs.Arg(1)
	switch {
	case src == "":
		return errors.New("source can not be empty")
	case dst == "":
		return errors.New("destination can not be empty")
	}
	srcBox, srcPath := splitCpArg(src)
	dstBox, dstPath := splitCpArg(dst)
	switch {
	case srcBox != "" && dstBox != "":
		return errors.New("copying between boxes is not supported")
	case srcBox == "" && dstBox == "":
		return errors.New("must specify at least one box source")
	}
	name := srcBox + dstBox
	eng, b, err := c.oneBox(ctx, name)
	if err != nil {
		return err
	}
	o := runtime.CopyOptions{Follow: *follow, Owners: *owners, Skipped: func(name, kind string) {
		fmt.Fprintf(c.stderr, "a3s-box: warning: %s is a %s: left in the box (device nodes and FIFOs are not copied to the host)\n", name, kind)
	}}
	switch {
	case srcBox != "" && dstPath == "-":
		return eng.CopyOutTar(ctx, b, srcPath, c.stdout, o)
	case srcPath == "-":
		return eng.CopyInTar(ctx, b, c.stdin, dstPath, o)
	}
	var p *cpProgress
	if !*quiet && isTerminal(c.stderr) {
		p = startCpProgress(c.stderr, dstBox != "")
		o.Progress = p.add
	}
	if srcBox != "" {
		err = eng.CopyOut(ctx, b, srcPath, dstPath, o)
	} else {
		err = eng.CopyIn(ctx, b, srcPath, dstPath, o)
	}
	if p != nil {
		p.done(err == nil, dst)
	}
	return err
}

// splitCpArg splits BOX:PATH. A local path with a colon is told apart by
// being absolute or starting with ".", as Docker does (and scp).
func splitCpArg(arg string) (box, path string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	box, path, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(box, ".") {
		return "", arg
	}
	return box, path
}
