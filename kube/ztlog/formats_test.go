package ztlog_test

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ambx/ambx/kube/ztlog"
)

// Lines as each ztunnel version and each log aggregator writes them. The
// legacy ANSI line is tracing-subscriber's Full format with colours, as
// ztunnel 1.21 and earlier write to a terminal (src/telemetry.rs before the
// Istio format of 1.22); its text is the istio/ztunnel#691 sample.
const (
	esc        = "\x1b"
	ansiLegacy = esc + "[2m2023-09-25T17:36:07.718892Z" + esc + "[0m " + esc + "[33m WARN" + esc + "[0m " +
		esc + "[1mproxy" + esc + "[0m" + esc + "[1m{" + esc + "[0m" + esc + "[3muid" + esc + "[0m" + esc + "[2m=" + esc + "[0mffc376a2" + esc + "[1m}" + esc + "[0m" + esc + "[2m:" + esc + "[0m" +
		esc + "[1moutbound" + esc + "[0m" + esc + "[1m{" + esc + "[0m" + esc + "[3mid" + esc + "[0m" + esc + "[2m=" + esc + "[0m9b33a9eb" + esc + "[1m}" + esc + "[0m" + esc + "[2m:" + esc + "[0m " +
		esc + "[2mztunnel::proxy::outbound" + esc + "[0m" + esc + "[2m:" + esc + "[0m failed " +
		esc + "[3mdur" + esc + "[0m" + esc + "[2m=" + esc + "[0m10.002317s " + esc + "[3merr" + esc + "[0m" + esc + "[2m=" + esc + "[0mio error: deadline has elapsed"
	plainAccess = "2024-05-04T09:59:05.028709Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.1.12:58508 src.workload=\"curl-7656cf8794-r7zb9\" dst.addr=10.244.1.10:15008 direction=\"outbound\" bytes_sent=80 bytes_recv=175 duration=\"1ms\""
	// ztunnel 1.22.0-1.22.3: the HBONE connect timeout before #1236.
	oldTimeout = "2024-06-10T08:00:00.100000Z\terror\taccess\tconnection complete\tsrc.addr=10.244.0.9:58592 src.workload=\"shell-56bd5dbdbf-gz6cq\" src.namespace=\"default\" dst.addr=10.244.0.10:15008 dst.hbone_addr=\"10.244.0.10:80\" dst.workload=\"echo-66d88ff694-pnk6h\" dst.namespace=\"default\" direction=\"outbound\" bytes_sent=0 bytes_recv=0 duration=\"10001ms\" error=\"io error: deadline has elapsed\""
)

