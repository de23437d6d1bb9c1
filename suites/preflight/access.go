package preflight

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ProxyNamespace is where a run reads the Service proxy's DaemonSet,
// ConfigMaps and logs.
const ProxyNamespace = "kube-system"

// Access is one permission a run needs: a verb on a resource (with its
// subresource), cluster-wide or in one namespace.
type Access struct {
	// Group is the resource's API group, "" for the core group.
	Group string
	// Resource is the resource's plural name; Subresource is empty or,
	// for example, "exec" (pods/exec).
	Resource    string
	Subresource string
	// Verb is the RBAC verb: get, list, create, update, delete.
	Verb string
	// Namespace is empty for a cluster-scoped resource or one svccheck
	// uses in every namespace (its own namespaces have generated names, so
	// only a ClusterRole can grant them), else the one namespace.
	Namespace string
	// Why says what the run does with it.
	Why string
}

// ResourceName is resource or resource/subresource, as RBAC rules name it.
func (a Access) ResourceName() string {
	if a.Subresource == "" {
		return a.Resource
	}
	return a.Resource + "/" + a.Subresource
}

// String reads like "create pods/exec (in every namespace)".
func (a Access) String() string {
	res := a.ResourceName()
	if a.Group != "" {
		res += "." + a.Group
	}
	return fmt.Sprintf("%s %s (%s)", a.Verb, res, a.Scope())
}

// Scope is "in namespace X", "cluster-scoped" or "in every namespace".
func (a Access) Scope() string {
	switch {
	case a.Namespace != "":
		return "in namespace " + a.Namespace
	case clusterScoped[a.Resource]:
		return "cluster-scoped"
	default:
		return "in every namespace"
	}
}

var clusterScoped = map[string]bool{"namespaces": true, "nodes": true}

// rule is a group of verbs on one resource, to write Required compactly.
type rule struct {
	group, resource, sub, ns, why string
	verbs                         []string
}

// rules are what a run does on a cluster it did not make (specs labelled
// Disruptive and --break, which restart or redeploy the proxy, only run on
// kind clusters svccheck made, and are not counted).
var rules = []rule{
	{resource: "namespaces", verbs: []string{"create", "list", "delete"},
		why: "creates a namespace per spec and for the host pods, deletes them afterwards; cleanup lists them by label"},
	{resource: "nodes", verbs: []string{"list"}, why: "places agent and host pods on each node, dumps the nodes"},
	{resource: "pods", verbs: []string{"create", "get", "list", "delete"},
		why: "agent pods, host pods and the preflight's image pod in svccheck's namespaces; lists proxy pods in kube-system"},
	{resource: "pods", sub: "exec", verbs: []string{"create"}, why: "probes from agent pods and runs node commands in host pods"},
	{resource: "pods", sub: "status", verbs: []string{"update"}, why: "flips readiness gates of agent pods (terminating-endpoint specs)"},
	{resource: "pods", sub: "eviction", verbs: []string{"create"}, why: "evicts an agent pod (terminating-endpoint specs)"},
	{resource: "services", verbs: []string{"create", "get", "list", "update", "delete"}, why: "the Services under test; dumps list them"},
	{group: "discovery.k8s.io", resource: "endpointslices", verbs: []string{"create", "list"},
		why: "reads the Services' endpoints; creates a selectorless Service's slice; dumps list them"},
	{group: "apps", resource: "daemonsets", ns: ProxyNamespace, verbs: []string{"get", "list"},
		why: "detects the Service proxy and its image from its DaemonSet"},
	{resource: "configmaps", ns: ProxyNamespace, verbs: []string{"get"},
		why: "reads kubeadm-config (the Service range) and the kube-proxy configuration (its mode)"},
	{resource: "pods", sub: "log", ns: ProxyNamespace, verbs: []string{"get"}, why: "saves the proxy's logs with the node dumps"},
}

// Required returns every access a run needs, in a stable order.
func Required() []Access {
	var out []Access
	for _, r := range rules {
		for _, v := range r.verbs {
			out = append(out, Access{Group: r.group, Resource: r.resource, Subresource: r.sub, Verb: v, Namespace: r.ns, Why: r.why})
		}
	}
	return out
}

// missingAccess asks the API server, with one SelfSubjectAccessReview per
// access, which of want the caller lacks.
func missingAccess(ctx context.Context, cs kubernetes.Interface, want []Access) ([]Access, error) {
	var missing []Access
	for _, a := range want {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource,
			},
		}}
		got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("asking whether the caller may %s: %w", a, err)
		}
		if !got.Status.Allowed {
			missing = append(missing, a)
		}
	}
	return missing, nil
}

// describeMissing returns one line per missing access, with its reason.
func describeMissing(missing []Access) []string {
	out := make([]string, 0, len(missing))
	for _, a := range missing {
		out = append(out, fmt.Sprintf("missing permission: %s: svccheck %s", a, a.Why))
	}
	return out
}
