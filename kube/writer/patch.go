package writer

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/go-openapi/jsonpointer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// op is one RFC 6902 operation.
type op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// labelChange is the new state of one label: Remove, or set to Value.
type labelChange struct {
	Key    string
	Value  string
	Remove bool
}

var errNoChange = errors.New("nothing to change")

// labelPatch builds a JSON patch that changes only the given labels of obj,
// guarded by a test of the resourceVersion the caller looked at: the API
// server applies a JSON patch to the object it holds, so a newer object
// fails the test instead of being overwritten. Unchanged labels get no
// operation, so no other part of the object can move.
func labelPatch(obj metav1.Object, changes ...labelChange) ([]byte, error) {
	labels := obj.GetLabels()
	var ops []op
	if rv := obj.GetResourceVersion(); rv != "" {
		// Objects from a real API server always carry one; only hand-made
		// objects (the demo's fake clientsets) do not.
		ops = append(ops, op{Op: "test", Path: "/metadata/resourceVersion", Value: rv})
	}
	guard := len(ops)
	for _, c := range changes {
		path := "/metadata/labels/" + jsonpointer.Escape(c.Key)
		old, has := labels[c.Key]
		switch {
		case c.Remove && has:
			ops = append(ops, op{Op: "remove", Path: path})
		case c.Remove, has && old == c.Value:
		case has:
			ops = append(ops, op{Op: "replace", Path: path, Value: c.Value})
		default:
			if labels == nil && !hasLabelsOp(ops) {
				// add cannot create the parent of its path.
				ops = append(ops, op{Op: "add", Path: "/metadata/labels", Value: map[string]string{}})
			}
			ops = append(ops, op{Op: "add", Path: path, Value: c.Value})
		}
	}
	if len(ops) == guard {
		return nil, errNoChange
	}
	return encodeOps(ops)
}

func hasLabelsOp(ops []op) bool {
	for _, o := range ops {
		if o.Path == "/metadata/labels" {
			return true
		}
	}
	return false
}

// encodeOps writes one operation per line: the bytes sent are the bytes the
// dialog shows, so they should read well.
func encodeOps(ops []op) ([]byte, error) {
	var b strings.Builder
	b.WriteString("[\n")
	for i, o := range ops {
		line, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		b.WriteString("  ")
		b.Write(line)
		if i < len(ops)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]")
	return []byte(b.String()), nil
}
