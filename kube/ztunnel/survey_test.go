package ztunnel

import (
	"strings"
	"testing"
	"time"

	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/ambient"
)

func TestSurveyGap(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ok := Reading{Node: "node-a", Pod: "istio-system/zt-a", Dump: &Dump{Services: []Service{{Name: "x"}}}}
	bad := func(node, err string) Reading { return Reading{Node: node, Pod: "istio-system/zt-" + node, Err: err} }
	for _, tc := range []struct {
		name      string
		s         *Survey
		gap, word string
	}{
		{"no reader", nil, "", ""},
		{"first round running", &Survey{}, "ztunnel not read yet: drift checks not run", "ztunnel reading…"},
		{"no ztunnel", &Survey{Started: at, Done: at}, "no running ztunnel (label app=ztunnel): drift checks not run", "no ztunnel"},
		{"all read", &Survey{Started: at, Done: at, Ztunnels: 1, Readings: []Reading{ok}}, "", ""},
		{"none read", &Survey{Started: at, Done: at, Ztunnels: 2, Readings: []Reading{bad("node-b", "forbidden: needs create on pods/portforward"), bad("node-c", "timeout")}},
			"ztunnel not read (forbidden: needs create on pods/portforward): drift checks not run", "ztunnel not read"},
		{"some read", &Survey{Started: at, Done: at, Ztunnels: 3, Readings: []Reading{ok, bad("node-c", "timeout"), bad("node-b", "gone")}},
			"2 of 3 ztunnels not read (timeout): proxies and certificates on node-b, node-c not checked", "1/3 ztunnels read"},
		{"many unread", &Survey{Started: at, Done: at, Ztunnels: 5, Readings: []Reading{ok, bad("n1", "x"), bad("n2", "x"), bad("n3", "x"), bad("n4", "x")}},
			"4 of 5 ztunnels not read (x): proxies and certificates on n1, n2, n3 and 1 more not checked", "1/5 ztunnels read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Gap(); got != tc.gap {
				t.Errorf("Gap = %q, want %q", got, tc.gap)
			}
			if got := tc.s.Short(); got != tc.word {
				t.Errorf("Short = %q, want %q", got, tc.word)
			}
		})
	}
}

func TestSlimKeepsWhatPerNodeChecksNeed(t *testing.T) {
	d := readDump(t, "list-dump.json")
	s := d.Slim()
	if len(s.Workloads)+len(s.Services)+len(s.Policies) != 0 {
		t.Errorf("slim dump keeps the mesh-wide lists: %+v", s)
	}
	if s.Empty() || d.Empty() || s.Slim().Empty() {
		t.Error("a slimmed dump of a ztunnel with config reads as empty")
	}
	if len(s.Local) != len(d.Local) || len(s.Certificates) != len(d.Certificates) || s.Version != d.Version {
		t.Errorf("slim dump lost per-node state: %+v", s)
	}
	if !(&Dump{}).Slim().Empty() || !(&Dump{}).Empty() {
		t.Error("an empty dump, slim or not, must read as empty")
	}
	var none *Dump
	if none.Slim() != nil {
		t.Error("Slim of nil")
	}
}

