package netpol

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ambx/ambx/kube/finding"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// problem gathers what the checks found about one policy and one fix,
// across all the pods it concerns, until it is written as a finding.
type problem struct {
	code   string
	policy *policy
	dir    Direction
	// extend is the rule that gets TCP 15008 added to its ports; when nil,
	// a new rule is appended that admits peers (everyone when everyone is
	// set) on openPorts (every port when nil).
	extend   *rule
	peers    []networkingv1.NetworkPolicyPeer
	peerKeys []string // peers' JSON, in order
	peerSeen map[string]bool
	podSeen  map[*pod]bool
	// toWaypoints: every peer is a waypoint istiod manages, so one peer
	// selecting all of them replaces the list.
	toWaypoints bool
	everyone    bool
	openPorts   []int32

	subjects map[Key]bool // pods on the policy's side
	// subjectClasses are the classes whose pods are in subjects, where a
	// check adds whole classes many times over.
	subjectClasses bitset
	remotes        bitset       // classes on the other side
	remotePods     map[Key]bool // pods on the other side, when not classes
	waypoints      bitset       // waypoint pods on the other side, by checker.wpIndex
	allWaypointed  bool         // every subject has a waypoint in its path
	via            []Key        // destinations reached through a waypoint
	istiod         *pod
	ports          []int32
	kinds          []string // sidecar, waypoint, ztunnel
	examples       []Connection
	invalid        *PolicyError
}

// problemKey tells problems apart: one per check, policy and (for checks
// that extend a rule) rule.
type problemKey struct {
	code          string
	policy        Key
	discriminator string
}

func (h *checker) problem(code string, p *policy, dir Direction, discriminator string) *problem {
	key := problemKey{code, p.key, discriminator}
	pr := h.problems[key]
	if pr == nil {
		pr = &problem{code: code, policy: p, dir: dir, subjects: map[Key]bool{}, remotePods: map[Key]bool{}, allWaypointed: true, toWaypoints: true}
		h.problems[key] = pr
		h.order = append(h.order, key)
	}
	return pr
}

// keyedPeer is a peer with its JSON, which tells equal peers apart.
type keyedPeer struct {
	peer networkingv1.NetworkPolicyPeer
	key  string
}

// addPodPeer adds a peer selecting the pod's workload, once per pod. The
// peer and its JSON are made once per pod and check, since one waypoint pod
// can be a peer of hundreds of problems.
func (h *checker) addPodPeer(pr *problem, p *pod) {
	if pr.podSeen == nil {
		pr.podSeen = map[*pod]bool{}
	}
	if pr.podSeen[p] {
		return
	}
	pr.podSeen[p] = true
	kp, ok := h.peerMemo[p]
	if !ok {
		kp.peer = podPeer(p)
		kp.key = mustJSON(kp.peer)
		h.peerMemo[p] = kp
	}
	pr.addKeyedPeer(kp.peer, kp.key)
}

func (pr *problem) addPeers(peers ...networkingv1.NetworkPolicyPeer) {
	for _, pe := range peers {
		pr.addKeyedPeer(pe, mustJSON(pe))
	}
}

func (pr *problem) addKeyedPeer(pe networkingv1.NetworkPolicyPeer, key string) {
	if pr.peerSeen == nil {
		pr.peerSeen = map[string]bool{}
	}
	if !pr.peerSeen[key] {
		pr.peerSeen[key] = true
		pr.peers = append(pr.peers, pe)
		pr.peerKeys = append(pr.peerKeys, key)
	}
}

// newRule is the rule the problem's patch appends.
func (pr *problem) newRule() any {
	peers := pr.peers
	if pr.everyone {
		peers = nil
	}
	if pr.code == "hbone-egress-to-waypoint-blocked" && pr.toWaypoints {
		peers = []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{managedLabel: managedByMesh}},
		}}
	}
	if pr.dir == Ingress {
		return ingressRule(peers, pr.openPorts...)
	}
	return egressRule(peers, pr.openPorts...)
}

func (pr *problem) addSubjects(ps []*pod) {
	for _, p := range ps {
		pr.subjects[p.key] = true
	}
}

func (pr *problem) addRemote(p *pod) { pr.remotePods[p.key] = true }

func (pr *problem) addRemotes(ps []*pod) {
	for _, p := range ps {
		pr.remotePods[p.key] = true
	}
}

func (pr *problem) example(c Connection) {
	if pr.examples == nil {
		pr.examples = make([]Connection, 0, 4)
	}
	if len(pr.examples) < maxExamples && !slices.Contains(pr.examples, c) {
		pr.examples = append(pr.examples, c)
	}
}

