package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

// Formats are the -o values.
var Formats = []string{"table", "json", "yaml", "markdown", "sarif"}

// Write renders the report in a format.
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(cleanEncoded(append(b, '\n')))
		return err
	case "yaml":
		// YAML cannot hold control characters at all: they are shown as
		// escapes, the way the table shows them. JSON keeps them exact.
		j, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var tree any
		if err := json.Unmarshal(j, &tree); err != nil {
			return err
		}
		b, err := yaml.Marshal(escapeTree(tree))
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "sarif":
		b, err := json.MarshalIndent(SARIF(r), "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(cleanEncoded(append(b, '\n')))
		return err
	case "markdown":
		_, err := io.WriteString(w, markdown(r))
		return err
	case "table", "":
		_, err := io.WriteString(w, table(r))
		return err
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// headline is the report's verdict in one sentence.
func headline(r *Report) string {
	counts := fmt.Sprintf("%d %s, %d %s, %d %s", r.Summary.Errors, plural(r.Summary.Errors, "error", "errors"),
		r.Summary.Warnings, plural(r.Summary.Warnings, "warning", "warnings"), r.Summary.Infos, plural(r.Summary.Infos, "note", "notes"))
	switch r.Result {
	case ResultPartial:
		return fmt.Sprintf("PARTIAL: %d %s not read, so this is not a clean bill; %s in what was read", len(r.Unread), plural(len(r.Unread), "resource", "resources"), counts)
	case ResultFindings:
		return "FINDINGS: " + counts
	}
	return "CLEAN: every resource read; " + counts
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func sourceLine(r *Report) string {
	s := "cluster " + r.Source.Context
	if r.Source.Kind == "files" {
		s = "manifests " + strings.Join(r.Source.Files, ", ")
	}
	if len(r.Scope) > 0 {
		s += " · namespaces " + strings.Join(r.Scope, ", ")
	}
	return s
}

func installLine(i *Install) string {
	v := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	s := fmt.Sprintf("istiod %s, ztunnel %s, istio-cni %s; verdicts follow %s", v(i.Istiod), v(i.Ztunnel), v(i.CNI), i.Effective)
	if i.Assumed {
		s += " (assumed: istiod's version was not read)"
	}
	return s
}

func switchesLine(i *Install) string {
	var parts []string
	for _, s := range i.Switches {
		parts = append(parts, fmt.Sprintf("%s=%t", s.Name, s.Value))
	}
	return strings.Join(parts, " ")
}

func location(l Location) string {
	if l.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", l.File, l.Line)
}

func objectString(o Object) string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// table is the report for a terminal.
func table(r *Report) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "ambx audit %s · %s\n%s\n", line(r.Tool.Version), line(sourceLine(r)), line(headline(r)))
	if len(r.Unread) > 0 {
		b.WriteString("\nNOT READ\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, u := range r.Unread {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", line(u.Resource), line(u.State), line(u.Detail))
		}
		tw.Flush()
	}
	if r.Install != nil {
		fmt.Fprintf(&b, "\nINSTALL  %s\n         %s\n", line(installLine(r.Install)), line(switchesLine(r.Install)))
		for _, p := range r.Install.Problems {
			fmt.Fprintf(&b, "         problem: %s\n", line(p))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", line(n))
	}
	if len(r.Findings) > 0 {
		b.WriteString("\nFINDINGS\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "  %-7s  %s  %s: %s\n", f.Severity, line(f.Code), line(objectString(f.Object)), line(f.Title))
			if l := location(f.Location); l != "" {
				fmt.Fprintf(&b, "           at %s\n", line(l))
			}
			fmt.Fprintf(&b, "           why: %s\n", line(f.Why))
			if f.Fix != "" {
				fmt.Fprintf(&b, "           fix: %s\n", strings.ReplaceAll(text(strings.TrimRight(f.Fix, "\n")), "\n", "\n                "))
			}
		}
	}
	v := r.Verdicts
	if len(v.Namespaces) > 0 {
		b.WriteString("\nNAMESPACES\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tMESH\tPODS\tCAPTURED\tWAYPOINT")
		for _, n := range v.Namespaces {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\n", line(n.Name), n.State, n.Pods, n.Captured, line(bindingString(n.Waypoint)))
		}
		tw.Flush()
	}
	if len(v.Waypoints) > 0 {
		b.WriteString("\nWAYPOINTS\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tFOR\tPROGRAMMED\tREADY\tSERVICES\tWORKLOADS")
		for _, w := range v.Waypoints {
			fmt.Fprintf(tw, "  %s/%s\t%s\t%t\t%d/%d\t%d\t%d\n", line(w.Namespace), line(w.Name), line(w.For), w.Programmed, w.Ready, w.Replicas, len(w.Services), len(w.Workloads))
		}
		tw.Flush()
	}
	if len(v.Policies) > 0 {
		b.WriteString("\nPOLICIES\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  KIND\tNAME\tTARGET\tACTION\tENFORCED BY\tLAYER")
		for _, p := range v.Policies {
			fmt.Fprintf(tw, "  %s\t%s/%s\t%s\t%s\t%s\t%s\n", p.Kind, line(p.Namespace), line(p.Name), line(p.Target), line(p.Action), p.EnforcedBy, p.Layer)
		}
		tw.Flush()
	}
	fmt.Fprintf(&b, "\n%d pods, %d services, %d NetworkPolicies judged; every verdict is in -o json or yaml\n", len(v.Pods), len(v.Services), len(v.NetworkPolicies))
	return b.String()
}

