package kubeenv

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	istioclient "istio.io/client-go/pkg/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// Kinds whose status istiod writes in ambient mode.
const (
	KindService             = "Service"
	KindAuthorizationPolicy = "AuthorizationPolicy"
	KindGateway             = "Gateway"
	KindServiceEntry        = "ServiceEntry"
	KindWorkloadEntry       = "WorkloadEntry"
)

var errUnknownKind = errors.New("istiod writes no status the harness reads on kind")

// StatusWant is one status condition istiod is expected to write: the
// condition Type on an object, with Status and Reason when they are given
// (empty matches any). Absent instead expects istiod to write no condition
// of that Type; WaitIstioStatus reads such objects but does not judge them.
type StatusWant struct {
	Kind            string // KindService, KindAuthorizationPolicy, KindGateway, KindServiceEntry or KindWorkloadEntry
	Namespace, Name string
	Type            string
	Status          string // "True", "False" or "" for either
	Reason          string // "" for any
	Absent          bool
}

// Key names the object as "Kind ns/name", the key of WaitIstioStatus's
// result.
func (w StatusWant) Key() string { return w.Kind + " " + w.Namespace + "/" + w.Name }

func (w StatusWant) String() string {
	s := fmt.Sprintf("%s %s/%s %s", w.Kind, w.Namespace, w.Name, w.Type)
	switch {
	case w.Absent:
		return s + " absent"
	case w.Status != "" && w.Reason != "":
		return s + "=" + w.Status + " " + w.Reason
	case w.Status != "":
		return s + "=" + w.Status
	}
	return s
}

// Condition is a status condition as istiod wrote it.
type Condition struct {
	Type, Status, Reason, Message string
	// ObservedGeneration is the generation istiod judged; zero on Services,
	// whose conditions istiod writes without one.
	ObservedGeneration int64
}

// ObjectStatus is what istiod wrote on one object: its conditions and, for
// a Gateway, whether status.addresses is set.
type ObjectStatus struct {
	Generation int64
	Conditions []Condition
	Addresses  int
}

// Condition returns the condition of type typ.
func (s ObjectStatus) Condition(typ string) (Condition, bool) {
	for _, c := range s.Conditions {
		if c.Type == typ {
			return c, true
		}
	}
	return Condition{}, false
}

// WaitIstioStatus polls until istiod has written every wanted condition,
// for the object's current generation where istiod records one, and
// returns what each object holds then, keyed "Kind ns/name". It fails t
// with what istiod wrote instead when that does not happen within timeout.
// Absent wants are not waited for (absence is also the state before
// istiod acts) but their objects are read once everything else is there:
// istiod writes the status of objects created together in the same
// passes, so a condition still missing then is one it decided not to
// write. The caller compares.
func (e *Env) WaitIstioStatus(t testing.TB, timeout time.Duration, wants ...StatusWant) map[string]ObjectStatus {
	t.Helper()
	read := e.statusReader(t)
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got := map[string]ObjectStatus{}
		var pending []string
		for _, w := range wants {
			key := w.Key()
			st, ok := got[key]
			if !ok {
				var err error
				st, err = read(ctx, w.Kind, w.Namespace, w.Name)
				switch {
				case errors.Is(err, errUnknownKind):
					cancel()
					t.Fatalf("kubeenv: WaitIstioStatus: %s: %v", w, err)
				case err != nil:
					// Not created yet, or a slow answer: both may pass.
					pending = append(pending, fmt.Sprintf("%s: %v", w, err))
					continue
				}
				got[key] = st
			}
			if w.Absent {
				continue
			}
			if why := unmet(w, st); why != "" {
				pending = append(pending, why)
			}
		}
		cancel()
		if len(pending) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			sort.Strings(pending)
			t.Fatalf("kubeenv: istiod status not as wanted after %s:\n\t%s\n%s", timeout, strings.Join(pending, "\n\t"), e.LogTails(30))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// IstioStatus returns what istiod has written on one object so far.
func (e *Env) IstioStatus(t testing.TB, kind, namespace, name string) ObjectStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := e.statusReader(t)(ctx, kind, namespace, name)
	if err != nil {
		t.Fatalf("kubeenv: status of %s %s/%s: %v", kind, namespace, name, err)
	}
	return st
}

// statusReader returns a function reading one object's status through the
// typed clients.
func (e *Env) statusReader(t testing.TB) func(ctx context.Context, kind, ns, name string) (ObjectStatus, error) {
	t.Helper()
	istio, err := istioclient.NewForConfig(e.Config)
	if err != nil {
		t.Fatalf("kubeenv: istio client: %v", err)
	}
	gw, err := gwclient.NewForConfig(e.Config)
	if err != nil {
		t.Fatalf("kubeenv: gateway client: %v", err)
	}
	return func(ctx context.Context, kind, ns, name string) (ObjectStatus, error) {
		var st ObjectStatus
		var conds []metav1.Condition
		switch kind {
		case KindService:
			s, err := e.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return st, err
			}
			st.Generation, conds = s.Generation, s.Status.Conditions
		case KindGateway:
			g, err := gw.GatewayV1().Gateways(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return st, err
			}
			st.Generation, conds, st.Addresses = g.Generation, g.Status.Conditions, len(g.Status.Addresses)
		case KindAuthorizationPolicy:
			p, err := istio.SecurityV1().AuthorizationPolicies(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return st, err
			}
			st.Generation, st.Conditions = p.Generation, fromIstio(p.Status.Conditions)
			return st, nil
		case KindServiceEntry:
			p, err := istio.NetworkingV1().ServiceEntries(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return st, err
			}
			st.Generation, st.Conditions = p.Generation, fromIstio(p.Status.Conditions)
			return st, nil
		case KindWorkloadEntry:
			p, err := istio.NetworkingV1().WorkloadEntries(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return st, err
			}
			st.Generation, st.Conditions = p.Generation, fromIstio(p.Status.Conditions)
			return st, nil
		default:
			return st, fmt.Errorf("%w: %q", errUnknownKind, kind)
		}
		for _, c := range conds {
			st.Conditions = append(st.Conditions, Condition{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message, ObservedGeneration: c.ObservedGeneration})
		}
		return st, nil
	}
}

// unmet says how st falls short of w, or returns "".
func unmet(w StatusWant, st ObjectStatus) string {
	c, ok := st.Condition(w.Type)
	if !ok {
		var have []string
		for _, c := range st.Conditions {
			have = append(have, c.Type+"="+c.Status+" "+c.Reason)
		}
		return fmt.Sprintf("%s: not written yet (has %v)", w, have)
	}
	if c.ObservedGeneration != 0 && c.ObservedGeneration != st.Generation {
		return fmt.Sprintf("%s: written for generation %d, object is at %d", w, c.ObservedGeneration, st.Generation)
	}
	if (w.Status != "" && c.Status != w.Status) || (w.Reason != "" && c.Reason != w.Reason) {
		return fmt.Sprintf("%s: istiod wrote %s %s: %s", w, c.Status, c.Reason, c.Message)
	}
	return ""
}

// istioCondition is the condition Istio's own status types carry, whatever
// the API package each kind's status comes from.
type istioCondition interface {
	GetType() string
	GetStatus() string
	GetReason() string
	GetMessage() string
	GetObservedGeneration() int64
}

func fromIstio[C istioCondition](cs []C) []Condition {
	var out []Condition
	for _, c := range cs {
		out = append(out, Condition{Type: c.GetType(), Status: c.GetStatus(), Reason: c.GetReason(), Message: c.GetMessage(), ObservedGeneration: c.GetObservedGeneration()})
	}
	return out
}
