package writer

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sendGateway creates or deletes a waypoint Gateway with the typed
// Gateway API client. A create never overwrites: an existing Gateway of
// that name fails it (AlreadyExists), unlike istioctl's server-side apply.
// A delete carries the UID and resourceVersion the user looked at, so a
// Gateway recreated or changed since is refused (409) rather than deleted.
func (w *Writer) sendGateway(ctx context.Context, s step) error {
	if w.gateway == nil {
		return fmt.Errorf("no Gateway API client")
	}
	gws := w.gateway.GatewayV1().Gateways(s.target.Namespace)
	switch {
	case s.gateway != nil:
		_, err := gws.Create(ctx, s.gateway.DeepCopy(), metav1.CreateOptions{FieldManager: FieldManager})
		return err
	case s.preconditions != nil:
		return gws.Delete(ctx, s.target.Name, metav1.DeleteOptions{Preconditions: s.preconditions})
	}
	return fmt.Errorf("ambx cannot patch a gateway")
}

// doing names the request of a step for error lines.
func (s step) doing() string {
	switch {
	case s.gateway != nil:
		return "creating"
	case s.preconditions != nil:
		return "deleting"
	}
	return "patching"
}
