package netpol

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func testNS(name string, kv ...string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: pairs(kv)}}
}

func pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// testPod builds a pod; ports are "name:number[/PROTO]" or "number".
func testPod(ns, name string, lbls map[string]string, ports ...string) *corev1.Pod {
	var cps []corev1.ContainerPort
	for _, s := range ports {
		cp := corev1.ContainerPort{Protocol: corev1.ProtocolTCP}
		if i := strings.Index(s, "/"); i >= 0 {
			cp.Protocol = corev1.Protocol(s[i+1:])
			s = s[:i]
		}
		if i := strings.Index(s, ":"); i >= 0 {
			cp.Name = s[:i]
			s = s[i+1:]
		}
		var n int32
		for _, ch := range s {
			n = n*10 + int32(ch-'0')
		}
		cp.ContainerPort = n
		cps = append(cps, cp)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Ports: cps}}},
	}
}

func lbl(kv ...string) map[string]string { return pairs(kv) }

// testPolicy reads a NetworkPolicy written as YAML.
func testPolicy(t testing.TB, doc string) *networkingv1.NetworkPolicy {
	t.Helper()
	var np networkingv1.NetworkPolicy
	if err := yaml.UnmarshalStrict([]byte(doc), &np); err != nil {
		t.Fatalf("bad test policy: %v\n%s", err, doc)
	}
	return &np
}

// world is the cluster most evaluator tests share: namespaces x (team=a),
// y (team=b) and z (no team); pods web and client in each.
func world() ([]*corev1.Namespace, []*corev1.Pod) {
	nss := []*corev1.Namespace{testNS("x", "team", "a"), testNS("y", "team", "b"), testNS("z")}
	var pods []*corev1.Pod
	for _, ns := range []string{"x", "y", "z"} {
		pods = append(pods,
			testPod(ns, "web", lbl("app", "web", "tier", "front"), "http:8080", "metrics:9090", "dns:53/UDP"),
			testPod(ns, "client", lbl("app", "client")),
		)
	}
	return nss, pods
}

type evalCase struct {
	name     string
	policies []string
	from, to string // "ns/pod" or an IP
	port     int32
	proto    corev1.Protocol
	allowed  bool
	by       string // the allowing rule, "" when none or not isolated
	reason   string // a fragment the reason must contain
}

func parsePeer(t *testing.T, s string) Peer {
	if ip, err := netip.ParseAddr(s); err == nil {
		return IPPeer(ip)
	}
	ns, name, _ := strings.Cut(s, "/")
	return PodPeer(ns, name)
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nss, pods := world()
			var pols []*networkingv1.NetworkPolicy
			for _, d := range tc.policies {
				pols = append(pols, testPolicy(t, d))
			}
			c, err := NewCluster(nss, pods, pols)
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.Evaluate(parsePeer(t, tc.from), parsePeer(t, tc.to), tc.port, tc.proto)
			if err != nil {
				t.Fatal(err)
			}
			if v.Allowed != tc.allowed {
				t.Errorf("allowed = %v, want %v; reason: %s", v.Allowed, tc.allowed, v.Reason)
			}
			by := ""
			if v.Ingress.By != nil {
				by = v.Ingress.By.String()
			}
			if v.Egress.By != nil && (by == "" || !v.Egress.Allowed || tc.by == v.Egress.By.String()) {
				by = v.Egress.By.String()
			}
			if tc.by != "" && by != tc.by {
				t.Errorf("allowed by %q, want %q; reason: %s", by, tc.by, v.Reason)
			}
			if !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("reason %q lacks %q", v.Reason, tc.reason)
			}
		})
	}
}

const denyAllIngressX = `
metadata: {name: deny, namespace: x}
spec: {podSelector: {}}`

