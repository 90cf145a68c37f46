package whatif

import (
	"fmt"
	"strings"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/migration"
)

// Verbs lists the writes Parse understands, with their arguments, for help
// texts.
var Verbs = []string{
	"enroll NS",
	"unenroll NS",
	"migrate NS",
	"enroll-pod NS/POD",
	"unenroll-pod NS/POD",
	"opt-out NS/POD",
	"restart NS [KIND/NAME...]",
	"delete-waypoint NS/NAME",
}

// Parse reads one write written as `ambx audit --what-if` takes it, e.g.
// "enroll shop" or "migrate legacy-apps". migrate reads s for the sidecar
// workloads to restart.
func Parse(s *kube.Snapshot, expr string) ([]Change, error) {
	f := strings.Fields(expr)
	if len(f) == 0 {
		return nil, fmt.Errorf("empty write: give one of %s", strings.Join(Verbs, ", "))
	}
	verb, args := strings.ToLower(f[0]), f[1:]
	one := func() (string, error) {
		if len(args) != 1 {
			return "", fmt.Errorf("%q takes one argument, not %d", verb, len(args))
		}
		return args[0], nil
	}
	pod := func() (finding.Ref, error) {
		a, err := one()
		if err != nil {
			return finding.Ref{}, err
		}
		ns, name, ok := strings.Cut(a, "/")
		if !ok || ns == "" || name == "" {
			return finding.Ref{}, fmt.Errorf("%q takes NAMESPACE/NAME, not %q", verb, a)
		}
		return finding.Ref{Namespace: ns, Name: name}, nil
	}
	mode := ambient.LabelDataplaneMode
	switch verb {
	case "enroll", "unenroll", "migrate":
		ns, err := one()
		if err != nil {
			return nil, err
		}
		switch verb {
		case "enroll":
			return EnrollNamespace(ns), nil
		case "unenroll":
			return LeaveNamespace(ns), nil
		}
		return MigrateNamespace(s, ns), nil
	case "enroll-pod", "unenroll-pod", "opt-out":
		r, err := pod()
		if err != nil {
			return nil, err
		}
		r.Kind = KindPod
		switch verb {
		case "enroll-pod":
			return []Change{Labels(r, map[string]string{mode: "ambient"})}, nil
		case "opt-out":
			return []Change{Labels(r, map[string]string{mode: "none"})}, nil
		}
		return []Change{Labels(r, nil, mode)}, nil
	case "restart":
		if len(args) == 0 {
			return nil, fmt.Errorf("%q takes a namespace and, optionally, workloads as kind/name", verb)
		}
		for _, o := range args[1:] {
			if !migration.Restartable(strings.ToLower(o)) {
				return nil, fmt.Errorf("%q: %q is not deployment/NAME, statefulset/NAME or daemonset/NAME", verb, o)
			}
		}
		owners := make([]string, 0, len(args)-1)
		for _, o := range args[1:] {
			owners = append(owners, strings.ToLower(o))
		}
		return []Change{Restart(args[0], owners...)}, nil
	case "delete-waypoint":
		r, err := pod()
		if err != nil {
			return nil, err
		}
		return []Change{RemoveGateway(r.Namespace, r.Name)}, nil
	}
	return nil, fmt.Errorf("unknown write %q: give one of %s", f[0], strings.Join(Verbs, ", "))
}
