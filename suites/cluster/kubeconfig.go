package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/kind/pkg/exec"
)

// DefaultKubeconfigPath is where Create writes the kubeconfig of cluster name
// unless told otherwise: ~/.kube/svccheck-<name>.yaml, a file of its own so
// the user's kubeconfig is left alone.
func DefaultKubeconfigPath(name string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the home directory for the kubeconfig: %w", err)
	}
	return filepath.Join(home, ".kube", "svccheck-"+name+".yaml"), nil
}

// ownsKubeconfig reports whether path is DefaultKubeconfigPath(name), the
// file svccheck may write whole and remove. When the home directory is
// unknown, no file is svccheck's.
func ownsKubeconfig(name, path string) bool {
	own, err := DefaultKubeconfigPath(name)
	if err != nil || path == "" {
		return false
	}
	a, errA := filepath.Abs(own)
	b, errB := filepath.Abs(path)
	return errA == nil && errB == nil && a == b
}

// saveKubeconfig writes kc, the kubeconfig kind generated for cluster name,
// to path when svccheck owns path, replacing what was there. Any other file
// is left alone: it already holds the cluster's entries, which kind merged in
// beside the user's own.
func saveKubeconfig(name, path string, kc []byte) error {
	if !ownsKubeconfig(name, path) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

// removeOwnedKubeconfig removes svccheck's own kubeconfig file of cluster
// name, if there is one. It never touches another file.
func removeOwnedKubeconfig(name string) error {
	path, err := DefaultKubeconfigPath(name)
	if err != nil {
		// No home directory: svccheck cannot have written its file.
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing kubeconfig %s of cluster %s: %w", path, name, err)
	}
	return nil
}

// deleteCommand is the command line that deletes cluster name, with
// --kubeconfig when its entries are in a file svccheck does not own.
func deleteCommand(name, kubeconfig string) string {
	args := []string{"cluster", "delete", "--name", name}
	if kubeconfig != "" && !ownsKubeconfig(name, kubeconfig) {
		args = append(args, "--kubeconfig", kubeconfig)
	}
	return exec.PrettyCommand("svccheck", args...)
}