func bindingString(b *Binding) string {
	switch {
	case b == nil:
		return "-"
	case b.Bound:
		return b.Waypoint
	case b.Problem != "":
		return b.Waypoint + " (" + b.Reason + ")"
	case b.Note != "":
		return "- (" + b.Note + ")"
	}
	return b.Waypoint
}

// cell is text for one markdown table cell: one line, pipes escaped.
func cell(s string) string {
	return strings.ReplaceAll(line(s), "|", `\|`)
}

// markdown is the report for a pull request comment or a wiki.
func markdown(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# ambx audit\n\n%s · ambx %s\n\n**%s**\n", cell(sourceLine(r)), cell(r.Tool.Version), cell(headline(r)))
	if len(r.Unread) > 0 {
		b.WriteString("\n## Not read\n\n| resource | state | detail |\n|---|---|---|\n")
		for _, u := range r.Unread {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(u.Resource), cell(u.State), cell(u.Detail))
		}
	}
	if r.Install != nil {
		fmt.Fprintf(&b, "\n## Installation\n\n%s\n\n| switch | value |\n|---|---|\n", cell(installLine(r.Install)))
		for _, s := range r.Install.Switches {
			fmt.Fprintf(&b, "| `%s` | %t |\n", s.Name, s.Value)
		}
		for _, p := range r.Install.Problems {
			fmt.Fprintf(&b, "\n- problem: %s\n", cell(p))
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", cell(n))
		}
	}
	b.WriteString("\n## Findings\n\n")
	if len(r.Findings) == 0 {
		b.WriteString("None in what was read.\n")
	} else {
		b.WriteString("| severity | code | object | finding | where |\n|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", f.Severity, cell(f.Code), cell(objectString(f.Object)), cell(f.Title), cell(location(f.Location)))
		}
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "\n### %s: %s\n\n%s\n", cell(f.Code), cell(objectString(f.Object)), cell(f.Why))
			if f.Fix != "" {
				fence := "```"
				for strings.Contains(f.Fix, fence) {
					fence += "`"
				}
				fmt.Fprintf(&b, "\n%s\n%s\n%s\n", fence, text(strings.TrimRight(f.Fix, "\n")), fence)
			}
		}
	}
	v := r.Verdicts
	if len(v.Namespaces) > 0 {
		b.WriteString("\n## Namespaces\n\n| namespace | mesh | pods | captured | waypoint |\n|---|---|---|---|---|\n")
		for _, n := range v.Namespaces {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %s |\n", cell(n.Name), n.State, n.Pods, n.Captured, cell(bindingString(n.Waypoint)))
		}
	}
	if len(v.Policies) > 0 {
		b.WriteString("\n## Policies\n\n| kind | policy | target | action | enforced by | layer |\n|---|---|---|---|---|---|\n")
		for _, p := range v.Policies {
			fmt.Fprintf(&b, "| %s | %s/%s | %s | %s | %s | %s |\n", p.Kind, cell(p.Namespace), cell(p.Name), cell(p.Target), cell(p.Action), p.EnforcedBy, p.Layer)
		}
	}
	return b.String()
}

// escapeTree applies text to every string of a decoded JSON value.
func escapeTree(v any) any {
	switch x := v.(type) {
	case string:
		return text(x)
	case []any:
		for i := range x {
			x[i] = escapeTree(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[text(k)] = escapeTree(e)
		}
		return out
	}
	return v
}