func TestIsolationAndPolicyTypes(t *testing.T) {
	runEvalCases(t, []evalCase{
		{name: "no policy: open both ways", from: "x/client", to: "y/web", port: 8080, allowed: true,
			reason: "no NetworkPolicy selects y/web for ingress"},
		{name: "empty ingress isolates and denies", policies: []string{denyAllIngressX},
			from: "y/client", to: "x/web", port: 8080,
			reason: "x/web is isolated for ingress by NetworkPolicy x/deny and no rule admits y/client on 8080/TCP"},
		{name: "explicit empty ingress list is the same as missing", policies: []string{`
metadata: {name: deny, namespace: x}
spec: {podSelector: {}, ingress: [], policyTypes: [Ingress]}`},
			from: "y/client", to: "x/web", port: 8080, reason: "isolated for ingress"},
		{name: "ingress isolation does not touch egress of the same pod", policies: []string{denyAllIngressX},
			from: "x/web", to: "y/web", port: 8080, allowed: true, reason: "no NetworkPolicy selects x/web for egress"},
		{name: "egress rules without policyTypes isolate egress", policies: []string{`
metadata: {name: eg, namespace: x}
spec:
  podSelector: {matchLabels: {app: client}}
  egress: [{ports: [{port: 53, protocol: UDP}]}]`},
			from: "x/client", to: "y/web", port: 8080, reason: "x/client is isolated for egress by NetworkPolicy x/eg"},
		{name: "egress: [] without policyTypes isolates ingress only", policies: []string{`
metadata: {name: eg, namespace: x}
spec: {podSelector: {matchLabels: {app: client}}, egress: []}`},
			from: "x/client", to: "y/web", port: 8080, allowed: true},
		{name: "policyTypes Egress only leaves ingress open despite ingress rules", policies: []string{`
metadata: {name: eg, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  ingress: [{from: [{podSelector: {matchLabels: {app: nobody}}}]}]
  egress: [{}]`},
			from: "y/client", to: "x/web", port: 8080, allowed: true, reason: "no NetworkPolicy selects x/web for ingress"},
		{name: "policyTypes Egress with no rules denies egress", policies: []string{`
metadata: {name: eg, namespace: x}
spec: {podSelector: {}, policyTypes: [Egress]}`},
			from: "x/client", to: "x/web", port: 8080, reason: "egress denied"},
		{name: "both directions denied name both", policies: []string{denyAllIngressX, `
metadata: {name: eg, namespace: x}
spec: {podSelector: {}, policyTypes: [Egress]}`},
			from: "x/client", to: "x/web", port: 8080, reason: "egress denied: x/client is isolated for egress by NetworkPolicy x/eg"},
		{name: "podSelector picks which pods are isolated", policies: []string{`
metadata: {name: web-only, namespace: x}
spec: {podSelector: {matchLabels: {app: web}}}`},
			from: "x/web", to: "x/client", port: 8080, allowed: true},
		{name: "policies add up: allow beats a deny-all", policies: []string{denyAllIngressX, `
metadata: {name: allow-y, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: b}}}]}]`},
			from: "y/client", to: "x/web", port: 8080, allowed: true, by: "x/allow-y ingress[0]",
			reason: "ingress allowed by NetworkPolicy x/allow-y rule ingress[0]"},
		{name: "a policy in another namespace does not isolate", policies: []string{`
metadata: {name: deny, namespace: "y"}
spec: {podSelector: {}}`},
			from: "y/client", to: "x/web", port: 8080, allowed: true},
		{name: "a pod always reaches itself", policies: []string{denyAllIngressX},
			from: "x/web", to: "x/web", port: 8080, allowed: true, reason: "loopback"},
	})
}