func TestParseFormats(t *testing.T) {
	type want struct {
		format               ztlog.Format
		prefix, time, target string
		scope, spans, msg    string
		level                ztlog.Level
		access               bool
		err                  string
		cause                ztlog.Cause
		dur                  time.Duration
	}
	for _, tc := range []struct {
		name, line string
		want       want
	}{
		{"legacy with ANSI colours", ansiLegacy, want{format: ztlog.FormatLegacy, time: "2023-09-25T17:36:07.718892Z", level: ztlog.LevelWarn,
			target: "ztunnel::proxy::outbound", scope: "proxy::outbound", spans: "proxy{uid=ffc376a2}:outbound{id=9b33a9eb}", msg: "failed",
			access: true, err: "io error: deadline has elapsed", cause: ztlog.CauseNetworkPolicy, dur: 10002317 * time.Microsecond}},
		{"legacy span without fields", "2024-01-10T10:00:00.000001Z  INFO outbound: ztunnel::proxy::outbound: proxying to 10.244.1.10:9080 using node local fast path",
			want{format: ztlog.FormatLegacy, time: "2024-01-10T10:00:00.000001Z", level: ztlog.LevelInfo, target: "ztunnel::proxy::outbound",
				scope: "proxy::outbound", spans: "outbound", msg: "proxying to 10.244.1.10:9080 using node local fast path"}},
		{"legacy chained spans without fields", "2024-01-10T10:00:00.000001Z DEBUG proxy:inbound: ztunnel::proxy::inbound: got connection",
			want{format: ztlog.FormatLegacy, time: "2024-01-10T10:00:00.000001Z", level: ztlog.LevelDebug, target: "ztunnel::proxy::inbound",
				scope: "proxy::inbound", spans: "proxy:inbound", msg: "got connection"}},
		{"legacy without spans", "2024-01-10T10:00:00.000001Z  INFO ztunnel::readiness: Task 'proxy' complete (1.2ms), still awaiting 2 tasks",
			want{format: ztlog.FormatLegacy, time: "2024-01-10T10:00:00.000001Z", level: ztlog.LevelInfo, target: "ztunnel::readiness",
				scope: "readiness", msg: "Task 'proxy' complete (1.2ms), still awaiting 2 tasks"}},
		{"legacy crate-root target", "2024-01-10T10:00:00.000001Z  INFO ztunnel: version: version.BuildInfo{Version:\"1.20.2\"}",
			want{format: ztlog.FormatLegacy, time: "2024-01-10T10:00:00.000001Z", level: ztlog.LevelInfo, target: "ztunnel", scope: "ztunnel",
				msg: "version: version.BuildInfo{Version:\"1.20.2\"}"}},
		{"legacy message that starts with a word and colon", "2024-01-10T10:00:00.000001Z ERROR ztunnel::xds::client: error: stream closed",
			want{format: ztlog.FormatLegacy, time: "2024-01-10T10:00:00.000001Z", level: ztlog.LevelError, target: "ztunnel::xds::client",
				scope: "xds::client", msg: "error: stream closed"}},
		{"legacy completed connection", "2024-01-10T10:00:00.000001Z  INFO outbound{id=9b33}: ztunnel::proxy::outbound: complete dur=1.25ms",
			want{format: ztlog.FormatLegacy, time: "2024-01-10T10:00:00.000001Z", level: ztlog.LevelInfo, target: "ztunnel::proxy::outbound",
				scope: "proxy::outbound", spans: "outbound{id=9b33}", msg: "complete", access: true, dur: 1250 * time.Microsecond}},
		{"legacy spans with fields, no target", "2024-01-10T10:00:00.000001Z  WARN xds{id=1}: XDS client error: broken pipe",
			want{format: ztlog.FormatLegacy, time: "2024-01-10T10:00:00.000001Z", level: ztlog.LevelWarn, spans: "xds{id=1}", msg: "XDS client error: broken pipe"}},
		{"kubectl logs --prefix", "[pod/ztunnel-4x7gk/istio-proxy] " + plainAccess,
			want{format: ztlog.FormatPlain, prefix: "[pod/ztunnel-4x7gk/istio-proxy]", time: "2024-05-04T09:59:05.028709Z", level: ztlog.LevelInfo,
				target: "access", scope: "access", msg: "connection complete", access: true, dur: time.Millisecond}},
		{"stern", "ztunnel-4x7gk istio-proxy " + plainAccess,
			want{format: ztlog.FormatPlain, prefix: "ztunnel-4x7gk istio-proxy", time: "2024-05-04T09:59:05.028709Z", level: ztlog.LevelInfo,
				target: "access", scope: "access", msg: "connection complete", access: true, dur: time.Millisecond}},
		{"stern with colours", esc + "[32mztunnel-4x7gk" + esc + "[0m " + esc + "[32mistio-proxy" + esc + "[0m " + plainAccess,
			want{format: ztlog.FormatPlain, prefix: "ztunnel-4x7gk istio-proxy", time: "2024-05-04T09:59:05.028709Z", level: ztlog.LevelInfo,
				target: "access", scope: "access", msg: "connection complete", access: true, dur: time.Millisecond}},
		{"stern --all-namespaces", "istio-system ztunnel-4x7gk istio-proxy " + plainAccess,
			want{format: ztlog.FormatPlain, prefix: "istio-system ztunnel-4x7gk istio-proxy", time: "2024-05-04T09:59:05.028709Z", level: ztlog.LevelInfo,
				target: "access", scope: "access", msg: "connection complete", access: true, dur: time.Millisecond}},
		{"Grafana/Loki export", "2024-05-04 09:59:05.028 | " + plainAccess,
			want{format: ztlog.FormatPlain, prefix: "2024-05-04 09:59:05.028", time: "2024-05-04T09:59:05.028709Z", level: ztlog.LevelInfo,
				target: "access", scope: "access", msg: "connection complete", access: true, dur: time.Millisecond}},
		{"kubectl logs --timestamps", "2024-05-04T09:59:05.028712345Z " + plainAccess,
			want{format: ztlog.FormatPlain, prefix: "2024-05-04T09:59:05.028712345Z", time: "2024-05-04T09:59:05.028709Z", level: ztlog.LevelInfo,
				target: "access", scope: "access", msg: "connection complete", access: true, dur: time.Millisecond}},
		{"logcli with labels", `2024-05-04T09:59:05Z {app="ztunnel", pod="ztunnel-4x7gk"} ` + plainAccess,
			want{format: ztlog.FormatPlain, prefix: `2024-05-04T09:59:05Z {app="ztunnel", pod="ztunnel-4x7gk"}`, time: "2024-05-04T09:59:05.028709Z", level: ztlog.LevelInfo,
				target: "access", scope: "access", msg: "connection complete", access: true, dur: time.Millisecond}},
		{"prefix before a JSON line", `[pod/ztunnel-4x7gk/istio-proxy] {"level":"warn","time":"2024-07-29T17:22:14.958433Z","scope":"xds::client","message":"XDS client connection error"}`,
			want{format: ztlog.FormatJSON, prefix: "[pod/ztunnel-4x7gk/istio-proxy]", time: "2024-07-29T17:22:14.958433Z", level: ztlog.LevelWarn,
				target: "xds::client", scope: "xds::client", msg: "XDS client connection error"}},
		{"prefix before a legacy line", "ztunnel-4x7gk 2023-02-15T20:54:40.204428Z  WARN xds{id=1}: ztunnel::xds::client: XDS client error: broken pipe",
			want{format: ztlog.FormatLegacy, prefix: "ztunnel-4x7gk", time: "2023-02-15T20:54:40.204428Z", level: ztlog.LevelWarn,
				target: "ztunnel::xds::client", scope: "xds::client", spans: "xds{id=1}", msg: "XDS client error: broken pipe"}},
		{"HBONE timeout of ztunnel 1.22.0-1.22.3", oldTimeout,
			want{format: ztlog.FormatPlain, time: "2024-06-10T08:00:00.100000Z", level: ztlog.LevelError, target: "access", scope: "access",
				msg: "connection complete", access: true, err: "io error: deadline has elapsed", cause: ztlog.CauseNetworkPolicy, dur: 10001 * time.Millisecond}},
		{"a bare timeout on a plaintext hop is not blamed on NetworkPolicy", strings.Replace(oldTimeout, "10.244.0.10:15008", "10.244.0.10:80", 1),
			want{format: ztlog.FormatPlain, time: "2024-06-10T08:00:00.100000Z", level: ztlog.LevelError, target: "access", scope: "access",
				msg: "connection complete", access: true, err: "io error: deadline has elapsed", cause: ztlog.CauseTimeout, dur: 10001 * time.Millisecond}},
		{"TLS handshake wording of ztunnel 1.21", "2024-02-01T10:00:00.000001Z  WARN outbound{id=1}: ztunnel::proxy::outbound: failed dur=3.1ms err=tls handshake failed: Ssl(ErrorStack([Error { code: 337047686 }]))",
			want{format: ztlog.FormatLegacy, time: "2024-02-01T10:00:00.000001Z", level: ztlog.LevelWarn, target: "ztunnel::proxy::outbound", scope: "proxy::outbound",
				spans: "outbound{id=1}", msg: "failed", access: true, err: "tls handshake failed: Ssl(ErrorStack([Error { code: 337047686 }]))", cause: ztlog.CauseTLS, dur: 3100 * time.Microsecond}},
		{"a bar in the message is not a Grafana prefix", "2024-01-29T23:09:38.664871Z info app a | b",
			want{format: ztlog.FormatPlain, time: "2024-01-29T23:09:38.664871Z", level: ztlog.LevelInfo, target: "app", scope: "app", msg: "a | b"}},
		{"Grafana export of a line without a timestamp", "2024-05-04 09:59:05.028 | error\tinpod::workloadmanager\tfailed to start proxy",
			want{format: ztlog.FormatPlain, prefix: "2024-05-04 09:59:05.028", level: ztlog.LevelError, target: "inpod::workloadmanager",
				scope: "inpod::workloadmanager", msg: "failed to start proxy"}},
		{"a bar before text that is no log line", "2024 budget | notes here",
			want{format: ztlog.FormatUnknown, msg: "2024 budget | notes here"}},
		{"not a log line keeps no prefix", "Defaulted container \"istio-proxy\" out of: istio-proxy",
			want{format: ztlog.FormatUnknown, msg: "Defaulted container \"istio-proxy\" out of: istio-proxy"}},
		{"words before a level are not a prefix without a target", "the cat error was here",
			want{format: ztlog.FormatUnknown, msg: "the cat error was here"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ztlog.Parse(tc.line)
			got := want{format: l.Format, prefix: l.Prefix, time: l.TimeText, target: l.Target, scope: l.Scope, spans: l.Spans,
				msg: l.Message, level: l.Level, access: l.Access(), err: l.Conn.Error, cause: l.Hint().Cause, dur: l.Conn.Duration}
			if got != tc.want {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
			if l.Raw != strings.TrimRight(tc.line, "\n") {
				t.Errorf("Raw is not the line as read: %q", l.Raw)
			}
		})
	}
}

// ztunnel writes a control character in a value as \u{1b}; the parser must
// keep it that way, never hand a raw ESC to whoever prints the value.
func TestParseKeepsEscapedControls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`\u{1b}]52;c;eA==\u{7}`, `\u{1b}]52;c;eA==\u{7}`},
		{`a\nb\r\tc\0`, `a\nb\r\tc\0`},
		{`bidi \u{202e}x`, `bidi \u{202e}x`},
		{`C1 \u{9b}2J`, `C1 \u{9b}2J`},
		{`quote \" and backslash \\ and \'`, `quote " and backslash \ and '`},
		{`emoji \u{1f600} and é \u{e9}`, "emoji \U0001f600 and é é"},
		{`bad \u{110000} \u{zz}`, `bad \u{110000} \u{zz}`},
	} {
		l := ztlog.Parse("2024-05-04T09:59:05.028709Z\terror\taccess\tconnection complete\terror=\"" + tc.in + "\"")
		if l.Conn.Error != tc.want {
			t.Errorf("%s: error = %q, want %q", tc.in, l.Conn.Error, tc.want)
		}
		if strings.ContainsAny(l.Conn.Error, "\x1b\x07\n\r\t\x00\u009b\u202e") {
			t.Errorf("%s: raw control in %q", tc.in, l.Conn.Error)
		}
	}
}

