// Package writer is the one door through which ambx changes a cluster. Every
// change is first a Plan, built from what the user sees without any I/O, so
// the confirm dialog can show the exact patch and its consequences; only
// Apply sends it. Patches touch one label and carry the resourceVersion the
// user looked at, so a concurrent change is reported instead of overwritten.
package writer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ambx/ambx/kube"
	"k8s.io/client-go/kubernetes"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// FieldManager is the name ambx's writes are recorded under in managedFields.
const FieldManager = "ambx"

// Writer sends planned changes to a cluster.
type Writer struct {
	kube     kubernetes.Interface
	gateway  gwclient.Interface // creates and deletes waypoints
	readOnly bool
	// now stamps restart annotations; tests fix it.
	now func() time.Time

	mu   sync.Mutex
	user string // cached SelfSubjectReview answer; "" until known
}

// New returns a writer over clients. With readOnly every method refuses
// before doing anything: the transport guard refuses writes to real
// clusters anyway, but the demo's fake clientsets have no transport.
func New(clients *kube.Clients, readOnly bool) *Writer {
	w := &Writer{readOnly: readOnly, now: time.Now}
	if clients != nil {
		w.kube, w.gateway = clients.Kube, clients.Gateway
	}
	return w
}

// ReadOnly reports whether the writer refuses every change; the UI hides
// write actions when it does.
func (w *Writer) ReadOnly() bool { return w.readOnly }

// usable is the first check of every method.
func (w *Writer) usable() error {
	if w.readOnly {
		return ErrReadOnly
	}
	if w.kube == nil {
		return &Error{Kind: KindOther, Line: "not connected to a cluster"}
	}
	return nil
}

// Apply sends a plan and returns the line the status bar shows on success.
// Errors are *Error, worded for the status bar.
func (w *Writer) Apply(ctx context.Context, p Plan) (string, error) {
	if err := w.usable(); err != nil {
		return "", err
	}
	if len(p.steps) == 0 {
		return "", &Error{Kind: KindOther, Line: "nothing to apply: the plan is empty"}
	}
	done := 0
	for _, s := range p.steps {
		if err := w.send(ctx, s); err != nil {
			e := w.explain(ctx, err, s)
			if done > 0 {
				e.Line = fmt.Sprintf("%d of %d done, then %s", done, len(p.steps), e.Line)
			}
			return "", e
		}
		done++
	}
	return p.Done, nil
}

// send issues one patch with the typed client of its target's kind.
func (w *Writer) send(ctx context.Context, s step) error {
	if s.target.Kind == KindGateway {
		return w.sendGateway(ctx, s)
	}
	opts := patchOptions()
	var err error
	switch s.target.Kind {
	case KindNamespace:
		_, err = w.kube.CoreV1().Namespaces().Patch(ctx, s.target.Name, s.patchType, s.body, opts)
	case KindPod:
		_, err = w.kube.CoreV1().Pods(s.target.Namespace).Patch(ctx, s.target.Name, s.patchType, s.body, opts)
	case KindService:
		_, err = w.kube.CoreV1().Services(s.target.Namespace).Patch(ctx, s.target.Name, s.patchType, s.body, opts)
	case KindDeployment:
		_, err = w.kube.AppsV1().Deployments(s.target.Namespace).Patch(ctx, s.target.Name, s.patchType, s.body, opts)
	case KindStatefulSet:
		_, err = w.kube.AppsV1().StatefulSets(s.target.Namespace).Patch(ctx, s.target.Name, s.patchType, s.body, opts)
	case KindDaemonSet:
		_, err = w.kube.AppsV1().DaemonSets(s.target.Namespace).Patch(ctx, s.target.Name, s.patchType, s.body, opts)
	default:
		return fmt.Errorf("ambx cannot patch a %s", strings.ToLower(s.target.Kind))
	}
	return err
}
