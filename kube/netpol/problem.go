package netpol

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ambx/ambx/kube/finding"
	corev1 "k8s.io/api/core/v1"
)

// problem gathers what the checks found about one policy and one fix,
// across all the pods it concerns, until it is written as a finding.
type problem struct {
	code   string
	policy *policy
	dir    Direction
	// extend is the rule that gets TCP 15008 added to its ports; when nil,
	// add is a whole rule (NetworkPolicyIngressRule or EgressRule) to append.
	extend *rule
	add    any

	subjects      map[Key]bool // pods on the policy's side
	remotes       bitset       // classes on the other side
	remotePods    map[Key]bool // pods on the other side, when not classes
	allWaypointed bool         // every subject has a waypoint in its path
	via           []Key        // destinations reached through a waypoint
	istiod        *pod
	ports         []int32
	kinds         []string // sidecar, waypoint, ztunnel
	examples      []Connection
	invalid       *PolicyError
}

func (h *checker) problem(code string, p *policy, dir Direction, discriminator string) *problem {
	key := code + "|" + p.key.String() + "|" + discriminator
	pr := h.problems[key]
	if pr == nil {
		pr = &problem{code: code, policy: p, dir: dir, subjects: map[Key]bool{}, remotePods: map[Key]bool{}, allWaypointed: true}
		h.problems[key] = pr
		h.order = append(h.order, key)
	}
	return pr
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
	if len(pr.examples) < maxExamples && !slices.Contains(pr.examples, c) {
		pr.examples = append(pr.examples, c)
	}
}

func (h *checker) results() []Problem {
	out := make([]Problem, 0, len(h.order))
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
		f.Patch = buildPatch(pr)
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
	subjects := podList(sortedKeys(pr.subjects))
	remotes := podList(h.remoteKeys(pr))
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
			podList(pr.via), remotes, subjects, HBONEPort, pol)
	case "hbone-egress-to-waypoint-blocked":
		f.Title = fmt.Sprintf("%s keeps meshed pods from reaching waypoint %s", pol, remotes)
		f.Why = fmt.Sprintf("%s send their traffic through waypoint %s on TCP %d, and %s does not let them out there.",
			upperFirst(subjects), remotes, HBONEPort, pol)
	case "istiod-egress-blocked":
		f.Title = fmt.Sprintf("%s keeps %s from reaching istiod on %s", pol, strings.Join(pr.kinds, ", "), numbers(pr.ports))
		f.Why = fmt.Sprintf("Sidecars, waypoints and ztunnel fetch their configuration and certificates from istiod on TCP %d (sidecars also use %d); %s may not reach %s there, so they never become ready.",
			IstiodXDSPort, IstiodWebhookPort, subjects, pr.istiod.key)
	case "probe-source-blocked":
		f.Title = fmt.Sprintf("%s drops kubelet probes of ambient pods", pol)
		f.Why = fmt.Sprintf("istio-cni makes kubelet probes of ambient pods come from %s (%s on IPv6), and %s does not admit that address on %s, so probes of %s fail and the pods restart or never become ready.",
			ProbeSource, ProbeSourceV6, pol, numbers(pr.ports), subjects)
	}
}

func (h *checker) remoteKeys(pr *problem) []Key {
	keys := sortedKeys(pr.remotePods)
	if pr.remotes != nil {
		pr.remotes.each(func(id int) {
			for _, p := range h.classes[id].pods {
				keys = append(keys, p.key)
			}
		})
		slices.SortFunc(keys, compareKeys)
		keys = slices.Compact(keys)
	}
	return keys
}

func sortedKeys(m map[Key]bool) []Key {
	out := make([]Key, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, compareKeys)
	return out
}

// podList names up to three pods and counts the rest, e.g.
// "4 pods (a/x, a/y, b/z and 1 more)" or "pod a/x".
func podList(keys []Key) string {
	switch len(keys) {
	case 0:
		return "no pods"
	case 1:
		return "pod " + keys[0].String()
	}
	names := make([]string, 0, 3)
	for i := 0; i < len(keys) && i < 3; i++ {
		names = append(names, keys[i].String())
	}
	s := fmt.Sprintf("%d pods (%s", len(keys), strings.Join(names, ", "))
	if len(keys) > 3 {
		s += fmt.Sprintf(" and %d more", len(keys)-3)
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
