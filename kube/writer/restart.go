package writer

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// AnnotationRestartedAt is the pod-template annotation `kubectl rollout
// restart` sets; changing the template makes the controller replace pods.
const AnnotationRestartedAt = "kubectl.kubernetes.io/restartedAt"

// RestartScope chooses which workloads a restart plan includes.
type RestartScope int

// Restart scopes.
const (
	// RestartNeeded includes only workloads owning pods that a restart
	// would change: pods the analysis marks "restart", and sidecar pods of
	// an ambient namespace that no longer injects sidecars.
	RestartNeeded RestartScope = iota
	// RestartAll includes every Deployment, StatefulSet and DaemonSet.
	RestartAll
)

// Workload is a restartable controller in a namespace.
type Workload struct {
	Kind   string // Deployment, StatefulSet or DaemonSet
	Name   string
	Paused bool // a paused Deployment does not roll out until resumed
}

// owner is the workload's name in ambient.PodInfo.Owner form.
func (wl Workload) owner() string { return strings.ToLower(wl.Kind) + "/" + wl.Name }

// RestartPlan lists the namespace's Deployments, StatefulSets and
// DaemonSets with the typed client and plans `kubectl rollout restart` on
// those scope selects.
func (w *Writer) RestartPlan(ctx context.Context, ns string, s *kube.Snapshot, scope RestartScope) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	if ns == "" {
		return Plan{}, &Error{Kind: KindOther, Line: "no namespace selected"}
	}
	workloads, err := w.listWorkloads(ctx, ns)
	if err != nil {
		return Plan{}, err
	}
	return planRestart(ns, workloads, newView(s), scope, w.now())
}

func (w *Writer) listWorkloads(ctx context.Context, ns string) ([]Workload, error) {
	var out []Workload
	list := func(kind string, err error) error {
		if err == nil {
			return nil
		}
		return w.explain(ctx, err, step{
			target:   finding.Ref{Kind: kind, Namespace: ns},
			resource: Access{Verb: "list", Group: "apps", Resource: strings.ToLower(kind) + "s", Namespace: ns},
		})
	}
	deps, err := w.kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err := list(KindDeployment, err); err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		out = append(out, Workload{Kind: KindDeployment, Name: d.Name, Paused: d.Spec.Paused})
	}
	sts, err := w.kube.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err := list(KindStatefulSet, err); err != nil {
		return nil, err
	}
	for _, d := range sts.Items {
		out = append(out, Workload{Kind: KindStatefulSet, Name: d.Name})
	}
	dss, err := w.kube.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err := list(KindDaemonSet, err); err != nil {
		return nil, err
	}
	for _, d := range dss.Items {
		out = append(out, Workload{Kind: KindDaemonSet, Name: d.Name})
	}
	return out, nil
}

// restartPatch is the strategic merge patch kubectl sends: it sets one
// annotation of the pod template and leaves every other field alone, so a
// concurrent change to the workload is kept, not overwritten. It is
// indented because the dialog shows the bytes sent.
func restartPatch(at time.Time) ([]byte, error) {
	type meta struct {
		Annotations map[string]string `json:"annotations"`
	}
	type template struct {
		Metadata meta `json:"metadata"`
	}
	type spec struct {
		Template template `json:"template"`
	}
	return json.MarshalIndent(struct {
		Spec spec `json:"spec"`
	}{spec{template{meta{map[string]string{AnnotationRestartedAt: at.Format(time.RFC3339)}}}}}, "", "  ")
}

// needsRestart says why a restart would change the pod, or "" if it would not.
func (v view) needsRestart(p *corev1.Pod) string {
	switch v.state(p) {
	case ambient.PodNeedsRestart:
		return "restart"
	case ambient.PodSidecar:
		ns := v.namespace(p.Namespace)
		// Injected again on restart: by its namespace or its own label.
		if ns == nil || ns.Labels[ambient.LabelDataplaneMode] != modeAmbient || injection(ns) != "" || p.Labels["sidecar.istio.io/inject"] == "true" {
			return ""
		}
		return "sidecar"
	}
	return ""
}

