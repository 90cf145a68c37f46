package waypointstats

import (
	"strings"
	"testing"
	"time"
)

// The series shape Envoy's Istio stats filter writes for a waypoint
// (reporter="waypoint"), trimmed to the labels ambx reads plus a few it
// ignores; other families are skipped.
const exposition = `# TYPE istio_requests_total counter
istio_requests_total{reporter="waypoint",source_workload="sleep",source_workload_namespace="ambient-apps",destination_service="httpbin.ambient-apps.svc.cluster.local",destination_workload="httpbin",response_code="200",request_protocol="http",connection_security_policy="mutual_tls"} 120
istio_requests_total{reporter="waypoint",source_workload="sleep",source_workload_namespace="ambient-apps",destination_service="httpbin.ambient-apps.svc.cluster.local",destination_workload="httpbin",response_code="403",request_protocol="http",connection_security_policy="mutual_tls"} 7
# TYPE envoy_server_uptime gauge
envoy_server_uptime 3600
`

func TestParseAndRates(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	a, err := Parse(strings.NewReader(exposition), t0)
	if err != nil {
		t.Fatal(err)
	}
	later := strings.Replace(strings.Replace(exposition, "} 120", "} 170", 1), "} 7", "} 2", 1) // 403 counter reset
	b, err := Parse(strings.NewReader(later), t0.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := Rates(a, b)
	if len(got) != 2 || got[0].Code != "200" || got[0].PerSec != 5 || got[1].Code != "403" || got[1].PerSec != 0.2 {
		t.Fatalf("rates %+v, want 200 at 5/s and 403 at 0.2/s (restarted counter counts from zero)", got)
	}
	if got[0].SrcWorkload != "sleep" || got[0].DstService != "httpbin.ambient-apps.svc.cluster.local" {
		t.Errorf("route %+v", got[0].Route)
	}
	if Rates(a, a) != nil || Rates(nil, b) != nil {
		t.Error("rates without an interval")
	}
	if _, err := Parse(strings.NewReader("istio_requests_total{response_code=\"200\" 1\n"), t0); err == nil {
		t.Error("malformed metrics parsed")
	}
}
