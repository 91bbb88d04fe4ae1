package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/a3s-box/a3s-box/runtime/image"
)

func imagePruneVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("image prune", "image prune [OPTIONS]", "Remove unused images")
	all := fs.BoolP("all", "a", false, "Remove all unused images, not just dangling ones")
	force := fs.BoolP("force", "f", false, "Do not prompt for confirmation")
	filters := fs.StringArray("filter", nil, "Provide filter values (e.g. \"until=<timestamp>\", \"label=key=value\")")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	s, _, err := c.images()
	if err != nil {
		return err
	}
	for _, f := range *filters {
		if k, _, _ := strings.Cut(f, "="); k != "until" && !strings.HasPrefix(k, "label") {
			return fmt.Errorf("invalid filter '%s': image prune takes until and label", k)
		}
	}
	keep, err := pruneFilter(ctx, s, *filters)
	if err != nil {
		return err
	}
	if !*force {
		warning := "WARNING! This will remove all dangling images."
		if *all {
			warning = "WARNING! This will remove all images without at least one box created from them."
		}
		if !c.confirm(warning) {
			return nil
		}
	}
	rm, err := s.Prune(ctx, *all, keep)
	if err != nil {
		return err
	}
	if len(rm.Untagged)+len(rm.Deleted) > 0 {
		fmt.Fprintln(c.stdout, "Deleted Images:")
		printRemoval(c, rm, "untagged: ", "deleted: ")
		fmt.Fprintln(c.stdout)
	}
	fmt.Fprintf(c.stdout, "Total reclaimed space: %s\n", humanSize(rm.Freed))
	return nil
}

// pruneFilter turns until= and label= / label!= filters into the images
// prune must spare.
func pruneFilter(ctx context.Context, s *image.Store, specs []string) (func(*image.Image) bool, error) {
	var spare []func(*image.Image) bool
	var untilSpecs, labelSpecs []string
	for _, sp := range specs {
		k, v, _ := strings.Cut(sp, "=")
		switch {
		case k == "until":
			untilSpecs = append(untilSpecs, "until="+v)
		case k == "label":
			labelSpecs = append(labelSpecs, "label="+v)
		case k == "label!":
			// label!=k[=v]: spare what carries the label.
			f, err := imageFilter(ctx, s, []string{"label=" + v})
			if err != nil {
				return nil, err
			}
			spare = append(spare, func(img *image.Image) bool { return f(&image.Summary{Image: img}, "", "") })
		}
	}
	for _, group := range [][]string{untilSpecs, labelSpecs} {
		if len(group) == 0 {
			continue
		}
		f, err := imageFilter(ctx, s, group)
		if err != nil {
			return nil, err
		}
		spare = append(spare, func(img *image.Image) bool { return !f(&image.Summary{Image: img}, "", "") })
	}
	if len(spare) == 0 {
		return nil, nil
	}
	return func(img *image.Image) bool {
		for _, sp := range spare {
			if sp(img) {
				return true
			}
		}
		return false
	}, nil
}
