package ambient_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
)

// TestDemoPlantedMistakes: the demo's planted ambient mistakes, and nothing
// else, show up as findings (the NetworkPolicy ones belong to kube/netpol).
func TestDemoPlantedMistakes(t *testing.T) {
	a := ambient.Analyze(demo.Objects(demo.Epoch))
	want := []string{
		"error policy-l7-on-ztunnel AuthorizationPolicy argo-workflows/argo-server-api",
		"error policy-l7-on-ztunnel AuthorizationPolicy trivy-system/trivy-server-deny-cache-deletes",
		"error waypoint-missing Service example-worker/worker",
		"warning pod-needs-restart Namespace unipoller",
		"warning peerauthentication-disable-lifts-strict PeerAuthentication trivy-system/trivy-plaintext",
	}
	if got := codes(a.Findings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	restart := findingsFor(a, "pod-needs-restart")[0]
	if restart.Title != "1 pod not captured by ambient: deployment/unpoller" || !strings.HasPrefix(restart.Fix, "kubectl logs -n istio-system istio-cni-node-") || !strings.HasSuffix(restart.Fix, "\nkubectl rollout restart -n unipoller deployment/unpoller") {
		t.Errorf("restart finding = %q / %q", restart.Title, restart.Fix)
	}
	unpoller := podOf(a, "unipoller", "deployment/unpoller")
	if p := a.Pods[key("unipoller", unpoller)]; p.State != ambient.PodNeedsRestart {
		t.Errorf("unpoller pod = %+v", p)
	}
	// The pod to restart carries the mark on its own row, not only the namespace.
	if want := []finding.Ref{{Kind: "Pod", Namespace: "unipoller", Name: unpoller}}; !slices.Equal(restart.Affects, want) {
		t.Errorf("restart finding affects %v, want %v", restart.Affects, want)
	}
	worker := a.Services[key("example-worker", "worker")].Waypoint
	if worker.Reason != ambient.ReasonWaypointNotReady || worker.Waypoint != key("example-worker", "worker-waypoint") {
		t.Errorf("worker binding = %+v", worker)
	}
	deny, _ := a.Policy("AuthorizationPolicy", key("trivy-system", "trivy-server-deny-cache-deletes"))
	if deny.EnforcedBy != ambient.EnforcedByZtunnel || !strings.HasPrefix(deny.Effect, "Denies less than written: rule 1 never fires") {
		t.Errorf("trivy-server-deny-cache-deletes = %+v", deny)
	}
	if f := findingsFor(a, "policy-l7-on-ztunnel"); len(f) != 2 || f[1].Title != "L7 DENY policy denies less than written on ambient pods" {
		t.Errorf("L7 findings = %+v", f)
	}
	if p := a.Pods[key("trivy-system", podOf(a, "trivy-system", "deployment/trivy-operator"))]; p.MTLS.Strict || p.MTLS.By != key("trivy-system", "trivy-plaintext") {
		t.Errorf("trivy-operator mTLS = %+v, want PERMISSIVE by the DISABLE", p.MTLS)
	}
	argo, _ := a.Policy("AuthorizationPolicy", key("argo-workflows", "argo-server-api"))
	if argo.EnforcedBy != ambient.EnforcedByZtunnel || argo.Layer != ambient.L7 || !argo.HasFindings {
		t.Errorf("argo-server-api = %+v", argo)
	}
}

func podOf(a *ambient.Analysis, ns, owner string) string {
	for k, p := range a.Pods {
		if k.Namespace == ns && p.Owner == owner {
			return k.Name
		}
	}
	return ""
}

// TestDemoAgreesWithIstiod compares the analysis with the status conditions
// istiod wrote on the demo's objects: where istiod has spoken, the analysis
// must say the same.
func TestDemoAgreesWithIstiod(t *testing.T) {
	c := demo.Objects(demo.Epoch)
	a := ambient.Analyze(c)
	checked := 0
	for _, s := range c.Services {
		for _, cond := range s.Status.Conditions {
			if cond.Type != ambient.ConditionWaypointBound {
				continue
			}
			checked++
			b := a.Services[key(s.Namespace, s.Name)].Waypoint
			switch cond.Status {
			case "True":
				if !b.Bound() || !strings.HasPrefix(cond.Message, "Successfully attached to waypoint "+b.Waypoint.String()) {
					t.Errorf("Service %s/%s: istiod says %q, analysis %+v", s.Namespace, s.Name, cond.Message, b)
				}
			default:
				if b.Reason != cond.Reason || b.Problem != cond.Message {
					t.Errorf("Service %s/%s: istiod says %s %q, analysis %s %q", s.Namespace, s.Name, cond.Reason, cond.Message, b.Reason, b.Problem)
				}
			}
		}
	}
	for _, p := range c.AuthorizationPolicies {
		info, _ := a.Policy("AuthorizationPolicy", key(p.Namespace, p.Name))
		for _, cond := range p.Status.Conditions {
			checked++
			switch cond.Type {
			case "ZtunnelAccepted":
				if info.EnforcedBy != ambient.EnforcedByZtunnel {
					t.Errorf("%s/%s: istiod attached it to ztunnel, analysis says %s", p.Namespace, p.Name, info.EnforcedBy)
				}
				if cond.Reason == "UnsupportedValue" && !strings.Contains(cond.Message, "(found: "+strings.Join(info.L7Fields, ", ")+")") {
					t.Errorf("%s/%s: istiod found %q, analysis %v", p.Namespace, p.Name, cond.Message, info.L7Fields)
				}
			case "WaypointAccepted":
				if info.EnforcedBy != ambient.EnforcedByWaypoint || (cond.Status == "True") != (len(info.BoundTo) > 0) {
					t.Errorf("%s/%s: istiod says %s=%s %q, analysis %s %v", p.Namespace, p.Name, cond.Type, cond.Status, cond.Message, info.EnforcedBy, info.BoundTo)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("the demo carries no istiod conditions to compare with")
	}
}