func TestPeers(t *testing.T) {
	rule := func(from string) []string {
		return []string{`
metadata: {name: p, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: ` + from + `}]`}
	}
	runEvalCases(t, []evalCase{
		{name: "podSelector alone means the policy's namespace", policies: rule(`[{podSelector: {matchLabels: {app: client}}}]`),
			from: "x/client", to: "x/web", port: 8080, allowed: true, by: "x/p ingress[0]"},
		{name: "podSelector alone excludes other namespaces", policies: rule(`[{podSelector: {matchLabels: {app: client}}}]`),
			from: "y/client", to: "x/web", port: 8080},
		{name: "empty podSelector: all pods of the namespace", policies: rule(`[{podSelector: {}}]`),
			from: "x/client", to: "x/web", port: 8080, allowed: true},
		{name: "namespaceSelector alone: every pod there", policies: rule(`[{namespaceSelector: {matchLabels: {team: b}}}]`),
			from: "y/client", to: "x/web", port: 8080, allowed: true},
		{name: "namespaceSelector alone excludes the policy's own namespace when it does not match", policies: rule(`[{namespaceSelector: {matchLabels: {team: b}}}]`),
			from: "x/client", to: "x/web", port: 8080},
		{name: "empty namespaceSelector: every namespace", policies: rule(`[{namespaceSelector: {}}]`),
			from: "z/client", to: "x/web", port: 8080, allowed: true},
		{name: "empty namespaceSelector does not admit addresses", policies: rule(`[{namespaceSelector: {}}]`),
			from: "203.0.113.9", to: "x/web", port: 8080},
		{name: "both selectors in one peer are ANDed (match)", policies: rule(`[{namespaceSelector: {matchLabels: {team: b}}, podSelector: {matchLabels: {app: client}}}]`),
			from: "y/client", to: "x/web", port: 8080, allowed: true},
		{name: "both selectors in one peer are ANDed (wrong pod)", policies: rule(`[{namespaceSelector: {matchLabels: {team: b}}, podSelector: {matchLabels: {app: client}}}]`),
			from: "y/web", to: "x/web", port: 8080},
		{name: "two peers are ORed", policies: rule(`[{namespaceSelector: {matchLabels: {team: b}}}, {podSelector: {matchLabels: {app: client}}}]`),
			from: "y/web", to: "x/web", port: 8080, allowed: true},
		{name: "metadata.name label is always present", policies: rule(`[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}}]`),
			from: "z/client", to: "x/web", port: 8080, allowed: true},
		{name: "matchExpressions In", policies: rule(`[{podSelector: {matchExpressions: [{key: app, operator: In, values: [client, other]}]}}]`),
			from: "x/client", to: "x/web", port: 8080, allowed: true},
		{name: "matchExpressions NotIn", policies: rule(`[{podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [client]}]}}]`),
			from: "x/client", to: "x/web", port: 8080},
		{name: "matchExpressions Exists on namespaces", policies: rule(`[{namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}}]`),
			from: "y/client", to: "x/web", port: 8080, allowed: true},
		{name: "matchExpressions DoesNotExist on namespaces", policies: rule(`[{namespaceSelector: {matchExpressions: [{key: team, operator: DoesNotExist}]}}]`),
			from: "y/client", to: "x/web", port: 8080},
		{name: "matchExpressions DoesNotExist admits the unlabelled namespace", policies: rule(`[{namespaceSelector: {matchExpressions: [{key: team, operator: DoesNotExist}]}}]`),
			from: "z/client", to: "x/web", port: 8080, allowed: true},
		{name: "matchLabels and matchExpressions are ANDed", policies: rule(`[{podSelector: {matchLabels: {app: web}, matchExpressions: [{key: tier, operator: In, values: [back]}]}}]`),
			from: "x/web", to: "y/web", port: 8080, allowed: true}, // y/web is not isolated; checks nothing breaks
		{name: "ipBlock admits an address inside", policies: rule(`[{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]`),
			from: "203.0.113.9", to: "x/web", port: 8080, allowed: true, by: "x/p ingress[0]"},
		{name: "ipBlock except carves out", policies: rule(`[{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]`),
			from: "203.0.113.200", to: "x/web", port: 8080},
		{name: "ipBlock outside", policies: rule(`[{ipBlock: {cidr: 203.0.113.0/24}}]`),
			from: "198.51.100.1", to: "x/web", port: 8080},
		{name: "ipBlock IPv6", policies: rule(`[{ipBlock: {cidr: "2001:db8::/32"}}]`),
			from: "2001:db8::1", to: "x/web", port: 8080, allowed: true},
		{name: "IPv4 address does not match an IPv6 block", policies: rule(`[{ipBlock: {cidr: "::/0"}}]`),
			from: "203.0.113.9", to: "x/web", port: 8080},
		{name: "ipBlock does not match pods, which are judged by identity", policies: rule(`[{ipBlock: {cidr: 0.0.0.0/0}}]`),
			from: "x/client", to: "x/web", port: 8080},
		{name: "from: [] admits everyone", policies: rule(`[]`),
			from: "203.0.113.9", to: "x/web", port: 8080, allowed: true},
	})
}

