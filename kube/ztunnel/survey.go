package ztunnel

import (
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
)

// SurveyGrace is how long an object must have existed before a round of
// reads began for ztunnel's lack of it to be drift: istiod pushes a new
// object to every ztunnel within seconds, and a read that raced the push is
// no evidence.
const SurveyGrace = 15 * time.Second

// Survey is one round of config_dump reads of every running ztunnel, for
// the drift checks of the main screen. A nil *Survey means ambx has no way
// to read ztunnels here; a Survey that has not finished, or whose reads
// failed, says so (Gap) instead of passing for "no drift".
type Survey struct {
	// Started is when the round began; Done when its last read returned
	// (zero while the first round runs).
	Started, Done time.Time
	// Ztunnels is how many ztunnels were running when the round began.
	Ztunnels int
	// Readings holds one entry per ztunnel tried, Err set where the read
	// failed. Only the first successful one keeps its whole dump (every
	// ztunnel holds the whole mesh); the others are Slim.
	Readings []Reading
	// Versions are the resourceVersions of the objects the drift checks
	// judge, taken when the round began: an object changed since then is
	// not judged, since ztunnel may not hold the change yet.
	Versions map[finding.Ref]string
}

// Read is how many ztunnels the round read.
func (s *Survey) Read() int {
	n := 0
	if s != nil {
		for _, r := range s.Readings {
			if r.Dump != nil {
				n++
			}
		}
	}
	return n
}

// Gap says which drift checks did not run and why, as the findings list
// words it; "" when every running ztunnel was read (or there is no way to
// read one: nil).
func (s *Survey) Gap() string {
	switch {
	case s == nil:
		return ""
	case s.Done.IsZero():
		return "ztunnel not read yet: drift checks not run"
	case s.Ztunnels == 0:
		return "no running ztunnel (label app=ztunnel): drift checks not run"
	}
	var failed []string
	why := ""
	for _, r := range s.Readings {
		if r.Dump == nil {
			failed = append(failed, r.Node)
			if why == "" {
				why = r.Err
			}
		}
	}
	unread := s.Ztunnels - s.Read()
	switch {
	case s.Read() == 0:
		if why == "" {
			why = "no read finished"
		}
		return "ztunnel not read (" + why + "): drift checks not run"
	case unread > 0:
		sort.Strings(failed)
		nodes := strings.Join(failed, ", ")
		if len(failed) > 3 {
			nodes = strings.Join(failed[:3], ", ") + fmt.Sprintf(" and %d more", len(failed)-3)
		}
		if nodes == "" {
			nodes = fmt.Sprintf("%d nodes", unread)
		}
		if why != "" {
			why = " (" + why + ")"
		}
		return fmt.Sprintf("%d of %d ztunnels not read%s: proxies and certificates on %s not checked", unread, s.Ztunnels, why, nodes)
	}
	return ""
}

// Ages says how old the readings the drift is judged from are when some
// were kept from an earlier round (a round after a change re-reads only
// the nodes whose pods changed), as the findings list words it; "" when
// every reading is of this round.
func (s *Survey) Ages() string {
	if s == nil || s.Done.IsZero() {
		return ""
	}
	kept, oldest := 0, s.Started
	for _, r := range s.Readings {
		if r.Dump != nil && !r.At.IsZero() && r.At.Before(s.Started) {
			kept++
			if r.At.Before(oldest) {
				oldest = r.At
			}
		}
	}
	if kept == 0 {
		return ""
	}
	return fmt.Sprintf("ztunnel drift of %d of %d nodes is as read up to %s before the last round, which re-read only the nodes whose pods changed",
		kept, s.Ztunnels, s.Started.Sub(oldest).Round(time.Second))
}

// Short is Gap in a few words, for the header badge; "" when there is no
// gap.
func (s *Survey) Short() string {
	switch {
	case s.Gap() == "":
		return ""
	case s.Done.IsZero():
		return "ztunnel reading…"
	case s.Ztunnels == 0:
		return "no ztunnel"
	case s.Read() == 0:
		return "ztunnel not read"
	}
	return fmt.Sprintf("%d/%d ztunnels read", s.Read(), s.Ztunnels)
}

// Slim returns d without the mesh-wide lists, keeping what the per-node
// drift checks need (its proxies, certificates, whether it holds any
// config), so a survey of many nodes holds the mesh once, not per node.
func (d *Dump) Slim() *Dump {
	if d == nil {
		return nil
	}
	return &Dump{Certificates: d.Certificates, Local: d.Local, Version: d.Version, Legacy: d.Legacy,
		slim: true, held: d.held + len(d.Workloads) + len(d.Services)}
}

// Empty reports whether the ztunnel holds no workload and no service: it
// has received no configuration from istiod.
func (d *Dump) Empty() bool {
	if d.slim {
		return d.held == 0
	}
	return len(d.Workloads) == 0 && len(d.Services) == 0
}

// Drift judges a survey against the cluster: like Drift, over its
// readings, judging only the pods, services and policies that existed
// SurveyGrace before the round began and have not changed since.
func (s *Survey) Drift(c *ambient.Cluster, a *ambient.Analysis, now time.Time) []finding.Finding {
	if s == nil || s.Done.IsZero() {
		return nil
	}
	settled := func(kind string, o metav1.Object) bool {
		if s.Started.Sub(o.GetCreationTimestamp().Time) < SurveyGrace {
			return false
		}
		v, ok := s.Versions[finding.Ref{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()}]
		return ok && v == o.GetResourceVersion()
	}
	return drift(c, a, s.Readings, now, settled)
}

// Turns is the first instant after now at which Drift may judge the
// survey's readings otherwise for the passing of time alone: a
// certificate coming within CertExpiryWarning of its expiry, or expiring.
// Drift at any instant in [now, Turns) gives what it gives at now, so a
// caller may keep that result until then; zero means no verdict reads the
// clock after now.
func (s *Survey) Turns(now time.Time) time.Time {
	if s == nil || s.Done.IsZero() {
		return time.Time{}
	}
	var next time.Time
	turn := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, r := range s.Readings {
		if r.Dump == nil {
			continue
		}
		for _, c := range r.Dump.Certificates {
			if c.Expires.IsZero() || certFailed(c) {
				continue // judged without the clock (see drift)
			}
			turn(c.Expires.Add(-CertExpiryWarning + time.Nanosecond)) // first instant of the warning
			turn(c.Expires)
		}
	}
	return next
}

// Versions records the resourceVersions of the objects a survey judges,
// for Survey.Versions.
func Versions(c *ambient.Cluster) map[finding.Ref]string {
	if c == nil {
		return nil
	}
	m := make(map[finding.Ref]string, len(c.Pods)+len(c.Services)+len(c.AuthorizationPolicies)+len(c.Namespaces)+len(c.Gateways))
	for _, x := range c.Namespaces {
		m[finding.Ref{Kind: "Namespace", Name: x.Name}] = x.ResourceVersion
	}
	for _, x := range c.Gateways {
		m[finding.Ref{Kind: "Gateway", Namespace: x.Namespace, Name: x.Name}] = x.ResourceVersion
	}
	for _, p := range c.Pods {
		m[finding.Ref{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}] = p.ResourceVersion
	}
	for _, x := range c.Services {
		m[finding.Ref{Kind: "Service", Namespace: x.Namespace, Name: x.Name}] = x.ResourceVersion
	}
	for _, x := range c.AuthorizationPolicies {
		m[finding.Ref{Kind: "AuthorizationPolicy", Namespace: x.Namespace, Name: x.Name}] = x.ResourceVersion
	}
	return m
}