func planRestart(ns string, workloads []Workload, v view, scope RestartScope, now time.Time) (Plan, error) {
	// Which workloads own pods that need a restart, and how many.
	need := map[string]int{}
	sidecars := map[string]int{}
	var orphans []string
	for _, p := range v.podsIn(ns) {
		why := v.needsRestart(p)
		if why == "" {
			continue
		}
		owner := v.mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].Owner
		need[owner]++
		if why == "sidecar" {
			sidecars[owner]++
		}
	}
	known := map[string]bool{}
	for _, wl := range workloads {
		known[wl.owner()] = true
	}
	for owner := range need {
		if !known[owner] {
			if owner == "" {
				owner = "unknown owner"
			}
			orphans = append(orphans, owner)
		}
	}
	sort.Strings(orphans)

	var chosen []Workload
	for _, wl := range workloads {
		if scope == RestartAll || need[wl.owner()] > 0 {
			chosen = append(chosen, wl)
		}
	}
	sort.Slice(chosen, func(i, j int) bool {
		if chosen[i].Kind != chosen[j].Kind {
			return chosen[i].Kind < chosen[j].Kind
		}
		return chosen[i].Name < chosen[j].Name
	})
	if len(chosen) == 0 {
		line := "nothing to restart in " + ns + ": no Deployment, StatefulSet or DaemonSet"
		if scope == RestartNeeded {
			line = "nothing in " + ns + " needs a restart: no workload owns a pod waiting for one"
			if len(orphans) > 0 {
				line += " (pods of " + strings.Join(orphans, ", ") + " do, but only their owners can replace them)"
			}
		}
		return Plan{}, &Error{Kind: KindNothing, Line: line}
	}

	body, err := restartPatch(now)
	if err != nil {
		return Plan{}, planError(err, "namespace "+ns)
	}
	nsRef := finding.Ref{Kind: KindNamespace, Name: ns}
	p := Plan{
		ID:        fmt.Sprintf("restart %s@%s", nsRef, now.Format(time.RFC3339)),
		Patch:     string(body),
		PatchType: types.StrategicMergePatchType,
		Target:    nsRef,
		Title:     "Restart workloads in " + ns,
	}
	var names []string
	var restartPods, sidecarPods int
	var paused []string
	for _, wl := range chosen {
		ref := finding.Ref{Kind: wl.Kind, Namespace: ns, Name: wl.Name}
		p.Targets = append(p.Targets, ref)
		p.steps = append(p.steps, newStep(ref, types.StrategicMergePatchType, body))
		names = append(names, wl.owner())
		restartPods += need[wl.owner()]
		sidecarPods += sidecars[wl.owner()]
		if wl.Paused {
			paused = append(paused, wl.owner())
		}
	}
	p.Description = fmt.Sprintf("Sets the pod-template annotation %s on %s, as kubectl rollout restart does.", AnnotationRestartedAt, strings.Join(names, ", "))
	p.Done = fmt.Sprintf("restarting %d workload%s in %s", len(chosen), plural(len(chosen), "", "s"), ns)
	if scope == RestartAll {
		p.Consequences = append(p.Consequences, fmt.Sprintf("All %d Deployments, StatefulSets and DaemonSets in %s are restarted, whether or not their pods need it.", len(chosen), ns))
		if len(chosen) == 1 {
			p.Consequences[0] = "The only Deployment, StatefulSet or DaemonSet in " + ns + " is restarted, whether or not its pods need it."
		}
	} else {
		p.Consequences = append(p.Consequences, fmt.Sprintf("Restarts only the %d of %d workloads in %s whose pods need a restart.", len(chosen), len(workloads), ns))
	}
	p.Consequences = append(p.Consequences, "Each controller replaces its pods following its rollout strategy; running connections to old pods end.")
	if n := restartPods - sidecarPods; n > 0 {
		p.Consequences = append(p.Consequences, fmt.Sprintf("%s captured.", pods(n, "pod that ambient did not capture comes back", "pods that ambient did not capture come back")))
	}
	if sidecarPods > 0 {
		p.Consequences = append(p.Consequences, fmt.Sprintf("%s without a sidecar, carried by ztunnel.", pods(sidecarPods, "sidecar pod comes back", "sidecar pods come back")))
	}
	if inj := injection(v.namespace(ns)); inj != "" {
		p.Consequences = append(p.Consequences, "Namespace still has "+inj+": restarted pods get sidecars again.")
	}
	if len(paused) > 0 {
		p.Consequences = append(p.Consequences, strings.Join(paused, ", ")+" "+plural(len(paused), "is", "are")+" paused: nothing rolls out until resumed.")
	}
	if len(orphans) > 0 {
		p.Consequences = append(p.Consequences, "Pods of "+strings.Join(orphans, ", ")+" also need a restart, but only their owners (or deleting them) can replace them.")
	}
	return p, nil
}
