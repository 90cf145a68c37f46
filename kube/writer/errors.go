package writer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ambx/ambx/kube/guard"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// ErrorKind sorts failed writes by what the user can do about them.
type ErrorKind int

// Error kinds.
const (
	KindOther     ErrorKind = iota
	KindReadOnly            // ambx runs read-only
	KindConflict            // the object changed after the plan was made
	KindForbidden           // RBAC denies the write
	KindNotFound            // the object is gone
	KindInvalid             // the API server rejected the new object
	KindNothing             // the plan would change nothing
)

// Error is a failed write, worded as one line for the status bar.
type Error struct {
	Kind ErrorKind
	Line string
	Err  error // the API's error, when there was one
}

// Error returns the status-bar line.
func (e *Error) Error() string { return e.Line }

// Unwrap returns the API's error.
func (e *Error) Unwrap() error { return e.Err }

// ErrReadOnly is what every method returns in read-only mode, and what a
// write refused by the transport guard becomes.
var ErrReadOnly = &Error{Kind: KindReadOnly, Line: "read-only mode: write refused"}

// KindOf returns the kind of a writer error, KindOther for anything else.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindOther
}

// explain turns the error of one request into a status-bar line.
func (w *Writer) explain(ctx context.Context, err error, s step) *Error {
	doing := s.doing()
	what := strings.ToLower(s.target.Kind) + " " + s.target.Name
	if s.target.Namespace != "" {
		what = strings.ToLower(s.target.Kind) + " " + s.target.Namespace + "/" + s.target.Name
	}
	var ro *guard.ErrReadOnly
	switch {
	case errors.As(err, &ro):
		return &Error{Kind: KindReadOnly, Line: ErrReadOnly.Line, Err: err}
	case conflict(err, s):
		return &Error{Kind: KindConflict, Err: err,
			Line: "changed since you looked: " + what + " was modified, reopen to see the new state"}
	case apierrors.IsAlreadyExists(err):
		return &Error{Kind: KindConflict, Err: err,
			Line: "changed since you looked: " + what + " already exists, reopen to see the new state"}
	case apierrors.IsForbidden(err):
		return &Error{Kind: KindForbidden, Err: err, Line: w.forbidden(ctx, s.resource)}
	case apierrors.IsNotFound(err):
		return &Error{Kind: KindNotFound, Err: err,
			Line: "changed since you looked: " + what + " no longer exists, reopen to see the new state"}
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		return &Error{Kind: KindInvalid, Err: err, Line: "rejected by the API server: " + firstLine(apiMessage(err))}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindOther, Err: err, Line: "timed out " + doing + " " + what}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindOther, Err: err, Line: "cancelled " + doing + " " + what}
	}
	return &Error{Kind: KindOther, Err: err, Line: doing + " " + what + ": " + firstLine(err.Error())}
}

// conflict reports whether the API server refused the patch because the
// object moved on: a 409, or a 422 without field causes for a JSON patch.
// kube-apiserver answers every failure to apply a JSON patch, including a
// failed test operation, with a bare 422 "the server rejected our request
// due to an error in our request" (handlers/patch.go applyJSPatch), while
// validation errors name their fields. Our JSON patches were built from the
// object at the resourceVersion they test, so they can only fail to apply
// to an object that has changed since.
func conflict(err error, s step) bool {
	if apierrors.IsConflict(err) {
		return true
	}
	var st apierrors.APIStatus
	if s.patchType != types.JSONPatchType || !errors.As(err, &st) || st.Status().Code != http.StatusUnprocessableEntity {
		return false
	}
	if strings.Contains(apiMessage(err), "test failed") {
		return true
	}
	d := st.Status().Details
	return d == nil || len(d.Causes) == 0
}

// apiMessage is the Status message with the causes it does not already
// include: a generic 422 keeps the server's own words only in its causes.
func apiMessage(err error) string {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Message == "" {
		return err.Error()
	}
	msg := st.Status().Message
	if d := st.Status().Details; d != nil {
		for _, c := range d.Causes {
			if c.Message != "" && !strings.Contains(msg, c.Message) {
				msg += ": " + c.Message
			}
		}
	}
	return msg
}

// forbidden words a refusal the way the API server does, without its
// boilerplate: "forbidden: alice cannot patch namespaces/bookinfo".
func (w *Writer) forbidden(ctx context.Context, a Access) string {
	return fmt.Sprintf("forbidden: %s cannot %s %s", w.whoami(ctx), a.Verb, a.object())
}

// object names the resource of an access as kubectl does: namespaces/x,
// deployments.apps/x in ns.
func (a Access) object() string {
	r := a.Resource
	if a.Group != "" {
		r += "." + a.Group
	}
	if a.Name != "" {
		r += "/" + a.Name
	}
	if a.Namespace != "" {
		r += " in " + a.Namespace
	}
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
