package netpol

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ambx/ambx/kube/finding"
	yaml "go.yaml.in/yaml/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// jsonOp is one JSON Patch (RFC 6902) operation. NetworkPolicySpec's lists
// have no patch-merge key, so a strategic merge patch would replace a whole
// list; JSON Patch appends to it instead.
type jsonOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// manifestSuffix names the standalone alternative after what it opens.
var manifestSuffix = map[string]string{
	"hbone-ingress-blocked":            "-hbone",
	"hbone-egress-blocked":             "-hbone",
	"hbone-waypoint-ingress-blocked":   "-from-waypoint",
	"hbone-waypoint-egress-blocked":    "-to-destinations",
	"hbone-waypoint-clients-blocked":   "-waypoint-clients",
	"hbone-egress-to-waypoint-blocked": "-to-waypoint",
	"istiod-egress-blocked":            "-istiod",
	"probe-source-blocked":             "-probes",
}

// patchCache shares the costly parts of patches between problems within
// one check. On a large cluster a hundred default-deny egress policies can
// each get the same rule naming hundreds of waypoints; its JSON and the
// YAML of the manifest's spec are made once, not once per policy.
type patchCache struct {
	peerIDs  map[string]int    // numbers for peers' JSON, to keep rule keys short
	ruleJSON map[string]string // by the rule's makings (ruleKey)
	opsJSON  map[string]string // JSON patches appending a rule, by path and ruleKey
	specYAML map[string]string // by direction, pod selector and rule (ruleID)
}

func newPatchCache() *patchCache {
	return &patchCache{peerIDs: map[string]int{}, ruleJSON: map[string]string{}, opsJSON: map[string]string{}, specYAML: map[string]string{}}
}

// ruleKey names everything newRule reads, with peers by the number of
// their JSON, so that equal keys give equal rules.
func (pc *patchCache) ruleKey(pr *problem) string {
	b := []byte(pr.dir)
	for _, p := range pr.openPorts {
		b = strconv.AppendInt(append(b, ','), int64(p), 10)
	}
	switch {
	case pr.code == "hbone-egress-to-waypoint-blocked" && pr.toWaypoints:
		b = append(b, "\x00waypoints"...)
	case pr.everyone:
		b = append(b, "\x00everyone"...)
	default:
		b = append(b, "\x00peers"...)
		for _, k := range pr.peerKeys {
			id, ok := pc.peerIDs[k]
			if !ok {
				id = len(pc.peerIDs)
				pc.peerIDs[k] = id
			}
			b = binary.AppendUvarint(b, uint64(id)) // prefix-free, so needs no separator
		}
	}
	return string(b)
}

// buildPatch writes the problem's fix twice: a JSON patch that extends the
// existing policy, and a separate policy selecting the same pods that
// allows the same thing (policies add up, and it isolates no new pods
// because it selects only pods the original already isolates).
func (pc *patchCache) buildPatch(pr *problem) *finding.Patch {
	np := pr.policy.obj
	field := string(pr.dir) // "ingress" or "egress": the JSON field names
	var newRule any
	// ruleID names the rule in the manifest's spec: its JSON when it is
	// small, its key when it is appended.
	var ruleJSON, ruleID, ops string
	if pr.extend != nil {
		op := jsonOp{Op: "add", Path: fmt.Sprintf("/spec/%s/%d/ports/-", field, pr.extend.index), Value: hbonePort()}
		ops = mustJSON([]jsonOp{op})
		if pr.dir == Ingress {
			newRule = ingressRule(np.Spec.Ingress[pr.extend.index].From, HBONEPort)
		} else {
			newRule = egressRule(np.Spec.Egress[pr.extend.index].To, HBONEPort)
		}
		ruleJSON = mustJSON(newRule)
		ruleID = "extend\x00" + ruleJSON
	} else {
		newRule = pr.newRule()
		k := pc.ruleKey(pr)
		ruleID = "append\x00" + k
		var ok bool
		if ruleJSON, ok = pc.ruleJSON[k]; !ok {
			ruleJSON = mustJSON(newRule)
			pc.ruleJSON[k] = ruleJSON
		}
		n := len(np.Spec.Ingress)
		if pr.dir == Egress {
			n = len(np.Spec.Egress)
		}
		// The API server omits empty lists, so "-" would point into nothing.
		path := fmt.Sprintf("/spec/%s/-", field)
		if n == 0 {
			path = "/spec/" + field
		}
		opsKey := path + "\x00" + k
		if ops, ok = pc.opsJSON[opsKey]; !ok {
			// encoding/json copies a RawMessage as it stands, compacted
			// and escaped as json.Marshal had already made it.
			var value any = json.RawMessage(ruleJSON)
			if n == 0 {
				value = []any{value}
			}
			ops = mustJSON([]jsonOp{{Op: "add", Path: path, Value: value}})
			pc.opsJSON[opsKey] = ops
		}
	}

	alt := networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: altName(np.Name, manifestSuffix[pr.code]), Namespace: np.Namespace},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: *np.Spec.PodSelector.DeepCopy()},
	}
	if pr.dir == Ingress {
		alt.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		alt.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{newRule.(networkingv1.NetworkPolicyIngressRule)}
	} else {
		alt.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		alt.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{newRule.(networkingv1.NetworkPolicyEgressRule)}
	}
	manifest := pc.manifest(&alt, ruleID)
	title := fmt.Sprintf("Append a %s rule to %s", pr.dir, pr.policy.key)
	if pr.extend != nil {
		title = fmt.Sprintf("Add TCP %d to rule %s[%d] of %s", HBONEPort, pr.dir, pr.extend.index, pr.policy.key)
	}
	return &finding.Patch{
		Title:     title,
		Command:   fmt.Sprintf("kubectl patch networkpolicy %s -n %s --type=json -p '%s'", np.Name, np.Namespace, ops),
		JSONPatch: ops,
		Manifest:  manifest,
		Target:    finding.Ref{Kind: "NetworkPolicy", Namespace: np.Namespace, Name: np.Name},
	}
}

