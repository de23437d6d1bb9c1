package run

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/exec"

	"github.com/svccheck/svccheck/doctor"
	"github.com/svccheck/svccheck/reports"
)

// ListNamespaces lists every namespace, sorted.
func ListNamespaces(ctx context.Context, cs kubernetes.Interface, timeout time.Duration) ([]string, error) {
	all, _, err := listNamespaces(ctx, cs, timeout)
	return all, err
}

// listNamespaces lists every namespace, and those not being deleted
// (settled), each sorted.
func listNamespaces(ctx context.Context, cs kubernetes.Interface, timeout time.Duration) (all, settled []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	l, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing namespaces: %w", err)
	}
	for _, ns := range l.Items {
		all = append(all, ns.Name)
		if ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceTerminating {
			settled = append(settled, ns.Name)
		}
	}
	sort.Strings(all)
	sort.Strings(settled)
	return all, settled, nil
}

// dockerNetworksFormat prints each Docker network's name and subnets.
const dockerNetworksFormat = `{{.Name}}{{range .IPAM.Config}} {{.Subnet}}{{end}}`

// WriteDockerNetworks records the host's Docker networks in the dump, one
// "name subnet" line per subnet, for doctor's range checks.
func WriteDockerNetworks(ctx context.Context, dir string) error {
	var ids bytes.Buffer
	if err := exec.CommandContext(ctx, "docker", "network", "ls", "-q").SetStdout(&ids).Run(); err != nil {
		return fmt.Errorf("listing docker networks: %w", err)
	}
	var b strings.Builder
	if ids := strings.Fields(ids.String()); len(ids) > 0 {
		var out bytes.Buffer
		args := append([]string{"network", "inspect", "-f", dockerNetworksFormat}, ids...)
		if err := exec.CommandContext(ctx, "docker", args...).SetStdout(&out).Run(); err != nil {
			return fmt.Errorf("inspecting docker networks: %w", err)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			f := strings.Fields(line)
			for _, subnet := range f[min(1, len(f)):] {
				fmt.Fprintf(&b, "%s %s\n", f[0], subnet)
			}
		}
	}
	path := filepath.Join(dir, reports.DirCluster, doctor.FileDockerNetworks)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing docker networks: %w", err)
	}
	if err := reports.WriteBytesAtomic(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing docker networks: %w", err)
	}
	return nil
}