// A survey judges only objects that existed SurveyGrace before its round
// began and have not changed since: ztunnel may not hold a newer change,
// and a read that raced istiod's push is no evidence.
func TestSurveyDriftJudgesSettledObjectsOnly(t *testing.T) {
	started := time.Date(2026, 12, 1, 11, 30, 0, 0, time.UTC)
	old := metav1.NewTime(started.Add(-time.Hour))
	captured := map[string]string{ambient.AnnotationRedirection: "enabled"}
	mkPod := func(name string, created metav1.Time, rv string) *corev1.Pod {
		p := pod("shop", name, "node-b", "10.0.9.1", captured)
		p.CreationTimestamp, p.ResourceVersion = created, rv
		return p
	}
	cluster := func(nsRV string, pods ...*corev1.Pod) *ambient.Cluster {
		return &ambient.Cluster{
			Namespaces: []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop", ResourceVersion: nsRV, CreationTimestamp: old,
				Labels: map[string]string{ambient.LabelDataplaneMode: "ambient"}}}},
			Pods: pods,
			AuthorizationPolicies: []*secv1.AuthorizationPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "missing",
				CreationTimestamp: old, ResourceVersion: "7"}}},
		}
	}
	base := cluster("1", mkPod("gone-1", old, "5"))
	versions := Versions(base)
	dump := readDump(t, "list-dump.json")
	sv := &Survey{Started: started, Done: started.Add(time.Second), Ztunnels: 1, Versions: versions,
		Readings: []Reading{{Node: "node-a", Pod: "istio-system/zt-a", Dump: dump}}}
	judged := func(c *ambient.Cluster) map[string]string {
		got := codes(sv.Drift(c, ambient.Analyze(c), started))
		for k := range got {
			if strings.HasPrefix(k, "ztunnel-cert-") {
				delete(got, k) // the fixture's certificates, judged whatever the objects
			}
		}
		return got
	}
	for _, tc := range []struct {
		name string
		c    *ambient.Cluster
		want []string
	}{
		{"unchanged", base, []string{"ztunnel-workload-missing Pod shop/gone-1", "ztunnel-policy-missing AuthorizationPolicy shop/missing"}},
		{"pod changed since", cluster("1", mkPod("gone-1", old, "6")), []string{"ztunnel-policy-missing AuthorizationPolicy shop/missing"}},
		{"pod created during the round", cluster("1", mkPod("gone-1", old, "5"), mkPod("new-1", metav1.NewTime(started.Add(time.Second)), "9")),
			[]string{"ztunnel-workload-missing Pod shop/gone-1", "ztunnel-policy-missing AuthorizationPolicy shop/missing"}},
		{"namespace relabelled since", cluster("2", mkPod("gone-1", old, "5")), []string{"ztunnel-policy-missing AuthorizationPolicy shop/missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := judged(tc.c)
			if len(got) != len(tc.want) {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
			for _, w := range tc.want {
				if _, ok := got[w]; !ok {
					t.Errorf("missing %s in %v", w, got)
				}
			}
		})
	}
	// A pod created just before the round began is not judged either.
	young := cluster("1", mkPod("gone-1", metav1.NewTime(started.Add(-SurveyGrace/2)), "5"))
	sv.Versions = Versions(young)
	if got := judged(young); len(got) != 1 {
		t.Errorf("a pod younger than SurveyGrace at the round's start was judged: %v", got)
	}
	if (&Survey{}).Drift(base, ambient.Analyze(base), started) != nil {
		t.Error("a survey that has not finished judged something")
	}
}

// Drift holds from any instant until Turns and changes there: each
// certificate's warning hour and expiry are turns; a failed certificate,
// one without an expiry and an unread ztunnel's are none.
func TestSurveyTurnsWhereDriftChanges(t *testing.T) {
	started := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	exp := started.Add(3 * time.Hour)
	dump := &Dump{Certificates: []Certificate{
		{Identity: "spiffe://a", State: "Available", Expires: exp},
		{Identity: "spiffe://b", State: "Initializing", Expires: exp.Add(30 * time.Minute)},
		{Identity: "spiffe://c", State: "Unavailable: no CA", Expires: started.Add(time.Minute)},
		{Identity: "spiffe://d", State: "Available"},
	}, Workloads: []Workload{{Name: "x"}}}
	sv := &Survey{Started: started, Done: started, Ztunnels: 2, Readings: []Reading{
		{Node: "n1", Pod: "istio-system/ztunnel-1", Dump: dump},
		{Node: "n2", Pod: "istio-system/ztunnel-2", Err: "refused"},
	}}
	c := &ambient.Cluster{}
	a := ambient.Analyze(c)
	judge := func(at time.Time) string {
		var out []string
		for _, f := range sv.Drift(c, a, at) {
			out = append(out, f.Severity.String()+" "+f.Title)
		}
		return strings.Join(out, "\n")
	}
	want := []time.Time{
		exp.Add(-time.Hour + time.Nanosecond), exp.Add(-30*time.Minute + time.Nanosecond), exp, exp.Add(30 * time.Minute),
	}
	now := started
	for i, w := range want {
		got := sv.Turns(now)
		if !got.Equal(w) {
			t.Fatalf("turn %d after %v: %v, want %v", i, now, got, w)
		}
		if judge(got.Add(-time.Nanosecond)) != judge(now) {
			t.Errorf("drift changed before the turn at %v", got)
		}
		if judge(got) == judge(now) {
			t.Errorf("drift did not change at the turn %v:\n%s", got, judge(got))
		}
		now = got
	}
	if got := sv.Turns(now); !got.IsZero() {
		t.Errorf("a turn after every certificate expired: %v", got)
	}
	if got := (&Survey{Started: started}).Turns(started); !got.IsZero() {
		t.Errorf("an unfinished round turns at %v", got)
	}
}
