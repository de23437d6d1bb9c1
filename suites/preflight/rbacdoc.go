package preflight

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// RBAC is the objects of docs/rbac.yaml: the ServiceAccount of a CI job (in
// its namespace), the ClusterRole and the kube-system Role svccheck needs,
// and their bindings to the ServiceAccount.
type RBAC struct {
	Namespace          *corev1.Namespace
	ServiceAccount     *corev1.ServiceAccount
	ClusterRole        *rbacv1.ClusterRole
	Role               *rbacv1.Role
	ClusterRoleBinding *rbacv1.ClusterRoleBinding
	RoleBinding        *rbacv1.RoleBinding
}

// ParseRBAC reads a multi-document YAML holding one object of each kind
// of RBAC.
func ParseRBAC(data []byte) (*RBAC, error) {
	r := &RBAC{}
	for i, doc := range bytes.Split(data, []byte("\n---")) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("parsing document %d: %w", i+1, err)
		}
		var target any
		switch meta.Kind {
		case "":
			continue
		case "Namespace":
			target = &r.Namespace
		case "ServiceAccount":
			target = &r.ServiceAccount
		case "ClusterRole":
			target = &r.ClusterRole
		case "Role":
			target = &r.Role
		case "ClusterRoleBinding":
			target = &r.ClusterRoleBinding
		case "RoleBinding":
			target = &r.RoleBinding
		default:
			return nil, fmt.Errorf("document %d: unexpected kind %s", i+1, meta.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, target); err != nil {
			return nil, fmt.Errorf("parsing document %d (%s): %w", i+1, meta.Kind, err)
		}
	}
	if r.Namespace == nil || r.ServiceAccount == nil || r.ClusterRole == nil || r.Role == nil || r.ClusterRoleBinding == nil || r.RoleBinding == nil {
		return nil, fmt.Errorf("want a Namespace, ServiceAccount, ClusterRole, Role, ClusterRoleBinding and RoleBinding, got %+v", r)
	}
	return r, nil
}

// Granted returns every access the ClusterRole (cluster-wide) and the Role
// (in its namespace) grant, one per group, resource and verb, sorted.
func (r *RBAC) Granted() []Access {
	out := expandRules(r.ClusterRole.Rules, "")
	out = append(out, expandRules(r.Role.Rules, r.Role.Namespace)...)
	SortAccess(out)
	return out
}

func expandRules(rules []rbacv1.PolicyRule, ns string) []Access {
	var out []Access
	for _, rule := range rules {
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				name, sub, _ := strings.Cut(res, "/")
				for _, v := range rule.Verbs {
					out = append(out, Access{Group: g, Resource: name, Subresource: sub, Verb: v, Namespace: ns})
				}
			}
		}
	}
	return out
}

// SortAccess sorts by namespace, group, resource, subresource and verb.
func SortAccess(a []Access) {
	slices.SortFunc(a, func(x, y Access) int {
		return strings.Compare(x.key(), y.key())
	})
}

func (a Access) key() string {
	return strings.Join([]string{a.Namespace, a.Group, a.Resource, a.Subresource, a.Verb}, "\x00")
}

// RemoveVerb removes verb from the rules of the ClusterRole on resource
// (resource or resource/subresource), reporting whether it was there; a
// rule left with no verb is dropped.
func (r *RBAC) RemoveVerb(resource, verb string) bool {
	removed := false
	rules := r.ClusterRole.Rules[:0]
	for _, rule := range r.ClusterRole.Rules {
		if slices.Contains(rule.Resources, resource) && slices.Contains(rule.Verbs, verb) {
			rule.Verbs = slices.DeleteFunc(slices.Clone(rule.Verbs), func(v string) bool { return v == verb })
			removed = true
		}
		if len(rule.Verbs) > 0 {
			rules = append(rules, rule)
		}
	}
	r.ClusterRole.Rules = rules
	return removed
}
