package detail

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
)

// item is one block of a detail document.
type item struct {
	section     string // a heading, when set
	label       string
	value       string
	tone        theme.Tone
	left, right *item // side by side when the view is wide enough
}

// doc is a detail document under construction.
type doc struct{ items []item }

// Every string enters a document through section, kv and pair, which make
// it safe: values keep their line breaks, labels and headings are one line.
func (d *doc) section(title string) { d.items = append(d.items, item{section: safe.Line(title)}) }

func (d *doc) kv(label, value string, tone theme.Tone) {
	d.items = append(d.items, item{label: safe.Line(label), value: safe.Text(value), tone: tone})
}

func (d *doc) pair(l, r item) {
	l.label, l.value = safe.Line(l.label), safe.Text(l.value)
	r.label, r.value = safe.Line(r.label), safe.Text(r.value)
	d.items = append(d.items, item{left: &l, right: &r})
}

// text adds a value with no label, e.g. one line of a list.
func (d *doc) text(value string, tone theme.Tone) { d.kv("", value, tone) }

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

const labelWidth = 14

// lines lays the document out at width: labels in a column, values
// wrapped under themselves, pairs side by side when both halves keep
// at least 30 cells, else one after the other.
func (d doc) lines(t *theme.Theme, width int) []string {
	var out []string
	for _, it := range d.items {
		switch {
		case it.section != "":
			if len(out) > 0 {
				out = append(out, strings.Repeat(" ", width))
			}
			out = append(out, t.Header.Render(pane.Fit(" "+it.section, width)))
		case it.left != nil:
			half := width / 2
			if half < 30 {
				out = append(out, kvLines(t, *it.left, width, labelWidth)...)
				out = append(out, kvLines(t, *it.right, width, labelWidth)...)
				continue
			}
			l := kvLines(t, *it.left, half, labelWidth)
			r := kvLines(t, *it.right, width-half, labelWidth)
			for i := range max(len(l), len(r)) {
				a, b := strings.Repeat(" ", half), strings.Repeat(" ", width-half)
				if i < len(l) {
					a = l[i]
				}
				if i < len(r) {
					b = r[i]
				}
				out = append(out, a+b)
			}
		default:
			out = append(out, kvLines(t, it, width, labelWidth)...)
		}
	}
	return out
}

// kvLines renders one label and its wrapped value in exactly width cells.
func kvLines(t *theme.Theme, it item, width, lw int) []string {
	if width <= 0 {
		return nil
	}
	indent := 1 + lw + 1
	if width < indent+8 { // too narrow for a label column: stack them
		var out []string
		if it.label != "" {
			out = append(out, t.Header.Render(pane.Fit(" "+it.label, width)))
		}
		for _, l := range wrap(it.value, max(1, width-1)) {
			out = append(out, " "+t.Tone(it.tone).Render(pane.Fit(l, max(0, width-1))))
		}
		return out
	}
	var out []string
	for i, l := range wrap(it.value, width-indent) {
		lead := strings.Repeat(" ", indent)
		if i == 0 {
			lead = " " + t.Tone(theme.ToneDim).Render(pane.Fit(it.label, lw)) + " "
		}
		out = append(out, lead+t.Tone(it.tone).Render(pane.Fit(l, width-indent)))
	}
	return out
}

// wrap breaks text at spaces and commas into lines of at most w cells;
// newlines in the text are kept.
func wrap(text string, w int) []string {
	if text == "" {
		return []string{""}
	}
	var out []string
	for _, para := range strings.Split(text, "\n") {
		out = append(out, strings.Split(ansi.Wrap(para, w, " ,"), "\n")...)
	}
	return out
}
