package ztlog_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/ztlog"
)

func TestParseJSON(t *testing.T) {
	line := `{"level":"error","time":"2024-07-26T17:18:00.953004Z","scope":"access","message":"connection complete",` +
		`"src.addr":"10.244.0.9:58592","src.workload":"shell-56bd5dbdbf-gz6cq","src.namespace":"default",` +
		`"dst.addr":"10.244.0.10:15008","dst.hbone_addr":"10.244.0.10:80","dst.workload":"echo-66d88ff694-pnk6h",` +
		`"direction":"outbound","bytes_sent":0,"bytes_recv":12,"duration":"10002ms",` +
		`"error":"connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed"}`
	l := ztlog.Parse(line)
	if l.Format != ztlog.FormatJSON || l.Level != ztlog.LevelError || l.Scope != "access" || l.Message != "connection complete" {
		t.Fatalf("head: %+v", l)
	}
	if want := time.Date(2024, 7, 26, 17, 18, 0, 953004000, time.UTC); !l.Time.Equal(want) {
		t.Errorf("time %v, want %v", l.Time, want)
	}
	wantFields := []ztlog.Field{
		q("src.addr", "10.244.0.9:58592"), q("src.workload", "shell-56bd5dbdbf-gz6cq"), q("src.namespace", "default"),
		q("dst.addr", "10.244.0.10:15008"), q("dst.hbone_addr", "10.244.0.10:80"), q("dst.workload", "echo-66d88ff694-pnk6h"),
		q("direction", "outbound"), u("bytes_sent", "0"), u("bytes_recv", "12"), q("duration", "10002ms"),
		q("error", "connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed"),
	}
	if !reflect.DeepEqual(l.Fields, wantFields) {
		t.Errorf("fields in written order:\n got %+v\nwant %+v", l.Fields, wantFields)
	}
	c := l.Conn
	if c.Direction != ztlog.DirOutbound || c.BytesRecv != 12 || !c.HasBytes || c.Duration != 10002*time.Millisecond || !c.HBONE() {
		t.Errorf("conn %+v", c)
	}
	if h := l.Hint(); h.Cause != ztlog.CauseNetworkPolicy || h.Flag != "NETWORK_POLICY" {
		t.Errorf("hint %+v", h)
	}
}

func TestParseJSONSpans(t *testing.T) {
	l := ztlog.Parse(`{"level":"warn","time":"2024-07-29T17:22:14.958433Z","scope":"xds::client","message":"XDS client connection error","xds":{"id":3}}`)
	if l.Format != ztlog.FormatJSON || l.Level != ztlog.LevelWarn || l.Scope != "xds::client" || l.Spans != `xds{"id":3}` {
		t.Errorf("%+v", l)
	}
}

func TestParseEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name, line   string
		format       ztlog.Format
		level        ztlog.Level
		message      string
		fields       []ztlog.Field
		checkFields  bool
		timeText     string
		target, span string
	}{
		{name: "empty", line: "", format: ztlog.FormatUnknown},
		{name: "spaces only", line: " \t ", format: ztlog.FormatUnknown},
		{name: "not a log line", line: "Defaulted container \"istio-proxy\" out of: istio-proxy", format: ztlog.FormatUnknown,
			message: "Defaulted container \"istio-proxy\" out of: istio-proxy"},
		{name: "timestamp without level", line: "2024-05-04T09:59:05.028709Z something odd", format: ztlog.FormatUnknown,
			message: "something odd", timeText: "2024-05-04T09:59:05.028709Z"},
		{name: "bad timestamp", line: "2024-13-45T99:99:99.0Z info access x", format: ztlog.FormatUnknown,
			message: "2024-13-45T99:99:99.0Z info access x"},
		{name: "CRLF", line: "2024-05-04T09:59:05.028709Z\tinfo\taccess\tconnection opened\tdirection=\"inbound\"\r\n",
			format: ztlog.FormatPlain, level: ztlog.LevelInfo, message: "connection opened",
			fields: []ztlog.Field{q("direction", "inbound")}, checkFields: true, timeText: "2024-05-04T09:59:05.028709Z", target: "access"},
		{name: "escaped quotes unescaped, escaped tab kept as written", line: "info\taccess\tconnection complete\terror=\"tls error: \\\"bad\\\"\\tcert\" x=1",
			format: ztlog.FormatPlain, level: ztlog.LevelInfo, message: "connection complete",
			fields: []ztlog.Field{q("error", `tls error: "bad"\tcert`), u("x", "1")}, checkFields: true, target: "access"},
		{name: "unterminated quote keeps the rest", line: "warn access connection complete error=\"cut off here",
			format: ztlog.FormatPlain, level: ztlog.LevelWarn, message: "connection complete",
			fields: []ztlog.Field{q("error", "cut off here")}, checkFields: true, target: "access"},
		{name: "spans with spaces in quotes", line: `debug xds::client:xds{id=3 name="a b"} got it`,
			format: ztlog.FormatPlain, level: ztlog.LevelDebug, message: "got it", target: `xds::client:xds{id=3 name="a b"}`},
		{name: "quoted message part with = is not a field", line: `info app saw "a=b c" then k=v`,
			format: ztlog.FormatPlain, level: ztlog.LevelInfo, message: `saw "a=b c" then`,
			fields: []ztlog.Field{u("k", "v")}, checkFields: true, target: "app"},
		{name: "level only", line: "error", format: ztlog.FormatPlain, level: ztlog.LevelError},
		{name: "broken JSON falls back", line: `{"level":"info",`, format: ztlog.FormatUnknown, message: `{"level":"info",`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ztlog.Parse(tc.line)
			if l.Format != tc.format || l.Level != tc.level || l.Message != tc.message || l.TimeText != tc.timeText {
				t.Errorf("got format=%v level=%v message=%q time=%q", l.Format, l.Level, l.Message, l.TimeText)
			}
			if tc.target != "" && l.Target != tc.target {
				t.Errorf("target %q, want %q", l.Target, tc.target)
			}
			if tc.checkFields && !reflect.DeepEqual(l.Fields, tc.fields) {
				t.Errorf("fields %+v, want %+v", l.Fields, tc.fields)
			}
		})
	}
}

