package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// readOnlyEnv reads AMBX_READONLY. Only an explicit false (0, false, no,
// off, any case) leaves writes on; 1, true, yes, on and y turn read-only
// on. Anything else, the empty string included, is an error rather than a
// guess: an audit setting that was mistyped must not silently mean
// "writes allowed", and the user learns it before anything connects.
func readOnlyEnv(v string, set bool) (bool, error) {
	if !set {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on", "y":
		return true, nil
	case "":
		return true, fmt.Errorf("AMBX_READONLY is set but empty: set it to 1 (read-only) or 0 (writes allowed), or unset it")
	}
	return true, fmt.Errorf("AMBX_READONLY=%q is neither true (1, true, yes, on) nor false (0, false, no, off)", v)
}

// silenceKlog stops client-go's logging for good: a discarding logger
// takes every klog call (contextual loggers included), and the stderr
// threshold is raised so nothing below FATAL is copied to stderr, which
// SetOutput alone does not prevent and which would tear the full-screen UI.
func silenceKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	klog.InitFlags(fs)
	for k, v := range map[string]string{
		"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL",
		"legacy_stderr_threshold_behavior": "false", "one_output": "true", "skip_headers": "true",
	} {
		_ = fs.Set(k, v) // a flag an older klog lacks is simply not there to set
	}
	klog.SetOutput(io.Discard)
	klog.SetLoggerWithOptions(logr.Discard(), klog.ContextualLogger(true))
}
