package ztunnel

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// MaxMetricsBytes bounds one ztunnel /metrics scrape. Every edge is a few
// series of ~1 KiB of labels, so this holds tens of thousands of edges.
const MaxMetricsBytes = 64 << 20

// Edge identifies one direction of traffic as ztunnel labels it.
type Edge struct {
	Reporter                  string // source or destination
	SrcNamespace, SrcWorkload string
	SrcPrincipal              string
	DstNamespace, DstWorkload string
	DstService                string // service hostname, or "unknown"
	Security                  string // mutual_tls or unknown
	Flags                     string // response_flags: "-", DENY, CONNECT, NETWORK_POLICY, ...
}

// Counters are an edge's cumulative totals at one scrape.
type Counters struct {
	Opened, Closed, Failed float64
	Sent, Received         float64
}

// Scrape is one ztunnel metrics reading.
type Scrape struct {
	At    time.Time
	Edges map[Edge]Counters
	// Version is istio_build's tag, when present.
	Version string
	// ActiveProxies is workload_manager_active_proxy_count: the pods this
	// ztunnel runs a proxy for; -1 when absent.
	ActiveProxies int
}

// The counters ztunnel keeps per edge (istio/ztunnel src/proxy/metrics.rs).
// The Rust client writes OpenMetrics, where a counter's family is declared
// without _total; the text parser then files the samples under the _total
// name, so both spellings are accepted.
var counterNames = map[string]func(*Counters, float64){
	"istio_tcp_connections_opened": func(c *Counters, v float64) { c.Opened += v },
	"istio_tcp_connections_closed": func(c *Counters, v float64) { c.Closed += v },
	"istio_tcp_connections_failed": func(c *Counters, v float64) { c.Failed += v },
	"istio_tcp_sent_bytes":         func(c *Counters, v float64) { c.Sent += v },
	"istio_tcp_received_bytes":     func(c *Counters, v float64) { c.Received += v },
}

// ParseMetrics reads ztunnel's Prometheus/OpenMetrics text. Series ambx does
// not use are skipped; a malformed exposition is an error, never a silent
// empty scrape.
func ParseMetrics(r io.Reader, at time.Time) (*Scrape, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxMetricsBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxMetricsBytes {
		return nil, fmt.Errorf("metrics are more than the %d bytes ambx reads", MaxMetricsBytes)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(openMetricsToText(data)))
	if err != nil {
		return nil, fmt.Errorf("ztunnel metrics: %w", err)
	}
	s := &Scrape{At: at, Edges: map[Edge]Counters{}, ActiveProxies: -1}
	for name, fam := range families {
		switch base := strings.TrimSuffix(name, "_total"); {
		case counterNames[base] != nil:
			add := counterNames[base]
			for _, m := range fam.GetMetric() {
				e := edgeOf(m.GetLabel())
				c := s.Edges[e]
				add(&c, value(m))
				s.Edges[e] = c
			}
		case name == "istio_build":
			for _, m := range fam.GetMetric() {
				if l := labels(m.GetLabel()); l["component"] == "ztunnel" {
					s.Version = l["tag"]
				}
			}
		case name == "workload_manager_active_proxy_count":
			for _, m := range fam.GetMetric() {
				s.ActiveProxies = int(value(m))
			}
		}
	}
	return s, nil
}

// openMetricsToText drops the OpenMetrics-only lines (# EOF, # UNIT) that
// the Prometheus text format does not define, so the standard parser reads
// the rest unchanged.
func openMetricsToText(data []byte) []byte {
	if !bytes.Contains(data, []byte("# EOF")) && !bytes.Contains(data, []byte("# UNIT")) {
		return data
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), MaxMetricsBytes)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("# EOF")) || bytes.HasPrefix(line, []byte("# UNIT ")) {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

func labels(ls []*dto.LabelPair) map[string]string {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[l.GetName()] = l.GetValue()
	}
	return m
}

func edgeOf(ls []*dto.LabelPair) Edge {
	l := labels(ls)
	return Edge{
		Reporter:     l["reporter"],
		SrcNamespace: l["source_workload_namespace"], SrcWorkload: l["source_workload"],
		SrcPrincipal: l["source_principal"],
		DstNamespace: l["destination_workload_namespace"], DstWorkload: l["destination_workload"],
		DstService: l["destination_service"],
		Security:   l["connection_security_policy"],
		Flags:      l["response_flags"],
	}
}

// Rate is an edge's traffic per second between two scrapes.
type Rate struct {
	Edge
	ConnsPerSec, FailedPerSec float64
	SentPerSec, RecvPerSec    float64
	Opened                    float64 // connections opened in the interval
}

// Rates compares two scrapes of the same ztunnel. A counter that went down
// (ztunnel restarted) counts from zero. Edges with no traffic in the
// interval are left out; the result is sorted by connection rate.
func Rates(prev, cur *Scrape) []Rate {
	if prev == nil || cur == nil {
		return nil
	}
	secs := cur.At.Sub(prev.At).Seconds()
	if secs <= 0 {
		return nil
	}
	delta := func(a, b float64) float64 {
		if b < a {
			return b
		}
		return b - a
	}
	var out []Rate
	for e, c := range cur.Edges {
		p := prev.Edges[e]
		r := Rate{
			Edge:         e,
			Opened:       delta(p.Opened, c.Opened),
			FailedPerSec: delta(p.Failed, c.Failed) / secs,
			SentPerSec:   delta(p.Sent, c.Sent) / secs,
			RecvPerSec:   delta(p.Received, c.Received) / secs,
		}
		r.ConnsPerSec = r.Opened / secs
		if r.Opened == 0 && r.SentPerSec == 0 && r.RecvPerSec == 0 && r.FailedPerSec == 0 {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ConnsPerSec != out[j].ConnsPerSec {
			return out[i].ConnsPerSec > out[j].ConnsPerSec
		}
		return edgeLess(out[i].Edge, out[j].Edge)
	})
	return out
}

func edgeLess(a, b Edge) bool {
	for _, p := range [][2]string{
		{a.SrcNamespace, b.SrcNamespace}, {a.SrcWorkload, b.SrcWorkload},
		{a.DstNamespace, b.DstNamespace}, {a.DstWorkload, b.DstWorkload},
		{a.DstService, b.DstService}, {a.Reporter, b.Reporter}, {a.Flags, b.Flags}, {a.Security, b.Security},
	} {
		if p[0] != p[1] {
			return p[0] < p[1]
		}
	}
	return false
}
