package demo_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
)

func readAll(t *testing.T, z *demo.Ztunnel, c *ambient.Cluster) []ztunnel.Reading {
	t.Helper()
	var out []ztunnel.Reading
	for _, p := range c.Pods {
		if p.Labels["app"] != "ztunnel" {
			continue
		}
		d, err := z.ConfigDump(context.Background(), ztread.Pod{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ztunnel.Reading{Node: p.Spec.NodeName, Pod: p.Namespace + "/" + p.Name, Dump: d})
	}
	if len(out) != 5 {
		t.Fatalf("read %d ztunnels, want one per node (5)", len(out))
	}
	return out
}

// The demo's ztunnels hold exactly the planted drift: grafana as TCP, and
// an expiring certificate on homelab-w3. Nothing else disagrees with the
// API objects.
func TestDemoZtunnelDriftIsPlanted(t *testing.T) {
	now := demo.Epoch
	z := &demo.Ztunnel{Now: func() time.Time { return now }}
	c := demo.Objects(now)
	a := ambient.Analyze(c)
	var got []string
	for _, f := range ztunnel.Drift(c, a, readAll(t, z, c), now) {
		got = append(got, f.Severity.String()+" "+f.Code+" "+f.Object.String())
	}
	sort.Strings(got)
	var grafana string
	for _, p := range c.Pods {
		if p.Namespace == "default" && len(p.Name) > 8 && p.Name[:8] == "grafana-" {
			grafana = p.Name
		}
	}
	want := []string{
		"error ztunnel-workload-tcp Pod default/" + grafana,
		"warning ztunnel-cert-expiring Pod istio-system/" + ztunnelOn(c, "homelab-w3"),
	}
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("drift findings:\n%v\nwant:\n%v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("drift finding %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func ztunnelOn(c *ambient.Cluster, node string) string {
	for _, p := range c.Pods {
		if p.Labels["app"] == "ztunnel" && p.Spec.NodeName == node {
			return p.Name
		}
	}
	return ""
}

// Counters grow with the demo clock, so two reads give live rates, and the
// promtail → loki edge fails as loki's NetworkPolicy makes it.
func TestDemoZtunnelMetricsHaveRates(t *testing.T) {
	now := demo.Epoch
	z := &demo.Ztunnel{Now: func() time.Time { return now }}
	c := demo.Objects(now)
	var rates []ztunnel.Rate
	for _, p := range c.Pods {
		if p.Labels["app"] != "ztunnel" {
			continue
		}
		zp := ztread.Pod{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName}
		now = demo.Epoch
		before, err := z.Metrics(context.Background(), zp)
		if err != nil {
			t.Fatal(err)
		}
		now = demo.Epoch.Add(10 * time.Second)
		after, err := z.Metrics(context.Background(), zp)
		if err != nil {
			t.Fatal(err)
		}
		rates = append(rates, ztunnel.Rates(before, after)...)
	}
	var blocked, grafana bool
	for _, r := range rates {
		if r.SrcWorkload == "promtail" && r.Flags == "NETWORK_POLICY" && r.ConnsPerSec > 0 {
			blocked = true
		}
		if r.SrcWorkload == "grafana" && r.DstWorkload == "prometheus" && r.SentPerSec > 40_000 && r.Security == "mutual_tls" {
			grafana = true
		}
	}
	if !blocked || !grafana {
		t.Fatalf("demo rates lack the live edges (promtail→loki blocked %v, grafana→prometheus %v): %+v", blocked, grafana, rates)
	}
}

// The main screen's findings, once every ztunnel was read, are the planted
// mistakes of the API objects and the two planted drifts, each exactly
// once; before the read they say the drift checks did not run.
func TestDemoFindingsWithZtunnelSurvey(t *testing.T) {
	now := demo.Epoch
	z := &demo.Ztunnel{Now: func() time.Time { return now }}
	base := demo.Homelab()
	sv := &ztunnel.Survey{Started: now, Done: now, Readings: readAll(t, z, &base.Cluster), Versions: ztunnel.Versions(&base.Cluster)}
	sv.Ztunnels = len(sv.Readings)
	got := base.WithZtunnel(sv, now)
	if got == base || len(base.Findings) != len(demo.Homelab().Findings) {
		t.Fatal("WithZtunnel changed the shared snapshot")
	}
	count := map[string]int{}
	for _, f := range got.Findings {
		count[f.Code+" "+f.Object.String()]++
	}
	var grafana string
	for _, p := range base.Pods {
		if p.Namespace == "default" && strings.HasPrefix(p.Name, "grafana-") {
			grafana = p.Name
		}
	}
	drifts := []string{
		"ztunnel-workload-tcp Pod default/" + grafana,
		"ztunnel-cert-expiring Pod istio-system/" + ztunnelOn(&base.Cluster, "homelab-w3"),
	}
	for _, f := range base.Findings {
		if n := count[f.Code+" "+f.Object.String()]; n != 1 {
			t.Errorf("planted finding %s %s listed %d times with the drift", f.Code, f.Object, n)
		}
	}
	for _, d := range drifts {
		if count[d] != 1 {
			t.Errorf("planted drift %s listed %d times, want once", d, count[d])
		}
	}
	if len(got.Findings) != len(base.Findings)+len(drifts) {
		t.Errorf("%d findings with the survey, want the %d planted and the %d drifts", len(got.Findings), len(base.Findings), len(drifts))
	}
	if tally := got.Marks().Object(finding.Ref{Kind: "Pod", Namespace: "default", Name: grafana}); tally.Errors != 1 {
		t.Errorf("grafana's row mark counts %+v, want its drift error", tally)
	}
	if all, was := got.Marks().All(), base.Marks().All(); all.Errors != was.Errors+1 || all.Warnings != was.Warnings+1 {
		t.Errorf("badge counts %+v, want %+v plus one error and one warning", all, was)
	}
	if g := got.Ztunnel.Gap(); g != "" {
		t.Errorf("every ztunnel read, yet the findings say %q", g)
	}
}
