package writer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/whatif"
)

// MigratePlan plans the sidecar-to-ambient migration of a namespace: one
// JSON patch of the namespace that drops istio-injection and istio.io/rev
// and sets istio.io/dataplane-mode=ambient (guarded by its
// resourceVersion), then a rollout restart of only the workloads whose pods
// still carry sidecars, listed with the typed client. Either part is left
// out when there is nothing for it to do; the consequences end with the
// what-if of the whole migration.
func (w *Writer) MigratePlan(ctx context.Context, ns *corev1.Namespace, s *kube.Snapshot) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	if ns == nil || ns.Name == "" {
		return Plan{}, &Error{Kind: KindOther, Line: "no namespace selected"}
	}
	// The restarts are chosen from the pods' analysis: planned from a
	// snapshot whose pods are still loading, the migration would relabel
	// the namespace and restart nothing, leaving every sidecar in place.
	if gaps := s.Unread(kube.ResNamespaces, kube.ResPods); len(gaps) > 0 {
		parts := make([]string, len(gaps))
		for i, g := range gaps {
			parts[i] = g.String()
		}
		return Plan{}, &Error{Kind: KindOther, Line: strings.Join(parts, ", ") + ": the migration is planned from the pods, try again once they are read"}
	}
	v := newView(s)
	if v.excluded(ns.Name) {
		return Plan{}, &Error{Kind: KindNothing, Line: "istio-cni excludes " + ns.Name + ": its pods can never move to ambient"}
	}
	nsRef := finding.Ref{Kind: KindNamespace, Name: ns.Name}
	p := Plan{
		ID:     planID("migrate", nsRef, ns.ResourceVersion),
		Title:  "Migrate namespace " + ns.Name + " from sidecars to ambient",
		Target: nsRef,
	}
	var parts, done []string
	body, err := labelPatch(ns,
		labelChange{Key: ambient.LabelInjection, Remove: true},
		labelChange{Key: ambient.LabelRev, Remove: true},
		labelChange{Key: ambient.LabelDataplaneMode, Value: modeAmbient})
	switch {
	case err == errNoChange:
	case err != nil:
		return Plan{}, planError(err, "namespace "+ns.Name)
	default:
		p.Targets = append(p.Targets, nsRef)
		p.steps = append(p.steps, newStep(nsRef, types.JSONPatchType, body))
		p.Patch = "namespace " + ns.Name + " (JSON patch):\n" + string(body)
		p.PatchType = types.JSONPatchType
		parts = append(parts, "labels namespace "+ns.Name+" "+ambient.LabelDataplaneMode+"=ambient"+dropped(ns))
		d := "namespace enrolled"
		if x := dropped(ns); x != "" {
			d += ", " + strings.TrimPrefix(x, " and removes ") + " removed"
		}
		done = append(done, d)
	}

	workloads, err := w.listWorkloads(ctx, ns.Name)
	if err != nil {
		return Plan{}, err
	}
	owners := whatif.SidecarOwners(s, ns.Name)
	var chosen []Workload
	var missing, paused []string
	for _, o := range owners {
		i := slices.IndexFunc(workloads, func(wl Workload) bool { return wl.owner() == o })
		if i < 0 {
			missing = append(missing, o)
			continue
		}
		chosen = append(chosen, workloads[i])
		if workloads[i].Paused {
			paused = append(paused, o)
		}
	}
	if len(chosen) > 0 {
		rb, err := restartPatch(w.now())
		if err != nil {
			return Plan{}, planError(err, "namespace "+ns.Name)
		}
		var names []string
		for _, wl := range chosen {
			ref := finding.Ref{Kind: wl.Kind, Namespace: ns.Name, Name: wl.Name}
			p.Targets = append(p.Targets, ref)
			p.steps = append(p.steps, newStep(ref, types.StrategicMergePatchType, rb))
			names = append(names, wl.owner())
		}
		if p.Patch != "" {
			p.Patch += "\n\nthen "
		}
		p.Patch += "on each of " + strings.Join(names, ", ") + " (strategic merge patch, as kubectl rollout restart):\n" + string(rb)
		if p.PatchType == "" {
			p.PatchType = types.StrategicMergePatchType
		}
		parts = append(parts, "restarts "+strings.Join(names, ", ")+", the workloads whose pods carry sidecars")
		done = append(done, fmt.Sprintf("restarting %d workload%s", len(names), plural(len(names), "", "s")))
	}
	if len(p.steps) == 0 {
		line := "nothing to migrate in " + ns.Name + ": it is enrolled, injects no sidecars and no workload owns a sidecar pod"
		if len(missing) > 0 {
			line = "nothing ambx can restart in " + ns.Name + ": the sidecar pods of " + strings.Join(missing, ", ") + " need their owners (or deleting them) to be replaced"
		}
		return Plan{}, &Error{Kind: KindNothing, Line: line}
	}
	p.Description = upper(strings.Join(parts, ", then ")) + "."
	p.Done = "migrating " + ns.Name + ": " + strings.Join(done, ", ")

	p.Consequences = append(p.Consequences, v.migrationLabels(ns)...)
	if len(chosen) > 0 {
		p.Consequences = append(p.Consequences, fmt.Sprintf("Restarts %d of the %d workloads in %s; each controller replaces its pods following its rollout strategy, and running connections to old pods end.", len(chosen), len(workloads), ns.Name))
	}
	if len(paused) > 0 {
		p.Consequences = append(p.Consequences, strings.Join(paused, ", ")+" "+plural(len(paused), "is", "are")+" paused: nothing rolls out until resumed.")
	}
	if len(missing) > 0 {
		p.Consequences = append(p.Consequences, "Sidecar pods of "+strings.Join(missing, ", ")+" stay: only their owners (or deleting them) can replace them.")
	}
	p.whatIf = whatIf(s, whatif.MigrateNamespace(s, ns.Name)...)
	return p, nil
}

