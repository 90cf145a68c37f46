package writer

import (
	"context"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CanI asks the API server whether the user may do verb on the resource
// (SelfSubjectAccessReview, which the read-only guard lets through). When
// not allowed, reason is one line the UI shows instead of the action.
func (w *Writer) CanI(ctx context.Context, verb, group, resource, namespace, name string) (allowed bool, reason string, err error) {
	if err := w.usable(); err != nil {
		return false, lineOf(err), err
	}
	a := Access{Verb: verb, Group: group, Resource: resource, Namespace: namespace, Name: name}
	review := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authzv1.ResourceAttributes{
			Verb: verb, Group: group, Resource: resource, Namespace: namespace, Name: name,
		},
	}}
	got, err := w.kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		e := w.explain(ctx, err, step{resource: Access{Verb: "create", Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}})
		return false, "cannot ask the API server what you may do: " + e.Line, e
	}
	if got.Status.Allowed {
		return true, "", nil
	}
	reason = w.forbidden(ctx, a)
	switch {
	case got.Status.Reason != "":
		reason += " (" + got.Status.Reason + ")"
	case got.Status.EvaluationError != "":
		reason += " (" + firstLine(got.Status.EvaluationError) + ")"
	}
	return false, reason, nil
}

// CanApply asks about every permission the plan needs and returns the
// first refusal.
func (w *Writer) CanApply(ctx context.Context, p Plan) (allowed bool, reason string, err error) {
	if err := w.usable(); err != nil {
		return false, lineOf(err), err
	}
	for _, a := range p.Access() {
		ok, why, err := w.CanI(ctx, a.Verb, a.Group, a.Resource, a.Namespace, a.Name)
		if err != nil || !ok {
			return false, why, err
		}
	}
	return true, "", nil
}

// whoami returns the user name for messages, asking the API server once
// (SelfSubjectReview) since client configs often only hold a token. It
// falls back to "you" when the server cannot say.
func (w *Writer) whoami(ctx context.Context) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.user != "" {
		return w.user
	}
	got, err := w.kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || strings.TrimSpace(got.Status.UserInfo.Username) == "" {
		return "you"
	}
	w.user = got.Status.UserInfo.Username
	return w.user
}

func lineOf(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Line
	}
	return err.Error()
}
