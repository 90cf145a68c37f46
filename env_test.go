package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

func TestReadOnlyEnv(t *testing.T) {
	for _, tc := range []struct {
		v       string
		set     bool
		want    bool
		wantErr string
	}{
		{set: false, want: false},
		{v: "1", set: true, want: true},
		{v: "true", set: true, want: true},
		{v: "TRUE", set: true, want: true},
		{v: "yes", set: true, want: true},
		{v: "Yes", set: true, want: true},
		{v: "on", set: true, want: true},
		{v: "ON", set: true, want: true},
		{v: "y", set: true, want: true},
		{v: " yes ", set: true, want: true},
		{v: "0", set: true, want: false},
		{v: "false", set: true, want: false},
		{v: "False", set: true, want: false},
		{v: "no", set: true, want: false},
		{v: "NO", set: true, want: false},
		{v: "off", set: true, want: false},
		{v: "Off", set: true, want: false},
		{v: "", set: true, want: true, wantErr: "set but empty"},
		{v: "  ", set: true, want: true, wantErr: "set but empty"},
		{v: "ture", set: true, want: true, wantErr: "neither true"},
		{v: "2", set: true, want: true, wantErr: "neither true"},
		{v: "enable", set: true, want: true, wantErr: "neither true"},
	} {
		got, err := readOnlyEnv(tc.v, tc.set)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("AMBX_READONLY=%q (set %v): %v, %v; want %v, %q", tc.v, tc.set, got, err, tc.want, tc.wantErr)
		}
	}
}

// The whole command line refuses a mistyped AMBX_READONLY, and turns
// read-only on for every true spelling.
func TestReadOnlyEnvReachesTheFlags(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"yes", "on", "y", "TRUE"} {
		t.Setenv("AMBX_READONLY", v)
		if o, err := parseFlags(nil, &bytes.Buffer{}); err != nil || !o.readOnly {
			t.Errorf("AMBX_READONLY=%s: read-only %v, %v", v, o.readOnly, err)
		}
	}
	t.Setenv("AMBX_READONLY", "maybe")
	var stderr bytes.Buffer
	if code := run([]string{"--demo"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "AMBX_READONLY") {
		t.Errorf("AMBX_READONLY=maybe: exit %d, %q", code, stderr.String())
	}
}

// klog's error lines reach stderr through its stderr threshold even when
// its output is discarded; after silenceKlog nothing does, whatever the
// level or API.
func TestKlogSilenced(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	silenceKlog()
	klog.Error("plain error from client-go")
	klog.ErrorS(errors.New("boom"), "structured error")
	klog.Warning("warning")
	klog.Info("info")
	klog.FromContext(context.Background()).Error(errors.New("contextual"), "contextual error")
	klog.Background().Info("contextual info")
	klog.Flush()
	os.Stderr = saved
	w.Close()
	out, _ := io.ReadAll(r)
	if len(out) > 0 {
		t.Errorf("klog wrote to stderr: %q", out)
	}
}