func (h *checker) results() []Problem {
	out := make([]Problem, 0, len(h.order))
	patches := newPatchCache()
	for _, key := range h.order {
		pr := h.problems[key]
		if pr.invalid != nil {
			out = append(out, Problem{Finding: finding.Finding{
				Severity: finding.Warning,
				Code:     "networkpolicy-invalid",
				Object:   finding.Ref{Kind: "NetworkPolicy", Namespace: pr.invalid.Policy.Namespace, Name: pr.invalid.Policy.Name},
				Title:    fmt.Sprintf("%s cannot be read", pr.invalid.Policy),
				Why:      fmt.Sprintf("%v; the HBONE checks ignore this policy, so their verdicts may be wrong until it is fixed.", pr.invalid.Err),
				Fix:      fmt.Sprintf("kubectl edit networkpolicy %s -n %s", pr.invalid.Policy.Name, pr.invalid.Policy.Namespace),
			}})
			continue
		}
		f := finding.Finding{
			Severity: finding.Error,
			Code:     pr.code,
			Object:   finding.Ref{Kind: "NetworkPolicy", Namespace: pr.policy.key.Namespace, Name: pr.policy.key.Name},
		}
		h.describe(pr, &f)
		f.Affects = podRefs(pr.subjects)
		f.Patch = patches.buildPatch(pr)
		f.Fix = f.Patch.Command
		out = append(out, Problem{Finding: f, Examples: pr.examples})
	}
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			strings.Compare(a.Object.String(), b.Object.String()),
			strings.Compare(a.Code, b.Code),
			strings.Compare(a.Title, b.Title),
		)
	})
	return out
}

func (h *checker) describe(pr *problem, f *finding.Finding) {
	pol := pr.policy.key
	subjects := podList(len(pr.subjects), firstKeys(pr.subjects))
	remotes := h.remoteList(pr)
	switch pr.code {
	case "hbone-ingress-blocked":
		ports := portList(pr.extend)
		f.Title = fmt.Sprintf("%s opens %s but not HBONE port %d", pol, ports, HBONEPort)
		f.Why = fmt.Sprintf("Rule ingress[%d] admits %s on %s but not on TCP %d, where ambient delivers every mesh connection, so their connections to %s time out.",
			pr.extend.index, remotes, ports, HBONEPort, subjects)
		if pr.allWaypointed {
			f.Severity = finding.Warning
			f.Why += " Traffic through the waypoint is not affected, but connections addressed to the pods, which skip it, are."
		}
	case "hbone-egress-blocked":
		ports := portList(pr.extend)
		f.Title = fmt.Sprintf("%s lets meshed pods out on %s but not on HBONE port %d", pol, ports, HBONEPort)
		f.Why = fmt.Sprintf("Rule egress[%d] lets %s reach %s on %s but not on TCP %d, where ztunnel sends their mesh traffic, so those connections time out.",
			pr.extend.index, subjects, remotes, ports, HBONEPort)
	case "hbone-waypoint-ingress-blocked":
		f.Title = fmt.Sprintf("%s does not admit its waypoint on %d", pol, HBONEPort)
		f.Why = fmt.Sprintf("Traffic to %s passes through waypoint %s, which opens its own HBONE connection to them on TCP %d, and %s admits no such connection.",
			subjects, remotes, HBONEPort, pol)
	case "hbone-waypoint-egress-blocked":
		f.Title = fmt.Sprintf("%s keeps waypoint %s from reaching its destinations", pol, subjects)
		f.Why = fmt.Sprintf("Waypoint %s forwards traffic to %s over HBONE on TCP %d, and %s does not let it out there.",
			subjects, remotes, HBONEPort, pol)
	case "hbone-waypoint-clients-blocked":
		f.Title = fmt.Sprintf("%s does not admit the waypoint's clients on %d", pol, HBONEPort)
		f.Why = fmt.Sprintf("Clients of %s (%s) reach it through waypoint %s on TCP %d, and %s does not admit them there; the fix admits the same peers the destination admits.",
			podList(len(pr.via), pr.via), remotes, subjects, HBONEPort, pol)
	case "hbone-egress-to-waypoint-blocked":
		f.Title = fmt.Sprintf("%s keeps meshed pods from reaching waypoint %s", pol, remotes)
		f.Why = fmt.Sprintf("%s send their traffic through waypoint %s on TCP %d, and %s does not let them out there.",
			upperFirst(subjects), remotes, HBONEPort, pol)
		if pr.toWaypoints {
			f.Why += " The fix lets them reach every waypoint istiod manages on that port."
		}
	case "istiod-egress-blocked":
		f.Title = fmt.Sprintf("%s keeps %s from reaching istiod on %s", pol, strings.Join(pr.kinds, ", "), numbers(pr.ports))
		f.Why = fmt.Sprintf("Sidecars, gateways, waypoints and ztunnel fetch their configuration and certificates from istiod on TCP %d (its webhook port %d is called by the API server, not by them); %s may not reach %s there, so they never become ready.",
			IstiodXDSPort, IstiodWebhookPort, subjects, pr.istiod.key)
	case "probe-source-blocked":
		f.Title = fmt.Sprintf("%s drops kubelet probes of ambient pods", pol)
		f.Why = fmt.Sprintf("istio-cni makes kubelet probes of ambient pods come from %s (%s on IPv6), and %s does not admit that address on %s, so probes of %s fail and the pods restart or never become ready.",
			ProbeSource, ProbeSourceV6, pol, numbers(pr.ports), subjects)
	}
}

