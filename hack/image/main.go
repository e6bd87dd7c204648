// Command image assembles Flotilla's container image from a root
// filesystem of Debian packages and the flotilla binary of each platform,
// as an OCI image layout with an SPDX SBOM beside it, and pushes such a
// layout to a registry. hack/image/build.sh prepares its inputs; `make
// image` and `make image-push` run it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: image build|push [flags]")
	}
	switch args[0] {
	case "build":
		return runBuild(args[1:])
	case "push":
		return runPush(ctx, args[1:])
	default:
		return fmt.Errorf("unknown command %q: want build or push", args[0])
	}
}

// platformFlag collects --platform ARCH=ROOTFS,BINARY,PACKAGES.
type platformFlag []platformInput

func (p *platformFlag) String() string { return fmt.Sprint(len(*p)) }

func (p *platformFlag) Set(v string) error {
	arch, rest, ok := strings.Cut(v, "=")
	parts := strings.Split(rest, ",")
	if !ok || len(parts) != 3 {
		return fmt.Errorf("%q: want ARCH=ROOTFS,BINARY,PACKAGES", v)
	}
	*p = append(*p, platformInput{Arch: arch, RootFS: parts[0], Binary: parts[1], Packages: parts[2]})
	return nil
}

func runBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	var opts buildOptions
	var created string
	fs.StringVar(&opts.Out, "out", "bin/image", "the OCI layout to write")
	fs.StringVar(&opts.Version, "version", "dev", "Flotilla's version, for the labels and the SBOM")
	fs.StringVar(&opts.Commit, "commit", "unknown", "the source commit, for the labels")
	fs.StringVar(&created, "created", "", "the creation time (RFC 3339; default: now), also every file's time")
	fs.Var((*platformFlag)(&opts.Platforms), "platform", "ARCH=ROOTFS,BINARY,PACKAGES (repeat)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts.Created = time.Now().UTC()
	if created != "" {
		t, err := time.Parse(time.RFC3339, created)
		if err != nil {
			return fmt.Errorf("--created: %w", err)
		}
		opts.Created = t.UTC()
	}
	if len(opts.Platforms) == 0 {
		return errors.New("no --platform given")
	}
	return build(opts)
}

func runPush(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	layoutDir := fs.String("layout", "bin/image", "the OCI layout to push")
	ref := fs.String("ref", "", "where to push, such as registry.example.com/flotilla:v1.0.0")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" {
		return errors.New("--ref is required")
	}
	digest, err := push(ctx, *layoutDir, *ref, nil)
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s\n", *ref, digest)
	return nil
}
