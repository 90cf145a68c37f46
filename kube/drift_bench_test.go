package kube

import (
	"testing"
	"time"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/synth"
	"github.com/ambx/ambx/kube/ztunnel"
)

// BenchmarkWithZtunnel is what folding a survey's drift into a new
// snapshot costs the UI goroutine at 10,600 pods: one full dump that
// holds every pod as the analysis has it (no drift), and a slim reading
// per other node.
func BenchmarkWithZtunnel(b *testing.B) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := *synth.Cluster(10000, 1000, 3000, 500)
	for _, p := range c.Pods {
		p.CreationTimestamp.Time = now.Add(-time.Hour)
	}
	s := Build(c, now)
	d := &ztunnel.Dump{}
	for _, p := range c.Pods {
		info := s.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]
		proto := "TCP"
		if info.State == ambient.PodCaptured {
			proto = "HBONE"
		}
		d.Workloads = append(d.Workloads, ztunnel.Workload{UID: "Kubernetes//Pod/" + p.Namespace + "/" + p.Name, Name: p.Name, Namespace: p.Namespace,
			Node: p.Spec.NodeName, IPs: []string{p.Status.PodIP}, Protocol: proto, Status: "Healthy"})
	}
	for _, svc := range c.Services {
		d.Services = append(d.Services, ztunnel.Service{Name: svc.Name, Namespace: svc.Namespace, Hostname: svc.Name + "." + svc.Namespace + ".svc.cluster.local"})
	}
	sv := &ztunnel.Survey{Started: now, Done: now, Ztunnels: len(c.Nodes), Versions: ztunnel.Versions(&s.Cluster)}
	for i, n := range c.Nodes {
		r := ztunnel.Reading{Node: n.Name, Pod: "istio-system/ztunnel-" + n.Name, Dump: d, At: now}
		if i > 0 {
			r.Dump = d.Slim()
		}
		sv.Readings = append(sv.Readings, r)
	}
	b.ReportAllocs()
	var out *Snapshot
	for b.Loop() {
		out = s.WithZtunnel(sv, now)
	}
	b.ReportMetric(float64(len(out.Findings)-len(s.Findings)), "drift-findings")
}
