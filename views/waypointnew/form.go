// Package waypointnew is the create-waypoint dialog (what istioctl
// waypoint apply asks for, as a form) and the progress view that follows
// the new Gateway until istiod programs it, or says why it does not.
package waypointnew

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
)

// Submit is the form's answer: the waypoint to plan.
type Submit struct{ Spec writer.NewWaypoint }

// Fields of the form, in focus order.
const (
	fieldNamespace = iota
	fieldName
	fieldFor
	fieldEnroll
	fieldRevision
	fieldCount
)

// Form is the open create-waypoint dialog.
type Form struct {
	theme    *theme.Theme
	inputs   [2]textinput.Model // namespace, name
	traffic  int                // index into writer.WaypointTraffic
	enroll   bool
	focus    int
	classFor string // the GatewayClass's istio.io/waypoint-for, what "" means
	problem  string
	// revisions are the istio.io/rev values offered, "" (the namespace's,
	// else the default revision) first; revision indexes them.
	revisions []string
	revision  int
}

// NewForm opens the form for namespace ns (editable), the name istioctl
// would choose, no traffic type (the class decides) and enrol as given.
// classFor is the istio-waypoint GatewayClass's own waypoint-for label.
func NewForm(t *theme.Theme, ns string, enroll bool, classFor string) Form {
	f := Form{theme: t, enroll: enroll, classFor: classFor}
	for i, v := range []string{ns, writer.DefaultWaypointName} {
		in := textinput.New()
		in.Prompt = ""
		// Drawn by View with its own cursor mark: a virtual cursor needs
		// the program's clock and blinks in golden files.
		in.SetVirtualCursor(false)
		in.CharLimit = 63 // a DNS label
		in.SetValue(v)
		in.CursorEnd()
		f.inputs[i] = in
	}
	f.focus = fieldName
	if ns == "" {
		f.focus = fieldNamespace
	}
	f.inputs[f.focus].Focus()
	return f
}

// WithRevisions offers revs (istiod revisions and revision tags the
// installation has) for the Gateway's own istio.io/rev.
func (f Form) WithRevisions(revs []string) Form {
	f.revisions = append([]string{""}, revs...)
	f.revision = 0
	return f
}

// Spec is what the form holds now.
func (f Form) Spec() writer.NewWaypoint {
	return writer.NewWaypoint{
		Namespace:       strings.TrimSpace(f.inputs[fieldNamespace].Value()),
		Name:            strings.TrimSpace(f.inputs[fieldName].Value()),
		For:             writer.WaypointTraffic[f.traffic],
		EnrollNamespace: f.enroll,
		Revision:        f.revisionValue(),
	}
}

func (f Form) revisionValue() string {
	if f.revision < len(f.revisions) {
		return f.revisions[f.revision]
	}
	return ""
}

// SetProblem shows why the last submit was refused (the plan's error).
func (f Form) SetProblem(s string) Form { f.problem = s; return f }

func (f Form) move(d int) Form {
	if f.focus <= fieldName {
		f.inputs[f.focus].Blur()
	}
	f.focus = ((f.focus+d)%fieldCount + fieldCount) % fieldCount
	if f.focus <= fieldName {
		f.inputs[f.focus].Focus()
	}
	return f
}

// Update handles keys and paste; enter sends Submit. esc is the caller's.
func (f Form) Update(msg tea.Msg) (Form, tea.Cmd) {
	k, isKey := msg.(tea.KeyPressMsg)
	switch {
	case isKey && key.Matches(k, keymap.WaypointForm.Submit):
		spec := f.Spec()
		return f, func() tea.Msg { return Submit{Spec: spec} }
	case isKey && key.Matches(k, keymap.WaypointForm.Next):
		return f.move(1), nil
	case isKey && key.Matches(k, keymap.WaypointForm.Prev):
		return f.move(-1), nil
	case f.focus == fieldFor && isKey && key.Matches(k, keymap.WaypointForm.Change, keymap.WaypointForm.Toggle):
		n := len(writer.WaypointTraffic)
		d := 1
		if k.String() == "left" {
			d = -1
		}
		f.traffic = ((f.traffic+d)%n + n) % n
		return f, nil
	case f.focus == fieldEnroll && isKey && key.Matches(k, keymap.WaypointForm.Change, keymap.WaypointForm.Toggle):
		f.enroll = !f.enroll
		return f, nil
	case f.focus == fieldRevision && isKey && key.Matches(k, keymap.WaypointForm.Change, keymap.WaypointForm.Toggle):
		if n := len(f.revisions); n > 0 {
			d := 1
			if k.String() == "left" {
				d = -1
			}
			f.revision = ((f.revision+d)%n + n) % n
		}
		return f, nil
	case f.focus <= fieldName:
		if _, paste := msg.(tea.PasteMsg); !isKey && !paste {
			return f, nil
		}
		var cmd tea.Cmd
		f.inputs[f.focus], cmd = f.inputs[f.focus].Update(msg)
		f.problem = ""
		return f, cmd
	}
	return f, nil
}

