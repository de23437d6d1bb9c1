package app

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/svccheck/svccheck/suites/nodeimage"
)

// newImageCommand is `svccheck image`, which manages kind node images.
func newImageCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build the kind node image; save the svccheck agent image",
	}
	cmd.AddCommand(
		newImageBuildNodeCommand(stdout, stderr),
		newImageSaveCommand(stdout, stderr),
	)
	return cmd
}

func newImageBuildNodeCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := nodeimage.Options{}
	var tagOnly bool
	cmd := &cobra.Command{
		Use:   "build-node",
		Short: "Build a kind node image with no container registry",
		Long: `build-node builds a kind node image from a Debian root filesystem, kind's
node files and Kubernetes, etcd, CoreDNS and pause built from Go modules, with
the control-plane images preloaded, so no registry is needed. The image is
tagged with a hash of its inputs and only built when Docker does not have it.
A cold build takes about 20 minutes on 2 cores; it needs root (debootstrap),
Docker and the Go toolchain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tagOnly {
				tag, err := nodeimage.Tag(opts)
				if err != nil {
					return usageError("%v", err)
				}
				fmt.Fprintln(stdout, tag)
				return nil
			}
			opts.Progress = stderr
			tag, built, err := nodeimage.Ensure(cmd.Context(), opts)
			if err != nil {
				if errors.Is(err, nodeimage.ErrDockerUnavailable) || errors.Is(err, nodeimage.ErrMissingTool) {
					return usageError("%v", err)
				}
				return err
			}
			if !built {
				fmt.Fprintf(stderr, "node image %s is up to date\n", tag)
			}
			fmt.Fprintln(stdout, tag)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.KubernetesVersion, "kubernetes-version", nodeimage.DefaultKubernetesVersion, "Kubernetes version to build")
	cmd.Flags().StringVar(&opts.CacheDir, "cache-dir", "", "directory for intermediate products (default $XDG_CACHE_HOME/svccheck or ~/.cache/svccheck)")
	cmd.Flags().BoolVar(&tagOnly, "print-tag", false, "print the image tag without building")
	return cmd
}