func TestPorts(t *testing.T) {
	ports := func(p string) []string {
		return []string{`
metadata: {name: p, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: ` + p + `}]`}
	}
	runEvalCases(t, []evalCase{
		{name: "number", policies: ports(`[{port: 8080}]`), from: "y/client", to: "x/web", port: 8080, allowed: true},
		{name: "other number", policies: ports(`[{port: 8080}]`), from: "y/client", to: "x/web", port: 9090,
			reason: "no rule admits y/client on 9090/TCP"},
		{name: "protocol defaults to TCP", policies: ports(`[{port: 53}]`), from: "y/client", to: "x/web", port: 53, proto: corev1.ProtocolUDP},
		{name: "query protocol defaults to TCP", policies: ports(`[{port: 8080, protocol: UDP}]`), from: "y/client", to: "x/web", port: 8080},
		{name: "UDP", policies: ports(`[{port: 53, protocol: UDP}]`), from: "y/client", to: "x/web", port: 53, proto: corev1.ProtocolUDP, allowed: true},
		{name: "SCTP", policies: ports(`[{port: 5000, protocol: SCTP}]`), from: "y/client", to: "x/web", port: 5000, proto: corev1.ProtocolSCTP, allowed: true},
		{name: "protocol without port: all its ports", policies: ports(`[{protocol: UDP}]`), from: "y/client", to: "x/web", port: 1234, proto: corev1.ProtocolUDP, allowed: true},
		{name: "protocol without port: not the other protocol", policies: ports(`[{protocol: UDP}]`), from: "y/client", to: "x/web", port: 1234},
		{name: "range low end", policies: ports(`[{port: 9000, endPort: 9100}]`), from: "y/client", to: "x/web", port: 9000, allowed: true},
		{name: "range high end", policies: ports(`[{port: 9000, endPort: 9100}]`), from: "y/client", to: "x/web", port: 9100, allowed: true},
		{name: "range beyond", policies: ports(`[{port: 9000, endPort: 9100}]`), from: "y/client", to: "x/web", port: 9101},
		{name: "named port resolves on the destination pod", policies: ports(`[{port: http}]`), from: "y/client", to: "x/web", port: 8080, allowed: true},
		{name: "named port: other number", policies: ports(`[{port: http}]`), from: "y/client", to: "x/web", port: 9090},
		{name: "named port: protocol must match the container port's", policies: ports(`[{port: dns}]`), from: "y/client", to: "x/web", port: 53, proto: corev1.ProtocolUDP},
		{name: "named port with its protocol", policies: ports(`[{port: dns, protocol: UDP}]`), from: "y/client", to: "x/web", port: 53, proto: corev1.ProtocolUDP, allowed: true},
		{name: "unknown name admits nothing", policies: ports(`[{port: grpc}]`), from: "y/client", to: "x/web", port: 8080},
		{name: "ports: [] admits every port", policies: ports(`[]`), from: "y/client", to: "x/web", port: 31337, allowed: true},
		{name: "several ports are ORed", policies: ports(`[{port: 1}, {port: metrics}]`), from: "y/client", to: "x/web", port: 9090, allowed: true},
	})
}

func TestEgress(t *testing.T) {
	eg := func(rules string) []string {
		return []string{`
metadata: {name: e, namespace: x}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress: ` + rules}
	}
	runEvalCases(t, []evalCase{
		{name: "egress to a selected namespace", policies: eg(`[{to: [{namespaceSelector: {matchLabels: {team: b}}}]}]`),
			from: "x/client", to: "y/web", port: 8080, allowed: true, by: "x/e egress[0]", reason: "egress allowed by NetworkPolicy x/e rule egress[0]"},
		{name: "egress elsewhere denied", policies: eg(`[{to: [{namespaceSelector: {matchLabels: {team: b}}}]}]`),
			from: "x/client", to: "z/web", port: 8080, reason: "x/client is isolated for egress by NetworkPolicy x/e and no rule admits z/web on 8080/TCP"},
		{name: "egress named port resolves on the destination", policies: eg(`[{ports: [{port: metrics}]}]`),
			from: "x/client", to: "z/web", port: 9090, allowed: true},
		{name: "egress named port cannot resolve on an address", policies: eg(`[{ports: [{port: metrics}]}]`),
			from: "x/client", to: "203.0.113.9", port: 9090},
		{name: "egress to an address in an ipBlock", policies: eg(`[{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]`),
			from: "x/client", to: "203.0.113.9", port: 443, allowed: true},
		{name: "egress to an excepted address", policies: eg(`[{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]`),
			from: "x/client", to: "10.1.2.3", port: 443},
		{name: "an address's own side is not judged", policies: []string{denyAllIngressX},
			from: "x/web", to: "203.0.113.9", port: 443, allowed: true, reason: "egress allowed: no NetworkPolicy selects x/web for egress"},
		{name: "egress allowed but ingress denied", policies: append(eg(`[{}]`), `
metadata: {name: deny, namespace: "y"}
spec: {podSelector: {}}`),
			from: "x/client", to: "y/web", port: 8080, reason: "ingress denied: y/web is isolated for ingress by NetworkPolicy y/deny"},
	})
}

