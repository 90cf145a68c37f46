package kubeenv

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// auditPolicy records who did what to which object (Metadata level), once
// per request: the RequestReceived stage would only duplicate each event.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

// AuditEvent is one request from the API server's audit log: the fields of
// audit.k8s.io/v1 Event a test asserts on. (The full type lives in
// k8s.io/apiserver, which the main module does not otherwise need.)
type AuditEvent struct {
	AuditID    string           `json:"auditID"`
	Stage      string           `json:"stage"`
	RequestURI string           `json:"requestURI"`
	Verb       string           `json:"verb"`
	User       authnv1.UserInfo `json:"user"`
	UserAgent  string           `json:"userAgent"`
	ObjectRef  *AuditObjectRef  `json:"objectRef,omitempty"`
	Response   *metav1.Status   `json:"responseStatus,omitempty"`
	Received   metav1.MicroTime `json:"requestReceivedTimestamp"`
}

// AuditObjectRef names the object a request was about.
type AuditObjectRef struct {
	Resource    string `json:"resource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	APIGroup    string `json:"apiGroup,omitempty"`
	APIVersion  string `json:"apiVersion,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

// String is the request as a person would say it, for test failures.
func (a AuditEvent) String() string {
	code := int32(0)
	if a.Response != nil {
		code = a.Response.Code
	}
	return fmt.Sprintf("%s %s by %s (%s) → %d", a.Verb, a.RequestURI, a.User.Username, a.UserAgent, code)
}

func (e *Env) auditLog() string { return filepath.Join(e.Dir, "audit.log") }

// AuditEvents returns every completed request so far, oldest first. The env
// must have been started with Options.Audit.
func (e *Env) AuditEvents(t testing.TB) []AuditEvent {
	t.Helper()
	if !e.opts.Audit {
		t.Fatalf("kubeenv: AuditEvents needs Options{Audit: true}")
	}
	evs, err := readAudit(e.auditLog())
	if err != nil {
		t.Fatalf("kubeenv: read audit log: %v", err)
	}
	return evs
}

// OpenRequests returns the long-running requests (watches, port-forwards,
// proxied upgrades) that have started and not completed yet, oldest first:
// AuditEvents holds a request only once it completed, so a connection
// still open would be missing from a count of requests made.
func (e *Env) OpenRequests(t testing.TB) []AuditEvent {
	t.Helper()
	if !e.opts.Audit {
		t.Fatalf("kubeenv: OpenRequests needs Options{Audit: true}")
	}
	started, err := readAuditStages(e.auditLog(), "ResponseStarted", "ResponseComplete", "Panic")
	if err != nil {
		t.Fatalf("kubeenv: read audit log: %v", err)
	}
	done := map[string]bool{}
	for _, ev := range started {
		if ev.Stage != "ResponseStarted" {
			done[ev.AuditID] = true
		}
	}
	var out []AuditEvent
	for _, ev := range started {
		if ev.Stage == "ResponseStarted" && !done[ev.AuditID] {
			out = append(out, ev)
		}
	}
	return out
}

// MutatingRequests returns the completed requests whose verb changes
// state (anything but get, list and watch) made by user, or by anyone when
// user is empty. The control plane's own bookkeeping (leases, status from
// kwok) is made by other users, so filtering by the user under test leaves
// exactly that user's writes, including refused ones.
func (e *Env) MutatingRequests(t testing.TB, user string) []AuditEvent {
	t.Helper()
	var out []AuditEvent
	for _, ev := range e.AuditEvents(t) {
		switch ev.Verb {
		case "get", "list", "watch":
			continue
		}
		if user != "" && ev.User.Username != user {
			continue
		}
		out = append(out, ev)
	}
	return out
}

func readAudit(path string) ([]AuditEvent, error) {
	return readAuditStages(path, "ResponseComplete", "Panic")
}

// readAuditStages returns the audit log's events of the stages given.
func readAuditStages(path string, stages ...string) ([]AuditEvent, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // nothing audited yet
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var evs []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		var ev AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			// The server may be half-way through writing the last line.
			if !sc.Scan() {
				break
			}
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if slices.Contains(stages, ev.Stage) {
			evs = append(evs, ev)
		}
	}
	return evs, sc.Err()
}