// manifest is toYAML(alt), where alt's spec holds one rule that ruleID
// names. YAML writes a mapping's keys in order, each on lines of its
// own, and spec sorts after apiVersion, kind and metadata; so the document
// is the YAML of those three followed by the YAML of spec alone, and the
// spec, which policies with the same selector and rule share, is written
// once.
func (pc *patchCache) manifest(alt *networkingv1.NetworkPolicy, ruleID string) string {
	head := toYAML(struct {
		metav1.TypeMeta
		ObjectMeta metav1.ObjectMeta `json:"metadata"`
	}{alt.TypeMeta, alt.ObjectMeta})
	k := string(alt.Spec.PolicyTypes[0]) + "\x00" + mustJSON(alt.Spec.PodSelector) + "\x00" + ruleID
	spec, ok := pc.specYAML[k]
	if !ok {
		spec = toYAML(struct {
			Spec networkingv1.NetworkPolicySpec `json:"spec"`
		}{alt.Spec})
		pc.specYAML[k] = spec
	}
	return head + spec
}

// toYAML writes an API object as kubectl and sigs.k8s.io/yaml would (the
// same JSON field names, keys sorted), at half the cost: sigs.k8s.io/yaml
// re-parses its own JSON with a YAML parser, which dominated the checks on
// large clusters.
func toYAML(obj any) string {
	j, err := json.Marshal(obj)
	if err != nil {
		return "# " + err.Error() + "\n"
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		return "# " + err.Error() + "\n"
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		return "# " + err.Error() + "\n"
	}
	return string(out)
}

// altName appends suffix, keeping within the 253 characters a name may have.
func altName(name, suffix string) string {
	if len(name)+len(suffix) > 253 {
		name = name[:253-len(suffix)]
	}
	return name + suffix
}

func tcpPort(n int32) networkingv1.NetworkPolicyPort {
	proto := corev1.ProtocolTCP
	p := intstr.FromInt32(n)
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &p}
}

func hbonePort() networkingv1.NetworkPolicyPort { return tcpPort(HBONEPort) }

// ingressRule admits the peers (everyone when nil) on the TCP ports (every
// port when none).
func ingressRule(from []networkingv1.NetworkPolicyPeer, ports ...int32) networkingv1.NetworkPolicyIngressRule {
	r := networkingv1.NetworkPolicyIngressRule{From: from}
	for _, p := range ports {
		r.Ports = append(r.Ports, tcpPort(p))
	}
	return r
}

// egressRule lets traffic out to the peers on the TCP ports.
func egressRule(to []networkingv1.NetworkPolicyPeer, ports ...int32) networkingv1.NetworkPolicyEgressRule {
	r := networkingv1.NetworkPolicyEgressRule{To: to}
	for _, p := range ports {
		r.Ports = append(r.Ports, tcpPort(p))
	}
	return r
}

// volatileLabels change from one rollout or replica to the next, so a
// selector that names them would stop matching.
var volatileLabels = map[string]bool{
	"pod-template-hash":                        true,
	"controller-revision-hash":                 true,
	"pod-template-generation":                  true,
	"statefulset.kubernetes.io/pod-name":       true,
	"apps.kubernetes.io/pod-index":             true,
	"batch.kubernetes.io/controller-uid":       true,
	"controller-uid":                           true,
	"batch.kubernetes.io/job-completion-index": true,
}

// podPeer selects the pod's workload: by the waypoint's gateway name, by its
// app labels, or else by all its labels that survive a rollout.
func podPeer(p *pod) networkingv1.NetworkPolicyPeer {
	match := map[string]string{}
	switch l := p.labels; {
	case l["gateway.networking.k8s.io/gateway-name"] != "":
		match["gateway.networking.k8s.io/gateway-name"] = l["gateway.networking.k8s.io/gateway-name"]
	case l["app.kubernetes.io/name"] != "":
		match["app.kubernetes.io/name"] = l["app.kubernetes.io/name"]
		if v := l["app.kubernetes.io/instance"]; v != "" {
			match["app.kubernetes.io/instance"] = v
		}
	case l["app"] != "":
		match["app"] = l["app"]
	default:
		for k, v := range l {
			if !volatileLabels[k] {
				match[k] = v
			}
		}
	}
	sel := &metav1.LabelSelector{}
	if len(match) > 0 {
		sel.MatchLabels = match
	}
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceNameLabel: p.key.Namespace}},
		PodSelector:       sel,
	}
}

// absolutePeer rewrites a peer of a policy in namespace ns so that it means
// the same in a policy of any namespace: a lone podSelector means ns.
func absolutePeer(pe networkingv1.NetworkPolicyPeer, ns string) networkingv1.NetworkPolicyPeer {
	out := *pe.DeepCopy()
	if out.IPBlock == nil && out.NamespaceSelector == nil {
		out.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceNameLabel: ns}}
	}
	return out
}

// mustJSON marshals values that always marshal (API types and plain data).
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", err.Error())
	}
	return string(b)
}
