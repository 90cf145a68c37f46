package rbac

import (
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/ambx/ambx/kube"
)

// groupOf is the API group of each resource kube.Source watches. A new
// watched resource fails this test until it is added here and to both
// roles.
var groupOf = map[kube.Resource]string{
	kube.ResNamespaces: "", kube.ResPods: "", kube.ResServices: "", kube.ResNodes: "", kube.ResIstioConfigMaps: "",
	kube.ResNetworkPolicies: "networking.k8s.io",
	kube.ResGateways:        "gateway.networking.k8s.io", kube.ResGatewayClasses: "gateway.networking.k8s.io",
	kube.ResAuthorizationPolicies: "security.istio.io", kube.ResPeerAuthentications: "security.istio.io", kube.ResRequestAuthentications: "security.istio.io",
	kube.ResServiceEntries: "networking.istio.io", kube.ResWorkloadEntries: "networking.istio.io",
	kube.ResIstiodDeployments: "apps", kube.ResDataplaneDaemonSets: "apps",
	kube.ResIstioWebhooks: "admissionregistration.k8s.io",
}

// grants flattens rules into "group/resource verb" strings.
func grants(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, g+"/"+res+" "+v)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readGrants are exactly what ambx reads: list and watch of every watched
// resource, the metrics API, the ztunnel views' log, proxy and
// port-forward, and the events view's list.
func readGrants(t *testing.T) []string {
	var want []string
	for _, r := range kube.Resources {
		g, ok := groupOf[r]
		if !ok {
			t.Fatalf("kube.Source watches %s, which neither role grants: add it to auditor.yaml, operator.yaml and groupOf", r)
		}
		want = append(want, g+"/"+string(r)+" list", g+"/"+string(r)+" watch")
	}
	want = append(want, "metrics.k8s.io/pods list", "metrics.k8s.io/nodes list",
		"/pods/log get", "/pods/proxy get", "/pods/portforward create", "/events list")
	slices.Sort(want)
	return want
}

func TestAuditorGrantsExactlyWhatAmbxReads(t *testing.T) {
	role, binding, err := Objects(AuditorYAML)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := grants(role.Rules), readGrants(t); !slices.Equal(got, want) {
		t.Errorf("ambx-auditor grants\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if binding.RoleRef.Name != role.Name || role.Name != "ambx-auditor" {
		t.Errorf("binding refers to %q, role is %q", binding.RoleRef.Name, role.Name)
	}
}

func TestOperatorGrantsReadsAndTheWritesOfItsKeys(t *testing.T) {
	role, binding, err := Objects(OperatorYAML)
	if err != nil {
		t.Fatal(err)
	}
	// kube/writer patches these kinds (writer.send), lists workloads
	// before a restart (writer.listWorkloads) and creates and deletes
	// waypoints (writer.sendGateway).
	want := append(readGrants(t), "/namespaces patch", "/pods patch", "/services patch",
		"apps/deployments patch", "apps/statefulsets patch", "apps/daemonsets patch",
		"apps/deployments list", "apps/statefulsets list", "apps/daemonsets list",
		"gateway.networking.k8s.io/gateways create", "gateway.networking.k8s.io/gateways delete")
	slices.Sort(want)
	want = slices.Compact(want)
	if got := grants(role.Rules); !slices.Equal(got, want) {
		t.Errorf("ambx-operator grants\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if binding.RoleRef.Name != role.Name || role.Name != "ambx-operator" {
		t.Errorf("binding refers to %q, role is %q", binding.RoleRef.Name, role.Name)
	}
}
