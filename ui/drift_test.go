package ui

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
)

// countingReader records the nodes whose config_dump was read.
type countingReader struct {
	ztread.Reader
	mu    sync.Mutex
	nodes []string
}

func (c *countingReader) ConfigDump(ctx context.Context, p ztread.Pod) (*ztunnel.Dump, error) {
	c.mu.Lock()
	c.nodes = append(c.nodes, p.Node)
	c.mu.Unlock()
	return c.Reader.ConfigDump(ctx, p)
}

func (c *countingReader) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.nodes
	c.nodes = nil
	slices.Sort(out)
	return out
}

// After a pod changed, a round re-reads only its node's ztunnel and the
// one that gives the mesh-wide view; the findings are what a round that
// read every ztunnel finds (judging kept readings as they were read), and the findings list says how old the kept
// readings are. A namespace's labels changing reads every ztunnel again.
func TestDriftRereadsOnlyChangedNodes(t *testing.T) {
	at := demo.Epoch
	clock := func() time.Time { return at }
	r := &countingReader{Reader: &demo.Ztunnel{Now: clock}}
	m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: r})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	round := func(s *kube.Snapshot) {
		t.Helper()
		mm, cmd := m.Update(SnapshotMsg{s})
		m = mm.(Model)
		for _, msg := range run(cmd) {
			m = drive(t, m, msg)
		}
	}
	base := demo.Homelab()
	round(base)
	all := ztread.Ztunnels(base.Pods)
	if got := r.take(); len(got) != len(all) || len(all) < 3 {
		t.Fatalf("the first round read %v, want every one of %d ztunnels (and the demo to have 3 or more)", got, len(all))
	}

	// One captured pod on a node other than the first ztunnel's changes.
	c := base.Cluster
	c.Pods = slices.Clone(c.Pods)
	i := slices.IndexFunc(c.Pods, func(p *corev1.Pod) bool {
		return p.Spec.NodeName != all[0].Node && p.Spec.NodeName != "" && p.Labels["app"] != "ztunnel" &&
			base.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].State == ambient.PodCaptured
	})
	if i < 0 {
		t.Fatal("no captured pod off the first ztunnel's node")
	}
	p := c.Pods[i].DeepCopy()
	p.ResourceVersion += "1"
	p.Status.Message = "probed"
	c.Pods[i] = p
	at = at.Add(40 * time.Second)
	next := snapshotAt(c, at)
	round(next)
	if got, want := r.take(), sortedOf(all[0].Node, p.Spec.NodeName); !slices.Equal(got, want) {
		t.Fatalf("after one pod changed the round read %v, want %v", got, want)
	}
	full := survey(context.Background(), r, all, nil, len(all), ztunnel.Versions(&next.Cluster), at, clock, 0)
	r.take()
	if got, want := findingKeys(m.snap.Findings), findingKeys(next.WithZtunnel(full, at).Findings); !slices.Equal(got, want) {
		t.Errorf("findings after the partial round\n%v\nwant those of a full one\n%v", got, want)
	}
	m = keys(t, m, "!")
	if screen := m.Render(); !strings.Contains(screen, "is as read up to 40s before the last round") {
		t.Errorf("the findings list does not say how old the kept readings are:\n%s", screen)
	}
	m = keys(t, m, "esc")

	// A namespace's labels change: every ztunnel is read.
	c.Namespaces = slices.Clone(c.Namespaces)
	n := c.Namespaces[0].DeepCopy()
	n.ResourceVersion += "1"
	n.Labels = map[string]string{"team": "x"}
	c.Namespaces[0] = n
	at = at.Add(40 * time.Second)
	round(snapshotAt(c, at))
	if got := r.take(); len(got) != len(all) {
		t.Errorf("after a namespace changed the round read %v, want all %d", got, len(all))
	}
	if ages := m.survey.Ages(); ages != "" {
		t.Errorf("a full round still says %q", ages)
	}
}

func snapshotAt(c ambient.Cluster, at time.Time) *kube.Snapshot {
	s := kube.Build(c, at)
	s.Context, s.LastEvent = demo.Context, at
	return s
}

func sortedOf(nodes ...string) []string {
	slices.Sort(nodes)
	return nodes
}

