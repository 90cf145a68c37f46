// Package waypointstats reads a waypoint's L7 request metrics
// (istio_requests_total, which only a waypoint's Envoy reports in ambient:
// ztunnel sees TCP alone) from its pilot-agent's merged Prometheus
// endpoint, and turns two reads into request rates by response code. It is
// pure: fetching happens in kube/ztread.
package waypointstats

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Port and Path are where a waypoint's pilot-agent serves Envoy's and its
// own metrics merged; the listener is on the pod's interfaces, so the API
// server's pod proxy (get pods/proxy, a read) reaches it.
const (
	Port = 15020
	Path = "stats/prometheus"
)

// MaxBytes bounds one read: Envoy's stats of a busy waypoint run to a few
// MiB.
const MaxBytes = 32 << 20

// Route is one series of istio_requests_total: who called which service,
// and what the waypoint answered.
type Route struct {
	SrcNamespace, SrcWorkload string
	DstService                string
	Code                      string // response_code
}

// Scrape is one read of a waypoint's requests.
type Scrape struct {
	At       time.Time
	Requests map[Route]float64
}

// Parse reads the Prometheus text a waypoint serves, keeping
// istio_requests_total. A malformed exposition is an error, never an empty
// scrape.
func Parse(r io.Reader, at time.Time) (*Scrape, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("waypoint metrics are more than the %d bytes ambx reads", MaxBytes)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("waypoint metrics: %w", err)
	}
	s := &Scrape{At: at, Requests: map[Route]float64{}}
	fam := families["istio_requests_total"]
	for _, m := range fam.GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		v := m.GetCounter().GetValue()
		if m.GetCounter() == nil {
			v = m.GetUntyped().GetValue()
		}
		k := Route{SrcNamespace: l["source_workload_namespace"], SrcWorkload: l["source_workload"],
			DstService: l["destination_service"], Code: l["response_code"]}
		s.Requests[k] += v
	}
	return s, nil
}

// Rate is one route's requests per second between two scrapes.
type Rate struct {
	Route
	PerSec float64
}

// Rates compares two scrapes of one waypoint; a counter that went down
// (Envoy restarted) counts from zero. Routes without requests in the
// interval are left out; the busiest come first.
func Rates(prev, cur *Scrape) []Rate {
	if prev == nil || cur == nil {
		return nil
	}
	secs := cur.At.Sub(prev.At).Seconds()
	if secs <= 0 {
		return nil
	}
	var out []Rate
	for k, v := range cur.Requests {
		d := v - prev.Requests[k]
		if v < prev.Requests[k] {
			d = v
		}
		if d > 0 {
			out = append(out, Rate{Route: k, PerSec: d / secs})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PerSec != out[j].PerSec {
			return out[i].PerSec > out[j].PerSec
		}
		a, b := out[i].Route, out[j].Route
		return a.SrcNamespace+"/"+a.SrcWorkload+" "+a.DstService+" "+a.Code < b.SrcNamespace+"/"+b.SrcWorkload+" "+b.DstService+" "+b.Code
	})
	return out
}