// remoteList describes the pods on the other side without listing them
// all: a finding may concern thousands.
func (h *checker) remoteList(pr *problem) string {
	n := len(pr.remotePods)
	cand := firstKeys(pr.remotePods)
	if pr.waypoints != nil {
		// Waypoint pods are numbered in key order.
		pr.waypoints.each(func(i int) {
			n++
			if len(cand) < 6 {
				cand = append(cand, h.wpPods[i].key)
			}
		})
		slices.SortFunc(cand, compareKeys)
		cand = slices.Compact(cand)
		if len(cand) > 3 {
			cand = cand[:3]
		}
	}
	if pr.remotes != nil {
		// Classes are numbered in namespace order and hold their pods by
		// name, so the first three pods lie in the first few classes.
		pr.remotes.each(func(id int) {
			cl := h.classes[id]
			n += len(cl.pods)
			if len(cand) >= 3 && cl.rep.key.Namespace > cand[2].Namespace {
				return
			}
			for i := 0; i < len(cl.pods) && i < 3; i++ {
				cand = append(cand, cl.pods[i].key)
			}
			slices.SortFunc(cand, compareKeys)
			cand = slices.Compact(cand)
			if len(cand) > 3 {
				cand = cand[:3]
			}
		})
	}
	return podList(n, cand)
}

// firstKeys returns the three smallest keys of the set, sorted.
func firstKeys(m map[Key]bool) []Key {
	out := make([]Key, 0, 4)
	for k := range m {
		out = append(out, k)
		slices.SortFunc(out, compareKeys)
		if len(out) > 3 {
			out = out[:3]
		}
	}
	return out
}

// podRefs are the pods of keys as finding refs, sorted, so the rows of
// the pods a policy cuts off carry its mark.
func podRefs(keys map[Key]bool) []finding.Ref {
	out := make([]finding.Ref, 0, len(keys))
	for k := range keys {
		out = append(out, finding.Ref{Kind: "Pod", Namespace: k.Namespace, Name: k.Name})
	}
	slices.SortFunc(out, func(a, b finding.Ref) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out
}

// podList names up to three pods and counts the rest, e.g.
// "4 pods (a/x, a/y, b/z and 1 more)" or "pod a/x"; first holds the
// first pods in order.
func podList(n int, first []Key) string {
	switch {
	case n == 0:
		return "no pods"
	case n == 1 && len(first) == 1:
		return "pod " + first[0].String()
	}
	names := make([]string, 0, 3)
	for i := 0; i < len(first) && i < 3; i++ {
		names = append(names, first[i].String())
	}
	s := fmt.Sprintf("%d pods (%s", n, strings.Join(names, ", "))
	if n > len(names) {
		s += fmt.Sprintf(" and %d more", n-len(names))
	}
	return s + ")"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// portList writes a rule's ports as a person would, e.g. "3100/TCP, http/TCP".
func portList(r *rule) string {
	if r.ports == nil {
		return "every port"
	}
	var parts []string
	for _, po := range r.ports {
		switch {
		case po.any:
			parts = append(parts, "every "+string(po.protocol)+" port")
		case po.name != "":
			parts = append(parts, po.name+"/"+string(po.protocol))
		case po.end != 0:
			parts = append(parts, fmt.Sprintf("%d-%d/%s", po.number, po.end, po.protocol))
		default:
			parts = append(parts, fmt.Sprintf("%d/%s", po.number, po.protocol))
		}
	}
	return strings.Join(parts, ", ")
}

func numbers(ports []int32) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%d/%s", p, corev1.ProtocolTCP)
	}
	return strings.Join(parts, ", ")
}
