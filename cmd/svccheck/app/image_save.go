package app

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/svccheck/svccheck/suites/cluster"
)

// newImageSaveCommand is `svccheck image save`: the agent image as an OCI
// archive, to push to a registry a cluster can pull from.
func newImageSaveCommand(stdout, stderr io.Writer) *cobra.Command {
	var output, binary string
	cmd := &cobra.Command{
		Use:   "save",
		Short: "Write the svccheck agent image as an OCI archive",
		Long: `save writes the image svccheck's pods run (agent, host and preflight pods):
one layer holding this svccheck binary (or --binary) at /usr/local/bin/svccheck,
named svccheck.local/svccheck:<hash of the binary>, as an OCI image layout in a
tar file. Push it to a registry your cluster can pull from and pass the name
as --image, for example:

  skopeo copy oci-archive:svccheck.oci.tar docker://registry.example/svccheck:v1
  mkdir svccheck.oci && tar -xf svccheck.oci.tar -C svccheck.oci && crane push svccheck.oci registry.example/svccheck:v1`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if output == "" {
				return usageError("--output is required: the archive to write")
			}
			return saveImage(output, binary, stdout, stderr)
		},
	}
	cmd.Flags().StringVar(&output, "output", "", "the OCI archive (tar) to write (required)")
	cmd.Flags().StringVar(&binary, "binary", "", "the static svccheck binary to put in the image (default: this one)")
	return cmd
}

func saveImage(output, binary string, stdout, stderr io.Writer) error {
	if binary == "" {
		self, err := os.Executable()
		if err != nil {
			return usageError("finding the svccheck binary: %v", err)
		}
		binary = self
	}
	if err := cluster.CheckStaticBinary(binary); err != nil {
		return usageError("%v", err)
	}
	ref, err := cluster.ImageName(binary)
	if err != nil {
		return usageError("%v", err)
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		return usageError("reading the svccheck binary: %v", err)
	}
	f, err := os.Create(output)
	if err != nil {
		return usageError("creating %s: %v", output, err)
	}
	if err := cluster.WriteOCIArchive(f, ref, data); err != nil {
		f.Close()
		os.Remove(output)
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", output, err)
	}
	fmt.Fprintf(stderr, "wrote %s as an OCI archive to %s; push it with e.g.\n  skopeo copy oci-archive:%s docker://REGISTRY/svccheck:TAG\n",
		ref, output, output)
	fmt.Fprintln(stdout, ref)
	return nil
}
