package waypointnew

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
)

// Timeout is how long the progress view waits for Programmed before it
// says the waypoint did not come: istioctl waypoint apply --wait's 90s.
const Timeout = 90 * time.Second

// Phase is how far the new waypoint got.
type Phase int

// Phases, in order.
const (
	Waiting    Phase = iota // under way
	Programmed              // istiod set Programmed=True: done
	Failed                  // timed out, or the Gateway disappeared
)

// Progress follows one new waypoint through the snapshots.
type Progress struct {
	theme   *theme.Theme
	key     ambient.Key
	started time.Time
	now     time.Time
	snap    *kube.Snapshot
	seen    bool // the Gateway was in some snapshot
	phase   Phase
	took    time.Duration
}

// NewProgress starts following the waypoint created at started.
func NewProgress(t *theme.Theme, key ambient.Key, started time.Time) Progress {
	return Progress{theme: t, key: key, started: started, now: started}
}

// Key is the waypoint followed.
func (p Progress) Key() ambient.Key { return p.key }

// Phase is where it stands.
func (p Progress) Phase() Phase { return p.phase }

// SetSnapshot reads the waypoint's state from a new snapshot.
func (p Progress) SetSnapshot(s *kube.Snapshot) Progress {
	p.snap = s
	return p.judge()
}

// Tick advances the clock, which can end the wait.
func (p Progress) Tick(now time.Time) Progress {
	p.now = now
	return p.judge()
}

func (p Progress) judge() Progress {
	if p.phase != Waiting {
		return p
	}
	gw := p.gateway()
	if gw != nil {
		p.seen = true
		if c := condition(gw, string(gwv1.GatewayConditionProgrammed)); c != nil && c.Status == metav1.ConditionTrue {
			p.phase, p.took = Programmed, p.now.Sub(p.started)
			return p
		}
	}
	if p.seen && gw == nil && p.snap != nil || p.now.Sub(p.started) >= Timeout {
		p.phase, p.took = Failed, p.now.Sub(p.started)
	}
	return p
}

func (p Progress) gateway() *gwv1.Gateway {
	if p.snap == nil {
		return nil
	}
	for _, g := range p.snap.Gateways {
		if g != nil && g.Namespace == p.key.Namespace && g.Name == p.key.Name {
			return g
		}
	}
	return nil
}

func condition(gw *gwv1.Gateway, typ string) *metav1.Condition {
	for i := range gw.Status.Conditions {
		if gw.Status.Conditions[i].Type == typ {
			return &gw.Status.Conditions[i]
		}
	}
	return nil
}

// step is one line of the checklist.
type step struct {
	done bool
	text string
}

// steps are what istiod does for a waypoint, each with what the snapshot
// shows of it.
func (p Progress) steps() []step {
	gw := p.gateway()
	if gw == nil {
		return []step{{false, "Gateway " + p.key.String() + " created (not in the watch yet)"}}
	}
	out := []step{{true, "Gateway " + p.key.String() + " created"}}
	acc := condition(gw, string(gwv1.GatewayConditionAccepted))
	out = append(out, step{acc != nil && acc.Status == metav1.ConditionTrue, "accepted by istiod" + conditionNote(acc)})
	wi, _ := p.mesh().Waypoint(p.key)
	out = append(out, step{wi.Replicas > 0 && wi.Ready == wi.Replicas, fmt.Sprintf("waypoint pods ready %d/%d", wi.Ready, wi.Replicas)})
	addr := "address assigned"
	if len(gw.Status.Addresses) > 0 {
		addr += ": " + gw.Status.Addresses[0].Value
	}
	out = append(out, step{len(gw.Status.Addresses) > 0, addr})
	prog := condition(gw, string(gwv1.GatewayConditionProgrammed))
	out = append(out, step{prog != nil && prog.Status == metav1.ConditionTrue, "programmed" + conditionNote(prog)})
	return out
}

func (p Progress) mesh() *ambient.Analysis {
	if p.snap == nil || p.snap.Mesh == nil {
		return &ambient.Analysis{}
	}
	return p.snap.Mesh
}

func conditionNote(c *metav1.Condition) string {
	if c == nil {
		return ""
	}
	s := " (" + string(c.Status)
	if c.Reason != "" {
		s += " " + c.Reason
	}
	return s + ")"
}

