package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLogsCommand(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		out, err   string
		jsonOutput bool
	}{
		{args: []string{"logs", "kube/logfile/testdata/ztunnel.log"}, code: 0, out: "hint: HBONE connect timed out"},
		{args: []string{"logs", "-o", "json", "kube/logfile/testdata/ztunnel.log"}, code: 0, out: `"cause":"network-policy"`, jsonOutput: true},
		{args: []string{"logs", "-o", "yaml", "kube/logfile/testdata/ztunnel.log"}, code: 2, err: "want text or json"},
		{args: []string{"logs", "/nonexistent/ztunnel.log"}, code: 1, err: "no such file"},
		{args: []string{"logs", "/dev/zero"}, code: 1, err: "not a regular file"},
		{args: []string{"logs", "a", "b"}, code: 2, err: "accepts at most 1 arg"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.err) {
			t.Errorf("%v: exit %d\nstdout %s\nstderr %s", tc.args, code, stdout.String(), stderr.String())
		}
		if tc.jsonOutput && !json.Valid(stdout.Bytes()) {
			t.Errorf("%v: not JSON: %s", tc.args, stdout.String())
		}
	}
}
