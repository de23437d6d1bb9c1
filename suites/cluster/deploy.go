package cluster

import (
	"context"
	"fmt"
	"net"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// apiServerPort is the port of the API server on the control-plane node.
const apiServerPort = "6443"

// deployProxy applies the svccheck proxy's ServiceAccount, RBAC, kubeconfig
// ConfigMap and DaemonSet.
func (c *Cluster) deployProxy(ctx context.Context, prog *progress) error {
	server, err := c.internalAPIServer()
	if err != nil {
		return err
	}
	objs := newProxyObjects(c.Image, server)
	if err := c.applyProxyObjects(ctx, objs); err != nil {
		return err
	}
	prog.step("deployed the svccheck proxy DaemonSet %s/%s (API server %s)", ProxyNamespace, ProxyName, server)
	return nil
}

// internalAPIServer returns the API server URL as reached from inside the
// cluster's network: the control-plane container's address, since no
// Service routing exists before the proxy runs.
func (c *Cluster) internalAPIServer() (string, error) {
	kindNodes, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return "", fmt.Errorf("listing the nodes of cluster %s: %w", c.Name, err)
	}
	cp, err := nodeutils.BootstrapControlPlaneNode(kindNodes)
	if err != nil {
		return "", fmt.Errorf("finding the control plane of cluster %s: %w", c.Name, err)
	}
	ip, _, err := cp.IP()
	if err != nil {
		return "", fmt.Errorf("finding the address of %s: %w", cp, err)
	}
	return "https://" + net.JoinHostPort(ip, apiServerPort), nil
}

// applyProxyObjects creates the objects, or updates those that exist.
func (c *Cluster) applyProxyObjects(ctx context.Context, o proxyObjects) error {
	cs := c.Clientset
	steps := []struct {
		what   string
		create func() error
		update func() error
	}{
		{"ServiceAccount", func() error {
			_, err := cs.CoreV1().ServiceAccounts(ProxyNamespace).Create(ctx, o.ServiceAccount, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := cs.CoreV1().ServiceAccounts(ProxyNamespace).Update(ctx, o.ServiceAccount, metav1.UpdateOptions{})
			return err
		}},
		{"ClusterRole", func() error {
			_, err := cs.RbacV1().ClusterRoles().Create(ctx, o.ClusterRole, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := cs.RbacV1().ClusterRoles().Update(ctx, o.ClusterRole, metav1.UpdateOptions{})
			return err
		}},
		{"ClusterRoleBinding", func() error {
			_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, o.ClusterRoleBinding, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := cs.RbacV1().ClusterRoleBindings().Update(ctx, o.ClusterRoleBinding, metav1.UpdateOptions{})
			return err
		}},
		{"ConfigMap", func() error {
			_, err := cs.CoreV1().ConfigMaps(ProxyNamespace).Create(ctx, o.ConfigMap, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := cs.CoreV1().ConfigMaps(ProxyNamespace).Update(ctx, o.ConfigMap, metav1.UpdateOptions{})
			return err
		}},
		{"DaemonSet", func() error {
			_, err := cs.AppsV1().DaemonSets(ProxyNamespace).Create(ctx, o.DaemonSet, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := cs.AppsV1().DaemonSets(ProxyNamespace).Update(ctx, o.DaemonSet, metav1.UpdateOptions{})
			return err
		}},
	}
	for _, s := range steps {
		err := s.create()
		if apierrors.IsAlreadyExists(err) {
			err = s.update()
		}
		if err != nil {
			return fmt.Errorf("applying the svccheck proxy %s: %w", s.what, err)
		}
	}
	return nil
}
