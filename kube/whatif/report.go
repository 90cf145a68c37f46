package whatif

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/migration"
)

// Report is what a write would change, by what it breaks.
type Report struct {
	// Writes describes the changes simulated, one line each.
	Writes []string
	// Unread lists the resources the snapshot did not read: a report
	// without breaks is not a clean bill while it is not empty.
	Unread []string
	// Unknown lists changes that name objects the snapshot does not hold.
	Unknown []string

	// Captured are pods ambient would carry that it does not now; Released
	// the pods it carries now and would not.
	Captured, Released []ambient.Key

	// NetworkPolicies are the new NetworkPolicy findings (HBONE, probes,
	// istiod blocked), each with its Patch.
	NetworkPolicies []finding.Finding
	// AuthorizationPolicies are new findings on AuthorizationPolicies,
	// selector policies with L7 rules that ztunnel would enforce first.
	AuthorizationPolicies []finding.Finding
	// Strict are the pods that would come under STRICT mTLS, which they do
	// not enforce now: callers outside the mesh lose them.
	Strict []Strict
	// StrictCallers counts the pods outside the mesh after the write
	// (data plane pods aside), the callers STRICT would turn away.
	StrictCallers int
	// StrictCallerNamespaces are the namespaces those callers run in, sorted.
	StrictCallerNamespaces []string
	// Sidecars are pods of the namespaces the write concerns that would
	// still run a sidecar, which ambient leaves alone.
	Sidecars []Sidecar
	// Other are the remaining new findings.
	Other []finding.Finding
	// Fixed are the findings the write would resolve.
	Fixed []finding.Finding
	// Pods is the analysis after the write of the pods in the namespaces
	// it concerns (labelled, or with pods labelled or restarted).
	Pods map[ambient.Key]ambient.PodInfo
}

// Strict is a pod that would come under STRICT mTLS.
type Strict struct {
	Pod ambient.Key
	By  ambient.Key // the PeerAuthentication that decides; zero for none named
}

// Sidecar is a pod that would keep its sidecar, and why.
type Sidecar struct {
	Pod   ambient.Key
	Owner string
	Why   string
}

// Breaks reports whether the write would break something: a new finding
// that is a warning or worse, a pod turning STRICT, or a sidecar left
// behind where the namespace is enrolled.
func (r Report) Breaks() bool {
	for _, fs := range [][]finding.Finding{r.NetworkPolicies, r.AuthorizationPolicies, r.Other} {
		for _, f := range fs {
			if f.Severity >= finding.Warning {
				return true
			}
		}
	}
	return (len(r.Strict) > 0 && r.StrictCallers > 0) || len(r.Sidecars) > 0
}

// Patches returns the suggested patches of the new NetworkPolicy findings.
func (r Report) Patches() []finding.Finding {
	var out []finding.Finding
	for _, f := range r.NetworkPolicies {
		if f.Patch != nil {
			out = append(out, f)
		}
	}
	return out
}

func (r *Report) compare(before, after *kube.Snapshot, w *world) {
	old := map[findingKey]bool{}
	for _, f := range before.Findings {
		old[keyOf(f)] = true
	}
	now := map[findingKey]bool{}
	for _, f := range after.Findings {
		now[keyOf(f)] = true
		if old[keyOf(f)] {
			continue
		}
		switch {
		case f.Object.Kind == "NetworkPolicy" || f.Patch != nil:
			r.NetworkPolicies = append(r.NetworkPolicies, f)
		case f.Object.Kind == "AuthorizationPolicy":
			r.AuthorizationPolicies = append(r.AuthorizationPolicies, f)
		case f.Code == "sidecar-in-ambient-namespace":
			// Said per pod in Sidecars.
		default:
			r.Other = append(r.Other, f)
		}
	}
	for _, f := range before.Findings {
		if !now[keyOf(f)] {
			r.Fixed = append(r.Fixed, f)
		}
	}

	callerNS := map[string]bool{}
	for _, p := range after.Pods {
		if p == nil {
			continue
		}
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		was, is := before.Mesh.Pods[k], after.Mesh.Pods[k]
		carried := func(st ambient.PodState) bool { return st == ambient.PodCaptured || st == ambient.PodPending }
		switch {
		case carried(is.State) && !carried(was.State):
			r.Captured = append(r.Captured, k)
		case !carried(is.State) && carried(was.State):
			r.Released = append(r.Released, k)
		}
		if carried(is.State) && is.MTLS.Strict && !inMesh(was.State) {
			r.Strict = append(r.Strict, Strict{Pod: k, By: is.MTLS.By})
		}
		if !inMesh(is.State) && !dataplane(p.Labels) {
			r.StrictCallers++
			callerNS[p.Namespace] = true
		}
		if w.touched[p.Namespace] {
			if r.Pods == nil {
				r.Pods = map[ambient.Key]ambient.PodInfo{}
			}
			r.Pods[k] = is
		}
		if is.State == ambient.PodSidecar && w.touched[p.Namespace] {
			r.Sidecars = append(r.Sidecars, Sidecar{Pod: k, Owner: is.Owner, Why: w.sidecarWhy(k, is.Owner)})
		}
	}
	for _, p := range before.Pods {
		if p == nil {
			continue
		}
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		if _, ok := after.Mesh.Pods[k]; !ok {
			if st := before.Mesh.Pods[k].State; st == ambient.PodCaptured || st == ambient.PodPending {
				r.Released = append(r.Released, k) // a removed waypoint's pods, say
			}
		}
	}
	if len(r.Strict) > 0 {
		r.StrictCallerNamespaces = slices.Sorted(maps.Keys(callerNS))
	}
	sortKeys(r.Captured)
	sortKeys(r.Released)
}

