// Package finding holds the one shape every analysis reports a problem in,
// so the findings list, the detail view and the patch view need not know
// which analysis produced it.
package finding

// Severity orders findings; higher is worse.
type Severity int

// Severities, from least to most urgent.
const (
	Info Severity = iota
	Warning
	Error
)

// String returns the lower-case word shown in the findings list.
func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// Ref names the object a finding is about, so the UI can jump to it.
type Ref struct {
	Kind      string // Namespace, Pod, Service, Gateway, AuthorizationPolicy, NetworkPolicy, ...
	Namespace string // empty for cluster-scoped objects
	Name      string
}

// String returns kind ns/name (or kind name when cluster-scoped).
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Finding is one problem: what, where, why, and how to fix it.
type Finding struct {
	Severity Severity
	Code     string // stable identifier, e.g. "pod-needs-restart", "hbone-blocked"
	Object   Ref
	// Affects are the other objects the finding makes wrong, each marked
	// on its row as Object is: the pods a NetworkPolicy keeps from HBONE,
	// the pods of a namespace that need a restart. Object is not repeated.
	Affects []Ref
	Title   string // short, for a list row
	Why     string // one sentence of why it matters
	Fix     string // a command or YAML the user can run or apply
	// Patch, when set, is a JSON patch or manifest the patch view can show and copy.
	Patch *Patch
}

// Patch is a suggested change in two forms: a JSON patch command against the
// existing object, and a standalone manifest as an alternative.
type Patch struct {
	Title     string
	Command   string // e.g. kubectl patch networkpolicy x -n ns --type=json -p '[...]'
	JSONPatch string // the raw JSON patch operations
	Manifest  string // standalone YAML alternative
	Target    Ref    // the object the JSON patch applies to
}
