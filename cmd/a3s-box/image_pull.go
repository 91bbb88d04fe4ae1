package main

import (
	"context"
	"fmt"

	"github.com/a3s-box/a3s-box/runtime/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func init() {
	register(&verb{name: "pull", summary: "Download an image from a registry", errCode: 1, run: pullVerb})
	register(&verb{name: "push", summary: "Upload an image to a registry", errCode: 1, run: pushVerb})
}

func pullVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("pull", "pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry")
	allTags := fs.BoolP("all-tags", "a", false, "Download all tagged images in the repository")
	quiet := fs.BoolP("quiet", "q", false, "Suppress verbose output")
	platform := fs.String("platform", "", "Set platform if server is multi-platform capable (e.g. linux/arm64)")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "pull", 1); err != nil {
		return err
	}
	s, cfg, err := c.images()
	if err != nil {
		return err
	}
	opts := image.PullOptions{Insecure: cfg.Insecure, Progress: transferProgress(c.stdout, *quiet, "Downloading")}
	if *platform != "" {
		p, err := v1.ParsePlatform(*platform)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return fmt.Errorf("invalid platform %q: want os/arch[/variant], e.g. linux/amd64", *platform)
		}
		opts.Platform = p
	}
	ref := fs.Arg(0)
	if *allTags {
		imgs, err := s.PullAllTags(ctx, ref, opts)
		if err != nil {
			return err
		}
		if len(imgs) > 0 {
			repo, _, _ := image.SplitRef(imgs[0].Ref)
			fmt.Fprintln(c.stdout, repo)
		}
		return nil
	}
	img, err := s.Pull(ctx, ref, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, img.Ref)
	return nil
}

func pushVerb(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags("push", "push [OPTIONS] NAME[:TAG]", "Upload an image to a registry")
	allTags := fs.BoolP("all-tags", "a", false, "Push all tags of an image to the repository")
	quiet := fs.BoolP("quiet", "q", false, "Suppress verbose output")
	if err := c.parse(fs, args, 1); err != nil {
		return err
	}
	if err := exactArgs(fs, "push", 1); err != nil {
		return err
	}
	s, cfg, err := c.images()
	if err != nil {
		return err
	}
	opts := image.PushOptions{Insecure: cfg.Insecure, Progress: transferProgress(c.stdout, *quiet, "Pushing")}
	refs := []string{fs.Arg(0)}
	if *allTags {
		if refs, err = s.Tags(ctx, fs.Arg(0)); err != nil {
			return err
		}
	}
	for _, ref := range refs {
		p, err := s.Push(ctx, ref, opts)
		if err != nil {
			return err
		}
		if *quiet {
			fmt.Fprintln(c.stdout, p.Ref)
		}
	}
	return nil
}
