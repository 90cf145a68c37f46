package finding

import "testing"

func TestIndex(t *testing.T) {
	nsLoki := Ref{Kind: "Namespace", Name: "loki"}
	npLoki := Ref{Kind: "NetworkPolicy", Namespace: "loki", Name: "loki"}
	svc := Ref{Kind: "Service", Namespace: "shop", Name: "cart"}
	gw := Ref{Kind: "Gateway", Namespace: "shop", Name: "waypoint"}
	node := Ref{Kind: "Node", Name: "loki"} // cluster-scoped, named like a namespace
	// A Namespace-kind ref with a namespace set is some namespaced object
	// oddly named; it belongs to the namespace it sits in.
	odd := Ref{Kind: "Namespace", Namespace: "shop", Name: "loki"}
	f := func(s Severity, r Ref) Finding { return Finding{Severity: s, Object: r} }
	pod0 := Ref{Kind: "Pod", Namespace: "loki", Name: "loki-0"}
	pod1 := Ref{Kind: "Pod", Namespace: "loki", Name: "loki-1"}
	shopPod := Ref{Kind: "Pod", Namespace: "shop", Name: "cart-0"}
	aff := func(s Severity, r Ref, pods ...Ref) Finding { return Finding{Severity: s, Object: r, Affects: pods} }

	for _, tc := range []struct {
		name     string
		findings []Finding
		object   Ref
		wantObj  Tally
		ns       string
		wantNS   Tally
		wantAll  Tally
		worst    Severity
		worstOK  bool
	}{
		{name: "none", object: npLoki, ns: "loki"},
		{name: "one error on a policy marks the policy and its namespace",
			findings: []Finding{f(Error, npLoki)}, object: npLoki, wantObj: Tally{Errors: 1},
			ns: "loki", wantNS: Tally{Errors: 1}, wantAll: Tally{Errors: 1}, worst: Error, worstOK: true},
		{name: "a namespace aggregates itself and its objects",
			findings: []Finding{f(Warning, nsLoki), f(Error, npLoki), f(Info, npLoki)}, object: nsLoki, wantObj: Tally{Warnings: 1},
			ns: "loki", wantNS: Tally{Errors: 1, Warnings: 1, Infos: 1}, wantAll: Tally{Errors: 1, Warnings: 1, Infos: 1}, worst: Warning, worstOK: true},
		{name: "other namespaces do not leak in",
			findings: []Finding{f(Error, svc), f(Warning, gw)}, object: svc, wantObj: Tally{Errors: 1},
			ns: "loki", wantNS: Tally{}, wantAll: Tally{Errors: 1, Warnings: 1}, worst: Error, worstOK: true},
		{name: "a cluster-scoped object named like a namespace is not that namespace",
			findings: []Finding{f(Error, node)}, object: node, wantObj: Tally{Errors: 1},
			ns: "loki", wantNS: Tally{}, wantAll: Tally{Errors: 1}, worst: Error, worstOK: true},
		{name: "a namespaced ref of kind Namespace counts where it sits",
			findings: []Finding{f(Warning, odd)}, object: nsLoki,
			ns: "shop", wantNS: Tally{Warnings: 1}, wantAll: Tally{Warnings: 1}},
		{name: "info alone is a finding, worst info",
			findings: []Finding{f(Info, svc)}, object: svc, wantObj: Tally{Infos: 1},
			ns: "shop", wantNS: Tally{Infos: 1}, wantAll: Tally{Infos: 1}, worst: Info, worstOK: true},
		{name: "a policy's finding marks the pods it affects",
			findings: []Finding{aff(Error, npLoki, pod0, pod1)}, object: pod0, wantObj: Tally{Errors: 1},
			ns: "loki", wantNS: Tally{Errors: 1}, wantAll: Tally{Errors: 1}, worst: Error, worstOK: true},
		{name: "an affected pod is marked by each finding once, however often it is named",
			findings: []Finding{aff(Error, npLoki, pod0, pod0, npLoki), aff(Warning, nsLoki, pod0)}, object: pod0, wantObj: Tally{Errors: 1, Warnings: 1},
			ns: "loki", wantNS: Tally{Errors: 1, Warnings: 1}, wantAll: Tally{Errors: 1, Warnings: 1}, worst: Error, worstOK: true},
		{name: "the finding itself is counted on its object once",
			findings: []Finding{aff(Error, npLoki, npLoki, pod1)}, object: npLoki, wantObj: Tally{Errors: 1},
			ns: "loki", wantNS: Tally{Errors: 1}, wantAll: Tally{Errors: 1}, worst: Error, worstOK: true},
		{name: "an affected pod elsewhere marks its namespace too",
			findings: []Finding{aff(Error, npLoki, pod1, shopPod)}, object: shopPod, wantObj: Tally{Errors: 1},
			ns: "shop", wantNS: Tally{Errors: 1}, wantAll: Tally{Errors: 1}, worst: Error, worstOK: true},
		{name: "a pod not affected is not marked",
			findings: []Finding{aff(Error, npLoki, pod0)}, object: pod1,
			ns: "shop", wantAll: Tally{Errors: 1}},
		{name: "a severity above Error counts as an error",
			findings: []Finding{f(Error+3, svc)}, object: svc, wantObj: Tally{Errors: 1},
			ns: "shop", wantNS: Tally{Errors: 1}, wantAll: Tally{Errors: 1}, worst: Error, worstOK: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := NewIndex(tc.findings)
			if got := ix.Object(tc.object); got != tc.wantObj {
				t.Errorf("Object(%s) = %+v, want %+v", tc.object, got, tc.wantObj)
			}
			if got := ix.Namespace(tc.ns); got != tc.wantNS {
				t.Errorf("Namespace(%s) = %+v, want %+v", tc.ns, got, tc.wantNS)
			}
			if got := ix.All(); got != tc.wantAll {
				t.Errorf("All() = %+v, want %+v", got, tc.wantAll)
			}
			if w, ok := ix.Object(tc.object).Worst(); ok != tc.worstOK || ok && w != tc.worst {
				t.Errorf("Object(%s).Worst() = %v, %v; want %v, %v", tc.object, w, ok, tc.worst, tc.worstOK)
			}
		})
	}
}

func TestNilIndex(t *testing.T) {
	var ix *Index
	if got := ix.Object(Ref{Kind: "Pod", Name: "x"}); got.Total() != 0 {
		t.Errorf("nil index Object = %+v", got)
	}
	if got := ix.Namespace("x"); got.Total() != 0 {
		t.Errorf("nil index Namespace = %+v", got)
	}
	if _, ok := ix.All().Worst(); ok {
		t.Error("a nil index has a worst severity")
	}
}

func TestTallyMerge(t *testing.T) {
	a := Tally{Errors: 1, Infos: 2}
	a.Merge(Tally{Warnings: 3, Infos: 1})
	if want := (Tally{Errors: 1, Warnings: 3, Infos: 3}); a != want {
		t.Errorf("merged %+v, want %+v", a, want)
	}
	if a.Total() != 7 {
		t.Errorf("total %d, want 7", a.Total())
	}
}
