//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/svccheck/svccheck/suites/cluster"
	"github.com/svccheck/svccheck/suites/preflight"
)

func init() {
	onKubeProxyCluster = append(onKubeProxyCluster, clusterCheck{name: "PreflightWithRBACDoc", run: checkPreflightWithRBACDoc})
}

// checkPreflightWithRBACDoc binds a ServiceAccount to docs/rbac.yaml (the
// objects renamed, so runs do not collide), runs svccheck preflight with
// its token (it must pass), takes create on pods/exec away (it must fail,
// exit 2, naming it), and deletes what it created. SVCCHECK_E2E_IMAGE sets
// --image, for a cluster made by another svccheck build.
func checkPreflightWithRBACDoc(t *testing.T, ctx context.Context, name string) {
	start := time.Now()
	admin, rc := adminClient(t, name)
	data, err := os.ReadFile("../../docs/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := preflight.ParseRBAC(data)
	if err != nil {
		t.Fatal(err)
	}
	renameRBAC(doc, "-e2e-"+randomSuffix())
	applyRBAC(t, ctx, admin, doc)
	user := fmt.Sprintf("system:serviceaccount:%s:%s", doc.ServiceAccount.Namespace, doc.ServiceAccount.Name)
	waitAccess(t, ctx, admin, user, true)
	kubeconfig := serviceAccountKubeconfig(t, ctx, admin, rc, doc)
	args := []string{"preflight", "--kubeconfig", kubeconfig}
	if img := os.Getenv("SVCCHECK_E2E_IMAGE"); img != "" {
		args = append(args, "--image", img)
	}
	if code, out := runCaptured(t, ctx, args...); code != 0 {
		t.Fatalf("preflight with docs/rbac.yaml: exit %d, want 0:\n%s", code, out)
	}
	if !doc.RemoveVerb("pods/exec", "create") {
		t.Fatal("docs/rbac.yaml grants no create on pods/exec")
	}
	if _, err := admin.RbacV1().ClusterRoles().Update(ctx, doc.ClusterRole, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAccess(t, ctx, admin, user, false)
	code, out := runCaptured(t, ctx, args...)
	if code != 2 || !strings.Contains(out, "missing permission: create pods/exec") {
		t.Errorf("preflight without create on pods/exec: exit %d, want 2 naming the verb:\n%s", code, out)
	}
	t.Logf("preflight with and without a verb took %s", time.Since(start).Round(time.Second))
}

func adminClient(t *testing.T, name string) (kubernetes.Interface, *rest.Config) {
	t.Helper()
	path, err := cluster.DefaultKubeconfigPath(name)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(rc), rc
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// renameRBAC appends suffix to every object's name and to the references
// between them.
func renameRBAC(doc *preflight.RBAC, suffix string) {
	doc.Namespace.Name += suffix
	doc.ServiceAccount.Name += suffix
	doc.ServiceAccount.Namespace = doc.Namespace.Name
	doc.ClusterRole.Name += suffix
	doc.Role.Name += suffix
	doc.ClusterRoleBinding.Name += suffix
	doc.ClusterRoleBinding.RoleRef.Name = doc.ClusterRole.Name
	doc.RoleBinding.Name += suffix
	doc.RoleBinding.RoleRef.Name = doc.Role.Name
	for _, b := range [][]rbacv1.Subject{doc.ClusterRoleBinding.Subjects, doc.RoleBinding.Subjects} {
		for i := range b {
			b[i].Name, b[i].Namespace = doc.ServiceAccount.Name, doc.Namespace.Name
		}
	}
}

// applyRBAC creates doc's objects and deletes them when the test ends.
func applyRBAC(t *testing.T, ctx context.Context, cs kubernetes.Interface, doc *preflight.RBAC) {
	t.Helper()
	bg := context.WithoutCancel(ctx)
	steps := []struct {
		create, remove func() error
	}{
		{func() error {
			_, err := cs.CoreV1().Namespaces().Create(ctx, doc.Namespace, metav1.CreateOptions{})
			return err
		},
			func() error { return cs.CoreV1().Namespaces().Delete(bg, doc.Namespace.Name, metav1.DeleteOptions{}) }},
		{func() error {
			_, err := cs.CoreV1().ServiceAccounts(doc.Namespace.Name).Create(ctx, doc.ServiceAccount, metav1.CreateOptions{})
			return err
		}, nil},
		{func() error {
			_, err := cs.RbacV1().ClusterRoles().Create(ctx, doc.ClusterRole, metav1.CreateOptions{})
			return err
		},
			func() error {
				return cs.RbacV1().ClusterRoles().Delete(bg, doc.ClusterRole.Name, metav1.DeleteOptions{})
			}},
		{func() error {
			_, err := cs.RbacV1().Roles(doc.Role.Namespace).Create(ctx, doc.Role, metav1.CreateOptions{})
			return err
		},
			func() error {
				return cs.RbacV1().Roles(doc.Role.Namespace).Delete(bg, doc.Role.Name, metav1.DeleteOptions{})
			}},
		{func() error {
			_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, doc.ClusterRoleBinding, metav1.CreateOptions{})
			return err
		}, func() error {
			return cs.RbacV1().ClusterRoleBindings().Delete(bg, doc.ClusterRoleBinding.Name, metav1.DeleteOptions{})
		}},
		{func() error {
			_, err := cs.RbacV1().RoleBindings(doc.RoleBinding.Namespace).Create(ctx, doc.RoleBinding, metav1.CreateOptions{})
			return err
		}, func() error {
			return cs.RbacV1().RoleBindings(doc.RoleBinding.Namespace).Delete(bg, doc.RoleBinding.Name, metav1.DeleteOptions{})
		}},
	}
	for _, s := range steps {
		if err := s.create(); err != nil {
			t.Fatalf("applying docs/rbac.yaml: %v", err)
		}
		if s.remove != nil {
			t.Cleanup(func() {
				if err := s.remove(); err != nil {
					t.Errorf("removing what the check applied: %v", err)
				}
			})
		}
	}
}

// waitAccess waits until user may (or may not) create pods/exec.
func waitAccess(t *testing.T, ctx context.Context, cs kubernetes.Interface, user string, allowed bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:serviceaccounts", "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Resource: "pods", Subresource: "exec"}},
		}, metav1.CreateOptions{})
		return err == nil && r.Status.Allowed == allowed, nil
	})
	if err != nil {
		t.Fatalf("%s: create pods/exec still not allowed=%v: %v", user, allowed, err)
	}
}

// serviceAccountKubeconfig writes a kubeconfig reaching the cluster as
// doc's ServiceAccount, with a token from the TokenRequest API.
func serviceAccountKubeconfig(t *testing.T, ctx context.Context, cs kubernetes.Interface, rc *rest.Config, doc *preflight.RBAC) string {
	t.Helper()
	tr, err := cs.CoreV1().ServiceAccounts(doc.Namespace.Name).CreateToken(ctx, doc.ServiceAccount.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca := rc.CAData
	if len(ca) == 0 && rc.CAFile != "" {
		if ca, err = os.ReadFile(rc.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "sa.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCaptured runs svccheck with args and returns its exit code and output.
func runCaptured(t *testing.T, ctx context.Context, args ...string) (int, string) {
	t.Helper()
	t.Logf("running %s %s", binary, strings.Join(args, " "))
	out, err := osexec.CommandContext(ctx, binary, args...).CombinedOutput()
	t.Logf("output:\n%s", out)
	if err == nil {
		return 0, string(out)
	}
	var ee *osexec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("running svccheck: %v", err)
	return -1, ""
}