// A hostile or broken line costs a bounded amount: it is cut at
// MaxLineBytes with a visible mark, copied so the long original is freed,
// and keeps at most MaxFields fields however many '=' it has.
func TestParseBoundsMemory(t *testing.T) {
	for _, tc := range []struct{ name, line string }{
		{"64 KiB of =", "2024-05-04T09:59:05.028709Z\tinfo\taccess\tconnection complete\t" + strings.Repeat("=", 64<<10)},
		{"64 KiB of tiny fields", "2024-05-04T09:59:05.028709Z\tinfo\taccess\tconnection complete\t" + strings.Repeat("a=b ", 16<<10)},
		{"64 KiB of quotes", "info app x k=\"" + strings.Repeat(`\"`, 32<<10)},
		{"multi-byte text across the cut", "info app " + strings.Repeat("é", 40<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ztlog.Parse(tc.line)
			if len(l.Raw) > ztlog.MaxLineBytes || l.Truncated != len(tc.line)-len(l.Raw) || l.Truncated == 0 {
				t.Errorf("raw %d bytes, truncated %d of %d", len(l.Raw), l.Truncated, len(tc.line))
			}
			if !strings.Contains(l.TruncationMark(), "cut") {
				t.Errorf("no visible mark: %q", l.TruncationMark())
			}
			if len(l.Fields) > ztlog.MaxFields || cap(l.Fields) > 2*ztlog.MaxFields {
				t.Errorf("%d fields (cap %d)", len(l.Fields), cap(l.Fields))
			}
			if unsafe.StringData(l.Raw) == unsafe.StringData(tc.line) {
				t.Errorf("Raw shares the long original's memory")
			}
			if !strings.HasPrefix(tc.line, l.Raw) || !utf8Valid(l.Raw) {
				t.Errorf("cut inside a character")
			}
		})
	}
	if l := ztlog.Parse(plainAccess); l.Truncated != 0 || l.TruncationMark() != "" {
		t.Errorf("a normal line is marked cut: %+v", l)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\ufffd") == s }

func TestExplainOlderWordings(t *testing.T) {
	for _, tc := range []struct {
		err   string
		cause ztlog.Cause
	}{
		{"io error: deadline has elapsed", ztlog.CauseTimeout},
		{"tls handshake failed: Ssl(ErrorStack([]))", ztlog.CauseTLS},
		{"ssl error: error:1416F086:SSL routines", ztlog.CauseTLS},
		{"http handshake failed: connection closed before message completed", ztlog.CauseH2},
		{"http failed: connection error", ztlog.CauseH2},
		{"unknown source: 10.244.0.9", ztlog.CauseLocalUnknown},
		{"unknown destination: 10.96.0.10", ztlog.CauseRouting},
		{"no valid routing destination for workload: echo", ztlog.CauseRouting},
		{"pool draining", ztlog.CauseDrain},
	} {
		if h := ztlog.Explain(tc.err); h.Cause != tc.cause || h.Text == "" {
			t.Errorf("Explain(%q) = %+v, want cause %v", tc.err, h, tc.cause)
		}
	}
}

// FuzzParse: no input panics, every line stays within its bounds, and no
// Rust-escaped control comes back raw.
func FuzzParse(f *testing.F) {
	for _, s := range []string{ansiLegacy, plainAccess, oldTimeout, "[pod/a/b] {\"level\":\"info\"}", "x | y", "2024 | info app \\u{1b}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := ztlog.Parse(s)
		if len(l.Raw) > ztlog.MaxLineBytes || len(l.Fields) > ztlog.MaxFields {
			t.Fatalf("unbounded: raw %d, fields %d", len(l.Raw), len(l.Fields))
		}
		_ = l.Hint()
		_ = l.Access()
		for _, fl := range l.Fields {
			if l.Format != ztlog.FormatJSON && fl.Quoted && strings.Contains(fl.Value, "\x1b") && !strings.Contains(s, "\x1b") {
				t.Fatalf("ESC made from an escape: %q -> %q", s, fl.Value)
			}
		}
	})
}
