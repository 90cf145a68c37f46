package whatif

import (
	"fmt"
	"io"
	"strings"

	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/safe"
)

// Doc is a report in the shape `ambx audit --what-if -o json|yaml` prints:
// every list sorted and present (empty, not null), no timestamps.
type Doc struct {
	Schema   string   `json:"schema"`
	Writes   []string `json:"writes"`
	Breaks   bool     `json:"breaks"`
	Summary  string   `json:"summary"`
	Unread   []string `json:"unread"`
	Unknown  []string `json:"unknown"`
	Captured []string `json:"captured"`
	Released []string `json:"released"`
	// New are the findings the write would add, Fixed those it would
	// resolve.
	New    []DocFinding `json:"new"`
	Fixed  []DocFinding `json:"fixed"`
	Strict []DocStrict  `json:"strict"`
	// StrictCallers counts the pods outside the mesh STRICT turns away.
	StrictCallers int          `json:"strictCallers"`
	Sidecars      []DocSidecar `json:"sidecars"`
	Lines         []string     `json:"lines"`
}

// DocFinding is one finding of a Doc.
type DocFinding struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Kind     string `json:"kind"`
	Object   string `json:"object"`
	Title    string `json:"title"`
	Why      string `json:"why"`
	Fix      string `json:"fix,omitempty"`
	Patch    string `json:"patch,omitempty"` // kubectl patch command, when the finding carries one
}

// DocStrict is a pod that would come under STRICT mTLS.
type DocStrict struct {
	Pod string `json:"pod"`
	By  string `json:"by,omitempty"`
}

// DocSidecar is a pod that keeps its sidecar.
type DocSidecar struct {
	Pod string `json:"pod"`
	Why string `json:"why"`
}

// DocSchema names Doc's shape; it changes only when a field changes
// meaning or goes away.
const DocSchema = "ambx.whatif/v1"

// Doc returns the report as a Doc.
func (r Report) Doc() Doc {
	d := Doc{Schema: DocSchema, Writes: orEmpty(r.Writes), Breaks: r.Breaks(), Summary: r.Summary(),
		Unread: orEmpty(r.Unread), Unknown: orEmpty(r.Unknown), Captured: []string{}, Released: []string{},
		New: []DocFinding{}, Fixed: []DocFinding{}, Strict: []DocStrict{}, StrictCallers: r.StrictCallers,
		Sidecars: []DocSidecar{}, Lines: orEmpty(r.Lines())}
	for _, k := range r.Captured {
		d.Captured = append(d.Captured, k.String())
	}
	for _, k := range r.Released {
		d.Released = append(d.Released, k.String())
	}
	for _, fs := range [][]finding.Finding{r.NetworkPolicies, r.AuthorizationPolicies, r.Other} {
		for _, f := range fs {
			d.New = append(d.New, docFinding(f))
		}
	}
	for _, f := range r.Fixed {
		d.Fixed = append(d.Fixed, docFinding(f))
	}
	for _, s := range r.Strict {
		ds := DocStrict{Pod: s.Pod.String()}
		if s.By.Name != "" {
			ds.By = s.By.String()
		}
		d.Strict = append(d.Strict, ds)
	}
	for _, s := range r.Sidecars {
		d.Sidecars = append(d.Sidecars, DocSidecar{Pod: s.Pod.String(), Why: s.Why})
	}
	return d
}

func docFinding(f finding.Finding) DocFinding {
	obj := f.Object.Name
	if f.Object.Namespace != "" {
		obj = f.Object.Namespace + "/" + f.Object.Name
	}
	df := DocFinding{Severity: f.Severity.String(), Code: f.Code, Kind: f.Object.Kind, Object: obj, Title: f.Title, Why: f.Why, Fix: f.Fix}
	if f.Patch != nil {
		df.Patch = f.Patch.Command
	}
	return df
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WorstNew is the most severe new finding, with STRICT against callers and
// sidecars left behind counted as warnings; -1 when nothing breaks.
func (r Report) WorstNew() finding.Severity {
	worst := finding.Severity(-1)
	for _, fs := range [][]finding.Finding{r.NetworkPolicies, r.AuthorizationPolicies, r.Other} {
		for _, f := range fs {
			worst = max(worst, f.Severity)
		}
	}
	if (len(r.Strict) > 0 && r.StrictCallers > 0) || len(r.Sidecars) > 0 {
		worst = max(worst, finding.Warning)
	}
	return worst
}

// WriteText prints the report for a terminal: the writes, the summary,
// what breaks, then the findings it adds and resolves. Text from the
// cluster goes through safe.Line.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	b.WriteString("WHAT-IF\n")
	for _, s := range r.Writes {
		fmt.Fprintf(&b, "  %s\n", safe.Line(s))
	}
	fmt.Fprintf(&b, "\n%s\n", safe.Line(r.Summary()))
	for _, l := range r.Lines() {
		fmt.Fprintf(&b, "  - %s\n", safe.Line(l))
	}
	section := func(title string, fs []finding.Finding) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s\n", title)
		for _, f := range fs {
			fmt.Fprintf(&b, "  %-7s %s %s: %s\n", f.Severity, f.Code, safe.Line(f.Object.String()), safe.Line(f.Title))
		}
	}
	var added []finding.Finding
	added = append(append(append(added, r.NetworkPolicies...), r.AuthorizationPolicies...), r.Other...)
	section("NEW FINDINGS", added)
	section("RESOLVED", r.Fixed)
	if len(r.Unread) > 0 {
		fmt.Fprintf(&b, "\nNOT READ\n")
		for _, u := range r.Unread {
			fmt.Fprintf(&b, "  %s\n", safe.Line(u))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