func TestEvaluateErrors(t *testing.T) {
	nss, pods := world()
	c, err := NewCluster(nss, pods, nil)
	if err != nil {
		t.Fatal(err)
	}
	ip := IPPeer(netip.MustParseAddr("203.0.113.1"))
	for _, tc := range []struct {
		name     string
		from, to Peer
		port     int32
		want     string
	}{
		{"unknown pod", PodPeer("x", "nope"), PodPeer("x", "web"), 80, "no pod x/nope"},
		{"two addresses", ip, ip, 80, "one end must be a pod"},
		{"port zero", PodPeer("x", "web"), ip, 0, "outside 1-65535"},
		{"port too high", PodPeer("x", "web"), ip, 65536, "outside 1-65535"},
		{"empty peer", Peer{}, PodPeer("x", "web"), 80, "needs a pod or an IP"},
	} {
		if _, err := c.Evaluate(tc.from, tc.to, tc.port, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestInvalidPoliciesAreNamedAndSkipped(t *testing.T) {
	nss, pods := world()
	bad := []string{
		`{metadata: {name: bad-op, namespace: x}, spec: {podSelector: {matchExpressions: [{key: a, operator: Near}]}}}`,
		`{metadata: {name: bad-cidr, namespace: x}, spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 300.1.1.1/8}}]}]}}`,
		`{metadata: {name: empty-peer, namespace: x}, spec: {podSelector: {}, ingress: [{from: [{}]}]}}`,
		`{metadata: {name: bad-range, namespace: x}, spec: {podSelector: {}, ingress: [{ports: [{port: 90, endPort: 80}]}]}}`,
		`{metadata: {name: bad-type, namespace: x}, spec: {podSelector: {}, policyTypes: [Sideways]}}`,
		`{metadata: {name: bad-proto, namespace: x}, spec: {podSelector: {}, ingress: [{ports: [{port: 80, protocol: ICMP}]}]}}`,
	}
	var pols []*networkingv1.NetworkPolicy
	for _, d := range bad {
		pols = append(pols, testPolicy(t, d))
	}
	pols = append(pols, testPolicy(t, `{metadata: {name: good, namespace: "y"}, spec: {podSelector: {}}}`))
	c, err := NewCluster(nss, pods, pols)
	if err == nil {
		t.Fatal("no error for invalid policies")
	}
	for _, want := range []string{
		"NetworkPolicy x/bad-op: spec.podSelector", "NetworkPolicy x/bad-cidr: spec.ingress[0].from[0]: ipBlock.cidr \"300.1.1.1/8\" is not a CIDR",
		"NetworkPolicy x/empty-peer: spec.ingress[0].from[0]: a peer needs", "NetworkPolicy x/bad-range: spec.ingress[0].ports[0]: endPort 80",
		"NetworkPolicy x/bad-type: spec.policyTypes[0]", "NetworkPolicy x/bad-proto: spec.ingress[0].ports[0]: protocol \"ICMP\"",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// The invalid policies are left out; the valid one still isolates.
	if v, _ := c.Evaluate(PodPeer("y", "client"), PodPeer("x", "web"), 80, ""); !v.Allowed {
		t.Errorf("x/web should be open: %s", v.Reason)
	}
	if v, _ := c.Evaluate(PodPeer("x", "client"), PodPeer("y", "web"), 80, ""); v.Allowed {
		t.Errorf("y/web should be isolated by y/good: %s", v.Reason)
	}
}

func TestMissingNamespacesAreSynthesized(t *testing.T) {
	pods := []*corev1.Pod{testPod("ghost", "a", lbl("app", "a")), testPod("x", "web", lbl("app", "web"))}
	np := testPolicy(t, `
metadata: {name: p, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ghost}}}]}]`)
	c, err := NewCluster(nil, pods, []*networkingv1.NetworkPolicy{np})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Evaluate(PodPeer("ghost", "a"), PodPeer("x", "web"), 80, ""); !v.Allowed {
		t.Errorf("ghost namespace should carry its name label: %s", v.Reason)
	}
}