func sortKeys(ks []ambient.Key) {
	slices.SortFunc(ks, func(a, b ambient.Key) int { return strings.Compare(a.String(), b.String()) })
}

// dataplane reports whether a pod is Istio's own (ztunnel, istio-cni,
// waypoints, gateways): they hold mesh identities or never call workloads.
func dataplane(l map[string]string) bool {
	return l["app"] == "ztunnel" || l["k8s-app"] == "istio-cni-node" || l["app.kubernetes.io/name"] == "istio-cni" ||
		l[ambient.LabelGatewayName] != "" || l["app"] == "istiod"
}

// sidecarWhy says why a pod of a touched namespace keeps its sidecar.
func (w *world) sidecarWhy(k ambient.Key, owner string) string {
	var nl map[string]string
	for _, n := range w.c.Namespaces {
		if n != nil && n.Name == k.Namespace {
			nl = n.Labels
		}
	}
	inject, replaced := w.replaced[k]
	switch {
	case nl[ambient.LabelInjection] == "enabled":
		return "namespace " + k.Namespace + " keeps istio-injection=enabled, so new pods are injected again"
	case nl[ambient.LabelRev] != "" && nl[ambient.LabelInjection] == "":
		return "namespace " + k.Namespace + " keeps istio.io/rev, so new pods are injected again"
	case replaced && inject:
		return "its template asks for a sidecar (sidecar.istio.io/inject=true or istio.io/rev on the pod)"
	case !migration.Restartable(owner):
		return "owned by " + owner + ", which a rollout restart cannot replace: delete the pod to replace it"
	}
	return "not restarted: the sidecar stays until " + owner + " replaces the pod"
}

// Lines says what the write would break, one sentence each, for a confirm
// dialog: the worst first, lists shortened, nothing when nothing breaks
// (callers add Unread themselves when they show a clean verdict).
func (r Report) Lines() []string {
	var out []string
	for _, f := range r.NetworkPolicies {
		line := "Breaks: " + f.Title
		if f.Patch != nil && f.Patch.Command != "" {
			line += " — fix: " + f.Patch.Command
		}
		out = append(out, line)
	}
	for _, f := range r.AuthorizationPolicies {
		out = append(out, "Breaks: "+f.Object.Namespace+"/"+f.Object.Name+": "+f.Title+". "+f.Why)
	}
	if len(r.Strict) > 0 && r.StrictCallers > 0 {
		by := map[string]bool{}
		for _, s := range r.Strict {
			if s.By.Name != "" {
				by[s.By.String()] = true
			}
		}
		line := fmt.Sprintf("Breaks: %s under STRICT mTLS", count(len(r.Strict), "pod comes", "pods come"))
		if len(by) > 0 {
			line += " (" + strings.Join(slices.Sorted(maps.Keys(by)), ", ") + ")"
		}
		line += fmt.Sprintf(": %s outside the mesh (in %s) can no longer call them in plaintext; kubelet probes still pass.",
			count(r.StrictCallers, "pod", "pods"), list(r.StrictCallerNamespaces, 4))
		out = append(out, line)
	}
	if len(r.Sidecars) > 0 {
		byWhy := map[string][]string{}
		for _, s := range r.Sidecars {
			byWhy[s.Why] = append(byWhy[s.Why], s.Pod.String())
		}
		for _, why := range slices.Sorted(maps.Keys(byWhy)) {
			pods := byWhy[why]
			out = append(out, fmt.Sprintf("Stays on its sidecar: %s (%s).", list(pods, 3), why))
		}
	}
	for _, f := range r.Other {
		if f.Severity >= finding.Warning {
			out = append(out, "New "+f.Severity.String()+": "+f.Object.String()+": "+f.Title)
		}
	}
	for _, u := range r.Unknown {
		out = append(out, "Not simulated: "+u)
	}
	return out
}

// Summary is one line on what the write changes for the mesh.
func (r Report) Summary() string {
	var parts []string
	if n := len(r.Captured); n > 0 {
		parts = append(parts, count(n, "pod", "pods")+" captured")
	}
	if n := len(r.Released); n > 0 {
		parts = append(parts, count(n, "pod", "pods")+" leave ambient")
	}
	if n := len(r.Fixed); n > 0 {
		parts = append(parts, count(n, "finding", "findings")+" resolved")
	}
	if len(parts) == 0 {
		parts = append(parts, "no pod changes its dataplane")
	}
	s := "What-if: " + strings.Join(parts, ", ")
	if r.Breaks() {
		return s + "; it breaks:"
	}
	if len(r.Unread) > 0 {
		return s + "; nothing found to break, but " + strings.Join(r.Unread, ", ") + ", so this is not a clean bill"
	}
	return s + "; the analysis finds nothing it breaks."
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func list(items []string, most int) string {
	if len(items) <= most {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:most], ", ") + fmt.Sprintf(" and %d more", len(items)-most)
}