// dropped names the injection labels a migration removes.
func dropped(ns *corev1.Namespace) string {
	var out []string
	for _, k := range []string{ambient.LabelInjection, ambient.LabelRev} {
		if v, ok := ns.Labels[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " and removes " + strings.Join(out, " and ")
}

// migrationLabels says what dropping the injection labels decides besides
// sidecars: the revision label also picks the control plane of the
// namespace's waypoints (ambient-reference 1.1, tag_watcher.go IsMine).
func (v view) migrationLabels(ns *corev1.Namespace) []string {
	var out []string
	if _, ok := ns.Labels[ambient.LabelInjection]; ok || ns.Labels[ambient.LabelRev] != "" {
		out = append(out, "New pods in "+ns.Name+" no longer get sidecars; istio-cni captures them into ambient as they start.")
	}
	if rev, ok := ns.Labels[ambient.LabelRev]; ok {
		line := "istio.io/rev=" + rev + " also picks the control plane of this namespace's waypoints: Gateways here without their own istio.io/rev move to the default revision"
		var moved []string
		for _, wp := range v.mesh.Waypoints {
			if wp.Key.Namespace == ns.Name && wp.Revision == rev {
				if gw := v.gateway(wp.Key); gw == nil || gw.Labels[ambient.LabelRev] == "" {
					moved = append(moved, wp.Key.Name)
				}
			}
		}
		if len(moved) > 0 {
			line += " (" + strings.Join(moved, ", ") + ")"
		} else {
			line += " (none here now)"
		}
		out = append(out, line+". If the default revision's istiod is not the one you meant, label those Gateways istio.io/rev="+rev+" first.")
	}
	return out
}

func (v view) gateway(k ambient.Key) *gwv1.Gateway {
	for _, g := range v.c.Gateways {
		if g != nil && g.Namespace == k.Namespace && g.Name == k.Name {
			return g
		}
	}
	return nil
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