func findingKeys(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		// Not the title: the demo's certificates expire a fixed time
		// after each read, and a kept reading is of an earlier one.
		out = append(out, f.Code+" "+f.Object.String())
	}
	slices.Sort(out)
	return out
}

// The Source's snapshot sent again with the same survey (as every rate
// scrape does) keeps the findings drift made, so no pane rebuilds for it,
// until the survey's next turn: the demo's certificate on homelab-w3
// expires 20 minutes after its read, and then the warning is an error.
func TestDriftReusedForTheSameSnapshot(t *testing.T) {
	at := demo.Epoch
	clock := func() time.Time { return at }
	m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: &demo.Ztunnel{Now: clock}})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	mm, cmd := m.Update(SnapshotMsg{demo.Homelab()})
	m = mm.(Model)
	for _, msg := range run(cmd) {
		m = drive(t, m, msg)
	}
	first := m.snap.Findings
	if len(first) == len(m.src.Findings) {
		t.Fatal("the demo's survey added no drift")
	}
	turn := m.survey.Turns(at)
	if want := demo.Epoch.Add(20 * time.Minute); !turn.Equal(want) {
		t.Fatalf("the survey turns at %v, want the certificate's expiry %v", turn, want)
	}
	at = turn.Add(-time.Second)
	if again := m.setSnapshot(m.src).snap.Findings; unsafe.SliceData(again) != unsafe.SliceData(first) {
		t.Error("the same snapshot and survey made new findings before the survey's turn")
	}
	at = turn
	later := m.setSnapshot(m.src).snap.Findings
	if unsafe.SliceData(later) == unsafe.SliceData(first) {
		t.Fatal("at the certificate's expiry the drift was not judged again")
	}
	if !slices.ContainsFunc(later, func(f finding.Finding) bool {
		return f.Code == "ztunnel-cert-expiring" && f.Severity == finding.Error && strings.Contains(f.Title, "expired")
	}) {
		t.Errorf("the expired certificate is not an error: %v", findingKeys(later))
	}
}

// A new round of reads that found what the last one did (the same
// failures, or the same dumps) keeps the findings and their index, so no
// pane rebuilds; the header and the findings list still say what the new
// round read, and a round that finds otherwise shows.
func TestSameSurveyKeepsTheFindings(t *testing.T) {
	at := demo.Epoch
	clock := func() time.Time { return at }
	for _, tc := range []struct {
		name   string
		reader ztread.Reader
		says   string
	}{
		{"every read failed", failingReader{}, "ztunnel not read (forbidden: no pods/portforward): drift checks not run"},
		{"the same dumps", &demo.Ztunnel{Now: clock}, "on homelab-w3 expires"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at = demo.Epoch
			m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: tc.reader})
			m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
			m = drive(t, m, SnapshotMsg{demo.Homelab()})
			first, ix := m.snap.Findings, m.snap.Index
			pods := ztread.Ztunnels(m.src.Pods)
			again := func() *ztunnel.Survey {
				return survey(context.Background(), tc.reader, pods, nil, len(pods), ztunnel.Versions(&m.src.Cluster), at, clock, 0)
			}
			if tc.name == "every read failed" {
				at = at.Add(time.Minute)
			}
			sv := again()
			m = m.surveyed(surveyMsg{survey: sv, pods: m.src.Pods})
			if unsafe.SliceData(m.snap.Findings) != unsafe.SliceData(first) || m.snap.Index != ix {
				t.Error("a round that found the same made new findings")
			}
			if m.snap.Ztunnel != sv {
				t.Error("the snapshot shown is not of the new round")
			}
			m = keys(t, m, "!")
			if screen := m.Render(); !strings.Contains(screen, tc.says) {
				t.Errorf("the findings list lacks %q:\n%s", tc.says, screen)
			}
			m = keys(t, m, "esc")
			if tc.name != "the same dumps" {
				return
			}
			// The demo's certificates are stamped at each read: a round
			// an hour later reads other expiries.
			at = at.Add(time.Hour)
			m = m.surveyed(surveyMsg{survey: again(), pods: m.src.Pods})
			if unsafe.SliceData(m.snap.Findings) == unsafe.SliceData(first) || reflect.DeepEqual(m.snap.Findings, first) {
				t.Error("a round with other findings kept the last ones")
			}
		})
	}
}