// Why says what the waypoint waits for, or why it did not come: the first
// thing in istiod's way that the snapshot shows.
func (p Progress) Why() string {
	gw := p.gateway()
	s := p.snap
	if gw == nil {
		if p.seen {
			return "the Gateway was deleted"
		}
		return "the watch has not shown the new Gateway yet"
	}
	if s != nil && s.State(kube.ResGatewayClasses).Availability.Read() {
		found := false
		for _, c := range s.GatewayClasses {
			found = found || c != nil && c.Name == string(gw.Spec.GatewayClassName)
		}
		if !found {
			return "no GatewayClass " + string(gw.Spec.GatewayClassName) + " exists: istiod creates it when ambient waypoints are on (PILOT_ENABLE_AMBIENT_WAYPOINTS); no istiod serves waypoints here"
		}
	}
	acc := condition(gw, string(gwv1.GatewayConditionAccepted))
	if acc == nil || acc.Status == metav1.ConditionUnknown {
		why := "no controller has taken the Gateway"
		if acc != nil {
			why += " (" + conditionText(acc) + ")"
		}
		if s != nil && s.Install.Discovered && !s.Install.DeploymentsUnread && !s.Install.Loading {
			if _, ok := s.Install.Found(install.Istiod); !ok {
				why += ": no istiod was found in the cluster"
			}
		}
		if rev := p.revision(gw); rev != "" {
			why += "; it asks for revision " + rev + ": is an istiod of that revision running?"
		}
		return why
	}
	if acc.Status == metav1.ConditionFalse {
		return "istiod did not accept it: " + conditionText(acc)
	}
	prog := condition(gw, string(gwv1.GatewayConditionProgrammed))
	wi, _ := p.mesh().Waypoint(p.key)
	switch {
	case wi.Replicas == 0:
		why := "istiod accepted it, but no waypoint pod exists: nothing has made pods from its Deployment " + p.key.Name + " (a deployment controller, quota, admission)"
		if prog != nil && prog.Status == metav1.ConditionFalse {
			why += "; istiod says " + conditionText(prog)
		}
		return why
	case wi.Ready == 0:
		return fmt.Sprintf("%d waypoint pod%s, none ready yet", wi.Replicas, plural(wi.Replicas))
	case prog != nil && prog.Status == metav1.ConditionFalse:
		return "istiod reports " + conditionText(prog)
	case len(gw.Status.Addresses) == 0:
		return "waiting for istiod to assign an address (the waypoint Service needs ready endpoints on 15008)"
	}
	return "waiting for istiod to set Programmed"
}

func (p Progress) revision(gw *gwv1.Gateway) string {
	if r := gw.Labels[ambient.LabelRev]; r != "" {
		return r
	}
	if p.snap != nil {
		for _, n := range p.snap.Namespaces {
			if n != nil && n.Name == gw.Namespace {
				return n.Labels[ambient.LabelRev]
			}
		}
	}
	return ""
}

func conditionText(c *metav1.Condition) string {
	s := c.Type + "=" + string(c.Status)
	if c.Reason != "" {
		s += " " + c.Reason
	}
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// View renders the progress as a box at most width wide and height tall.
func (p Progress) View(width, height int) string {
	t := p.theme
	inner := max(20, min(width-4, 86))
	elapsed := p.now.Sub(p.started)
	if p.phase != Waiting {
		elapsed = p.took
	}
	title := "Waypoint " + p.key.String()
	clock := elapsed.Round(time.Second).String()
	lines := []string{t.OverlayTitle.Render(pane.Fit(safe.Line(title), inner-len(clock)-1) + " " + clock), ""}
	for _, s := range p.steps() {
		mark, tone := "… ", theme.ToneDim
		if s.done {
			mark, tone = "✔ ", theme.ToneGood
		}
		lines = append(lines, t.Tone(tone).Render(pane.Fit(mark+safe.Line(s.text), inner)))
	}
	lines = append(lines, "")
	var verdict []string
	switch p.phase {
	case Programmed:
		verdict = []string{"✔ programmed after " + p.took.Round(time.Second).String() + ": bind a namespace, Service or pod to it with W"}
	case Failed:
		verdict = wrap("✖ not programmed after "+p.took.Round(time.Second).String()+": "+safe.Line(p.Why()), inner)
	default:
		verdict = wrap("waiting: "+safe.Line(p.Why()), inner)
	}
	tone := map[Phase]theme.Tone{Waiting: theme.ToneWarn, Programmed: theme.ToneGood, Failed: theme.ToneBad}[p.phase]
	for _, l := range verdict {
		lines = append(lines, t.Tone(tone).Render(pane.Fit(l, inner)))
	}
	lines = append(lines, "", t.OverlayText.Render(pane.Fit("esc close (istiod carries on; the Waypoints pane follows it)", inner)))
	if height > 0 && len(lines) > height-2 {
		lines = lines[:max(1, height-2)]
	}
	return t.Overlay.Render(strings.Join(lines, "\n"))
}

// wrap breaks s into lines of at most width cells, at spaces.
func wrap(s string, width int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		default:
			out = append(out, line)
			line = "  " + w
		}
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
