package demo_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
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