func TestConnFromSamples(t *testing.T) {
	lines := sampleLines(t)
	for _, tc := range []struct {
		line          int // 1-based among the sample lines
		dir           ztlog.Direction
		src, dst, svc string
		sent, recv    int64
		dur           time.Duration
		hbone         bool
		srcIP, dstIP  string
		cause         ztlog.Cause
	}{
		{line: 1, dir: ztlog.DirInbound, src: "curl-7656cf8794-r7zb9", dst: "productpage-v1-87d54dd59-fn6vw",
			svc: "productpage.default.svc.cluster.local", sent: 175, recv: 80, dur: time.Millisecond,
			srcIP: "10.244.1.12", dstIP: "10.244.1.10"},
		{line: 2, dir: ztlog.DirOutbound, src: "curl-7656cf8794-r7zb9", dst: "productpage-v1-87d54dd59-fn6vw",
			svc: "productpage.default.svc.cluster.local", sent: 80, recv: 175, dur: time.Millisecond, hbone: true,
			srcIP: "10.244.1.12", dstIP: "10.244.1.10"},
		{line: 7, dir: ztlog.DirOutbound, src: "shell-56bd5dbdbf-gz6cq", dst: "echo-66d88ff694-pnk6h",
			svc: "echo.default.svc.cluster.local", dur: 10002 * time.Millisecond, hbone: true,
			srcIP: "10.244.0.9", dstIP: "10.244.0.10", cause: ztlog.CauseNetworkPolicy},
		{line: 8, dir: ztlog.DirInbound, src: "reviews-v1-6584ddcf65-k78wz", dst: "productpage-v1-d5789fdfb-c5w2c",
			svc: "productpage.default.svc.cluster.local", hbone: true, srcIP: "10.244.1.6", dstIP: "10.244.1.9", cause: ztlog.CauseNoAllowMatch},
		{line: 9, dir: ztlog.DirInbound, src: "istio-ingressgateway-955654497-rv74f", dst: "backend-translation-78f6c4d95-g4zkp",
			svc: "backend-translation.staging.svc.cluster.local", hbone: true, srcIP: "10.1.26.201", dstIP: "10.1.27.83", cause: ztlog.CausePolicyRejected},
		{line: 11, dir: ztlog.DirOutbound, src: "activator-5656895fc6-c6p62", dst: "rvc-inference-predictor-00001-deployment-68d645dd97-wcpv4",
			dur: time.Millisecond, hbone: true, srcIP: "10.244.3.75", dstIP: "10.244.2.174", cause: ztlog.CauseConnectRejected},
		{line: 28, dir: ztlog.DirOutbound, dur: 8256389 * time.Nanosecond, cause: ztlog.CauseConnectRejected},
	} {
		l := ztlog.Parse(lines[tc.line-1])
		c := l.Conn
		if c.Direction != tc.dir || c.SrcWorkload != tc.src || c.DstWorkload != tc.dst || c.DstService != tc.svc ||
			c.BytesSent != tc.sent || c.BytesRecv != tc.recv || c.Duration != tc.dur || c.HBONE() != tc.hbone {
			t.Errorf("line %d: conn %+v", tc.line, c)
		}
		if ip, ok := c.SrcIP(); tc.srcIP != "" && (!ok || ip.String() != tc.srcIP) {
			t.Errorf("line %d: src IP %v", tc.line, ip)
		}
		if ip, ok := c.DstIP(); tc.dstIP != "" && (!ok || ip.String() != tc.dstIP) {
			t.Errorf("line %d: dst IP %v", tc.line, ip)
		}
		if h := l.Hint(); h.Cause != tc.cause {
			t.Errorf("line %d: cause %v, want %v (%+v)", tc.line, h.Cause, tc.cause, h)
		}
		if !l.Access() {
			t.Errorf("line %d: not an access line", tc.line)
		}
	}
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		err    string
		cause  ztlog.Cause
		flag   string
		policy string
		text   string // a word the pane must show
	}{
		{"", ztlog.CauseNone, "", "", ""},
		{"connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed", ztlog.CauseNetworkPolicy, "NETWORK_POLICY", "", "15008"},
		{"connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008", ztlog.CauseNetworkPolicy, "NETWORK_POLICY", "", "NetworkPolicy"},
		{"connection closed due to policy rejection: allow policies exist, but none allowed", ztlog.CauseNoAllowMatch, "DENY", "", "ALLOW"},
		{"connection closed due to policy rejection: explicitly denied by: ambient-apps/deny-rogue", ztlog.CauseDenied, "DENY", "ambient-apps/deny-rogue", "ambient-apps/deny-rogue"},
		{"connection closed due to policy rejection: explicitly denied by: istio-system/istio_converted_static_strict", ztlog.CauseDenied, "DENY", "istio-system/istio_converted_static_strict", "PeerAuthentication"},
		{"connection closed due to policy rejection: workload not found", ztlog.CauseWorkloadUnknown, "DENY", "", "unknown"},
		{"connection closed due to policy rejection: workload mismatch", ztlog.CauseWorkloadUnknown, "DENY", "", "mismatch"},
		{"connection closed due to policy rejection", ztlog.CausePolicyRejected, "DENY", "", "AuthorizationPolicy"},
		{"connection closed due to policy change", ztlog.CausePolicyChange, "DENY", "", "changed"},
		{"connection closed: peer certificate revoked by CRL", ztlog.CauseCertRevoked, "CERT_REVOKED", "", "revoked"},
		{"http status: 503 Service Unavailable", ztlog.CauseConnectRejected, "CONNECT", "", "503"},
		{"tls error: invalid peer certificate: UnknownIssuer", ztlog.CauseTLS, "TLS_FAILURE", "", "trust domain"},
		{"http2 handshake failed: eof", ztlog.CauseH2, "H2_HANDSHAKE_FAILURE", "", "HTTP/2"},
		{"h2 failed: connection reset", ztlog.CauseH2, "H2_HANDSHAKE_FAILURE", "", "HTTP/2"},
		{"identity error: failed to fetch certificate", ztlog.CauseIdentity, "IDENTITY_ERROR", "", "15012"},
		{"io error: Connection refused (os error 111)", ztlog.CauseRefused, "CONNECT", "", "listens"},
		{"failed to fetch information about local workload: default/sleep", ztlog.CauseLocalUnknown, "", "", "source pod"},
		{"unknown waypoint: ambient-apps/waypoint", ztlog.CauseRouting, "CONNECT", "", "waypoint"},
		{"no healthy upstream: httpbin", ztlog.CauseRouting, "CONNECT", "", "waypoint"},
		{"connection closed due to connection drain", ztlog.CauseDrain, "", "", "draining"},
		{"something new", ztlog.CauseOther, "", "", ""},
	} {
		h := ztlog.Explain(tc.err)
		if h.Cause != tc.cause || h.Flag != tc.flag || h.Policy != tc.policy || !strings.Contains(h.Text, tc.text) {
			t.Errorf("Explain(%q) = %+v", tc.err, h)
		}
	}
}