// View renders the form as a box at most width wide and height tall.
func (f Form) View(width, height int) string {
	t := f.theme
	inner := max(20, min(width-4, 76))
	spec := f.Spec()
	title := "Create a waypoint"
	if spec.Namespace != "" {
		title += " in " + spec.Namespace
	}
	lines := []string{t.OverlayTitle.Render(pane.Fit(safe.Line(title), inner)), ""}
	field := func(i int, label, value, note string) {
		mark := "  "
		if i == f.focus {
			mark = "▸ "
		}
		text := pane.Fit(mark+pad(label, 18)+value, inner)
		if i == f.focus {
			lines = append(lines, t.Selected.Render(text))
		} else {
			lines = append(lines, t.OverlayText.Render(text))
		}
		if note != "" {
			lines = append(lines, t.Empty.Render(pane.Fit("  "+pad("", 18)+note, inner)))
		}
	}
	text := func(i int) string {
		v := safe.Line(f.inputs[i].Value())
		if i != f.focus {
			return v
		}
		r := []rune(v)
		pos := min(f.inputs[i].Position(), len(r))
		return string(r[:pos]) + "▏" + string(r[pos:])
	}
	field(fieldNamespace, "namespace", text(fieldNamespace), "")
	field(fieldName, "name", text(fieldName), "also the name of its Deployment, Service and ServiceAccount")
	var choices []string
	for i, v := range writer.WaypointTraffic {
		label := v
		if v == "" {
			label = "class default (" + f.classDefault() + ")"
		}
		if i == f.traffic {
			label = "[" + label + "]"
		}
		choices = append(choices, label)
	}
	field(fieldFor, "traffic (--for)", strings.Join(choices, " "), forNote(spec.For, f.classDefault()))
	enroll := "[ ] no"
	if f.enroll {
		enroll = "[x] yes: label the namespace istio.io/use-waypoint=" + spec.Name
	}
	field(fieldEnroll, "enrol namespace", enroll, "")
	var revs []string
	for i, v := range append([]string{""}, f.revisions[min(1, len(f.revisions)):]...) {
		label := safe.Line(v)
		if v == "" {
			label = "namespace's, else default"
		}
		if i == f.revision {
			label = "[" + label + "]"
		}
		revs = append(revs, label)
	}
	revNote := "istio.io/rev on the Gateway: the istiod that programs it"
	if len(f.revisions) <= 1 {
		revNote = "no other istiod revision or tag was found"
	}
	field(fieldRevision, "revision", strings.Join(revs, " "), revNote)
	lines = append(lines, "")
	if f.problem != "" {
		lines = append(lines, t.Tone(theme.ToneBad).Render(pane.Fit("✖ "+safe.Line(f.problem), inner)))
	}
	lines = append(lines, t.OverlayText.Render(pane.Fit("enter review the Gateway · tab next · ←/→ change · esc cancel", inner)))
	if height > 0 && len(lines) > height-2 {
		lines = lines[:max(1, height-2)]
	}
	return t.Overlay.Render(strings.Join(lines, "\n"))
}

func (f Form) classDefault() string {
	if f.classFor != "" {
		return f.classFor
	}
	return ambient.TrafficService
}

// forNote says what the chosen traffic type binds.
func forNote(v, classDefault string) string {
	if v == "" {
		v = classDefault
	}
	switch v {
	case ambient.TrafficService:
		return "traffic sent to Services"
	case ambient.TrafficWorkload:
		return "traffic sent to pods directly"
	case ambient.TrafficAll:
		return "traffic sent to Services and to pods"
	case ambient.TrafficNone:
		return "no traffic: everything bound to it is refused"
	}
	return ""
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-len(s))
}
