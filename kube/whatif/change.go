// Package whatif answers "what would this write break?" before it is sent:
// it applies hypothetical changes to a copy of a snapshot's objects, lets
// istio-cni and the workload controllers act on them the way they would
// (capture, release, pods replaced without their sidecar), runs the same
// analyses the snapshot was built with, and reports the difference. It is
// pure: no I/O, and the snapshot it reads is never modified.
//
// The API is three steps, each a value:
//
//	changes := whatif.EnrollNamespace("shop")            // or Labels, Restart, AddGateway, RemoveGateway
//	r := whatif.Run(snap, changes...)                   // the analysis of the state the write would produce
//	if r.Breaks() { dialog.Consequences = append(dialog.Consequences, r.Lines()...) }
package whatif

import (
	"maps"
	"slices"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/migration"
)

// Kinds a Labels change can target, spelled as in finding.Ref.
const (
	KindNamespace     = "Namespace"
	KindPod           = "Pod"
	KindService       = "Service"
	KindServiceEntry  = "ServiceEntry"
	KindWorkloadEntry = "WorkloadEntry"
	KindGateway       = "Gateway"
)

type changeKind int

const (
	changeLabels changeKind = iota
	changeRestart
	changeAddGateway
	changeRemoveGateway
)

// Change is one hypothetical write. Build it with Labels, Restart,
// AddGateway or RemoveGateway; the zero value changes nothing.
type Change struct {
	kind   changeKind
	ref    finding.Ref
	set    map[string]string
	remove []string
	owners []string
	gw     *gwv1.Gateway
}

// Labels sets and removes labels of one object, as a label patch would.
// The object's kind is one of the Kind constants; an object that is not in
// the snapshot makes Run report it in Report.Unknown.
func Labels(obj finding.Ref, set map[string]string, remove ...string) Change {
	return Change{kind: changeLabels, ref: obj, set: maps.Clone(set), remove: slices.Clone(remove)}
}

// Restart replaces the pods of the given workloads of namespace, as
// `kubectl rollout restart` makes their controllers do. Owners are written
// as ambient.PodInfo.Owner ("deployment/web", "statefulset/db"); with none,
// every Deployment, StatefulSet and DaemonSet of the namespace restarts.
// A replacement gets a sidecar exactly when the injector would give it one
// after the other changes of the same Run.
func Restart(namespace string, owners ...string) Change {
	return Change{kind: changeRestart, ref: finding.Ref{Kind: KindNamespace, Name: namespace}, owners: slices.Clone(owners)}
}

// AddGateway adds a Gateway (a waypoint, when its class is istio-waypoint)
// or replaces the one with its namespace and name. Its status is taken as
// given: pass Programmed and an address to ask about the waypoint once
// istiod has programmed it. Waypoint pods are not invented, so the
// NetworkPolicy checks of traffic through it see no waypoint pods.
func AddGateway(gw *gwv1.Gateway) Change {
	if gw == nil {
		return Change{}
	}
	return Change{kind: changeAddGateway, ref: finding.Ref{Kind: KindGateway, Namespace: gw.Namespace, Name: gw.Name}, gw: gw.DeepCopy()}
}

// RemoveGateway deletes a Gateway and, as garbage collection would, the
// pods istiod deployed for it (labelled gateway.networking.k8s.io/gateway-name).
func RemoveGateway(namespace, name string) Change {
	return Change{kind: changeRemoveGateway, ref: finding.Ref{Kind: KindGateway, Namespace: namespace, Name: name}}
}

// String describes the change in a few words, for reports.
func (c Change) String() string {
	switch c.kind {
	case changeLabels:
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(c.set)) {
			parts = append(parts, k+"="+c.set[k])
		}
		for _, k := range c.remove {
			parts = append(parts, k+"-")
		}
		return "label " + strings.ToLower(c.ref.Kind) + " " + name(c.ref) + " " + strings.Join(parts, " ")
	case changeRestart:
		if len(c.owners) == 0 {
			return "restart every workload in " + c.ref.Name
		}
		return "restart " + strings.Join(c.owners, ", ") + " in " + c.ref.Name
	case changeAddGateway:
		return "apply gateway " + name(c.ref)
	case changeRemoveGateway:
		return "delete gateway " + name(c.ref)
	}
	return ""
}

func name(r finding.Ref) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// EnrollNamespace is labelling ns istio.io/dataplane-mode=ambient, what
// the a key does on a namespace that is not enrolled.
func EnrollNamespace(ns string) []Change {
	return []Change{Labels(finding.Ref{Kind: KindNamespace, Name: ns}, map[string]string{ambient.LabelDataplaneMode: "ambient"})}
}

// LeaveNamespace is removing the namespace's istio.io/dataplane-mode label.
func LeaveNamespace(ns string) []Change {
	return []Change{Labels(finding.Ref{Kind: KindNamespace, Name: ns}, nil, ambient.LabelDataplaneMode)}
}

// MigrateNamespace is the sidecar-to-ambient migration of ns: its
// injection labels (istio-injection, istio.io/rev) dropped, the namespace
// enrolled, and the workloads whose pods carry sidecars restarted (those
// SidecarOwners names from s).
func MigrateNamespace(s *kube.Snapshot, ns string) []Change {
	out := []Change{Labels(finding.Ref{Kind: KindNamespace, Name: ns},
		map[string]string{ambient.LabelDataplaneMode: "ambient"}, ambient.LabelInjection, ambient.LabelRev)}
	if owners := SidecarOwners(s, ns); len(owners) > 0 {
		out = append(out, Restart(ns, owners...))
	}
	return out
}

// SidecarOwners lists, sorted, the restartable workloads (deployment/x,
// statefulset/x, daemonset/x) of ns that own at least one sidecar pod.
func SidecarOwners(s *kube.Snapshot, ns string) []string {
	if s == nil || s.Mesh == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, p := range s.Pods {
		if p == nil || p.Namespace != ns {
			continue
		}
		info := s.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]
		if info.State == ambient.PodSidecar && migration.Restartable(info.Owner) {
			seen[info.Owner] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
