package preflight

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestRBACDocGrantsExactlyRequired keeps docs/rbac.yaml and the preflight
// equal: every access the preflight asks for is granted there, and nothing
// else is.
func TestRBACDocGrantsExactlyRequired(t *testing.T) {
	data, err := os.ReadFile("../../docs/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseRBAC(data)
	if err != nil {
		t.Fatal(err)
	}
	want := Required()
	SortAccess(want)
	if diff := cmp.Diff(want, doc.Granted(), cmpopts.IgnoreFields(Access{}, "Why")); diff != "" {
		t.Errorf("docs/rbac.yaml grants differently from what the preflight checks (-preflight +rbac.yaml):\n%s", diff)
	}
	sa := doc.ServiceAccount
	for _, s := range append(doc.ClusterRoleBinding.Subjects, doc.RoleBinding.Subjects...) {
		if s.Kind != "ServiceAccount" || s.Name != sa.Name || s.Namespace != sa.Namespace {
			t.Errorf("a binding names %s %s/%s, want the ServiceAccount %s/%s", s.Kind, s.Namespace, s.Name, sa.Namespace, sa.Name)
		}
	}
	if got := doc.ClusterRoleBinding.RoleRef; got.Kind != "ClusterRole" || got.Name != doc.ClusterRole.Name {
		t.Errorf("the ClusterRoleBinding refers to %s %s, want ClusterRole %s", got.Kind, got.Name, doc.ClusterRole.Name)
	}
	if got := doc.RoleBinding.RoleRef; got.Kind != "Role" || got.Name != doc.Role.Name || doc.RoleBinding.Namespace != doc.Role.Namespace {
		t.Errorf("the RoleBinding (namespace %s) refers to %s %s, want Role %s in %s", doc.RoleBinding.Namespace, got.Kind, got.Name, doc.Role.Name, doc.Role.Namespace)
	}
	if doc.Role.Namespace != ProxyNamespace {
		t.Errorf("the Role is in %q, want %s", doc.Role.Namespace, ProxyNamespace)
	}
	if _, managed := doc.Namespace.Labels["app.kubernetes.io/managed-by"]; managed {
		t.Errorf("namespace %s must not carry svccheck's label: svccheck cleanup would delete it", doc.Namespace.Name)
	}
}

func TestRemoveVerb(t *testing.T) {
	data, err := os.ReadFile("../../docs/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseRBAC(data)
	if err != nil {
		t.Fatal(err)
	}
	before := len(doc.Granted())
	if !doc.RemoveVerb("pods/exec", "create") {
		t.Fatal("create pods/exec not found")
	}
	if doc.RemoveVerb("pods/exec", "create") {
		t.Error("create pods/exec removed twice")
	}
	if got := len(doc.Granted()); got != before-1 {
		t.Errorf("granted %d after removing one verb, want %d", got, before-1)
	}
}
