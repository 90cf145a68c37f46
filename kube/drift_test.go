package kube

import (
	"testing"
	"time"

	secv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/ztunnel"
)

// Drift joins the findings only for checks whose API objects were read: a
// policy "missing from ztunnel" when the policies were never read is a
// guess. ztunnel's own state (its certificates) needs no API object.
func TestWithZtunnelDropsDriftOfChecksNotRun(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	old := metav1.NewTime(now.Add(-time.Hour))
	c := ambient.Cluster{AuthorizationPolicies: []*secv1.AuthorizationPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deny-all", CreationTimestamp: old}}}}
	dump := &ztunnel.Dump{Services: []ztunnel.Service{{Name: "x", Namespace: "shop"}},
		Certificates: []ztunnel.Certificate{{Identity: "spiffe://cluster.local/ns/shop/sa/x", State: "Unavailable: no CA"}}}
	survey := func(s *Snapshot) *ztunnel.Survey {
		return &ztunnel.Survey{Started: now, Done: now, Ztunnels: 1, Versions: ztunnel.Versions(&s.Cluster),
			Readings: []ztunnel.Reading{{Node: "n1", Pod: "istio-system/zt", Dump: dump}}}
	}
	codes := func(s *Snapshot) map[string]bool {
		m := map[string]bool{}
		for _, f := range s.Findings {
			m[f.Code] = true
		}
		return m
	}
	read := Build(c, now)
	if got := codes(read.WithZtunnel(survey(read), now)); !got["ztunnel-policy-missing"] || !got["ztunnel-cert-failed"] {
		t.Errorf("all read: findings %v, want the missing policy and the failed certificate", got)
	}
	unread := Build(c, now)
	unread.Resources[ResAuthorizationPolicies] = ResourceState{Availability: Forbidden}
	got := unread.WithZtunnel(survey(unread), now)
	if codes(got)["ztunnel-policy-missing"] || !codes(got)["ztunnel-cert-failed"] {
		t.Errorf("policies forbidden: findings %v, want the certificate only", codes(got))
	}
	if got.Marks().All().Errors != len(got.Findings) || len(unread.Findings) != 0 {
		t.Errorf("marks %+v for findings %d; the shared snapshot now has %d", got.Marks().All(), len(got.Findings), len(unread.Findings))
	}
	if read.WithZtunnel(nil, now) != read {
		t.Error("no survey must leave the snapshot as it is")
	}
}
