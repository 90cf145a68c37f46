package accesslog_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/accesslog"
	"github.com/ambx/ambx/kube/safe"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// Real lines (testdata/README.md names their sources) and lines written in
// Istio's default format, parsed field by field.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, file, line string
		want             accesslog.Entry
		service, hint    string
		failed           bool
	}{
		{name: "waypoint GET through HBONE", file: "waypoint.log", service: "httpbin.default", want: accesslog.Entry{
			Format: accesslog.FormatText, Time: time.Date(2025, 4, 1, 7, 36, 47, 565e6, time.UTC),
			Method: "GET", Path: "/get", Protocol: "HTTP/1.1", Code: 200, Details: "via_upstream",
			BytesReceived: 0, BytesSent: 369, Duration: ms(7), HasDuration: true, UpstreamServiceTime: "7",
			UserAgent: "curl/8.12.1", RequestID: "cd38105b-41ad-46de-9cae-d440d131d453", Authority: "httpbin:8000",
			UpstreamHost: "envoy://connect_originate/10.244.3.16:8080", UpstreamCluster: "inbound-vip|8000|http|httpbin.default.svc.cluster.local",
			UpstreamLocal: "envoy://internal_client_address/", DownstreamLocal: "10.96.81.28:8000", DownstreamRemote: "10.244.1.16:37736", Route: "default"}},
		{name: "istio.io's teapot", file: "istio-docs.log", service: "httpbin.foo", want: accesslog.Entry{
			Format: accesslog.FormatText, Time: time.Date(2020, 11, 25, 21, 26, 18, 409e6, time.UTC),
			Method: "GET", Path: "/status/418", Protocol: "HTTP/1.1", Code: 418, Details: "via_upstream",
			BytesReceived: 0, BytesSent: 135, Duration: ms(4), HasDuration: true, UpstreamServiceTime: "4",
			UserAgent: "curl/7.73.0-DEV", RequestID: "84961386-6d84-929d-98bd-c5aee93b5c88", Authority: "httpbin:8000",
			UpstreamHost: "10.44.1.27:80", UpstreamCluster: "outbound|8000||httpbin.foo.svc.cluster.local",
			UpstreamLocal: "10.44.1.23:37652", DownstreamLocal: "10.0.45.184:8000", DownstreamRemote: "10.44.1.23:46520", Route: "default"}},
		{name: "sidecar inbound with X-Forwarded-For", file: "sidecar-inbound.log", want: accesslog.Entry{
			Format: accesslog.FormatText, Time: time.Date(2022, 4, 18, 12, 9, 44, 91e6, time.UTC),
			Method: "POST", Path: "/sentiment", Protocol: "HTTP/1.1", Code: 200, Details: "via_upstream",
			BytesReceived: 32, BytesSent: 46, Duration: ms(5), HasDuration: true, UpstreamServiceTime: "5",
			ForwardedFor: "10.244.0.6", UserAgent: "curl/7.74.0", RequestID: "bfb9e6e5-2968-9b25-b256-f0917aa6b0bb", Authority: "localhost:8080",
			UpstreamHost: "10.244.0.16:8080", UpstreamCluster: "inbound|8080||", UpstreamLocal: "127.0.0.6:51819",
			DownstreamLocal: "10.244.0.16:8080", DownstreamRemote: "10.244.0.6:0", ServerName: "outbound_.80_._.sa-webapp.demo.svc.cluster.local", Route: "default"}},
		{name: "JSON with Istio's keys and nulls", file: "json-bookinfo.log", service: "reviews.default", want: accesslog.Entry{
			Format: accesslog.FormatJSON, Time: time.Date(2021, 8, 29, 10, 19, 39, 660e6, time.UTC),
			Method: "GET", Path: "/reviews/0", Protocol: "HTTP/1.1", Code: 200, Details: "via_upstream",
			BytesReceived: 0, BytesSent: 295, Duration: ms(8), HasDuration: true, UpstreamServiceTime: "8",
			UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.131 Safari/537.36",
			RequestID: "6f867212-d7cf-4c68-9468-6fbc5f927335", Authority: "reviews:9080",
			UpstreamHost: "10.1.0.227:9080", UpstreamCluster: "outbound|9080||reviews.default.svc.cluster.local", UpstreamLocal: "10.1.0.223:34460",
			DownstreamLocal: "10.110.231.110:9080", DownstreamRemote: "10.1.0.223:42980", Route: "default"}},
		{name: "JSON 503 with UC", file: "json-503-uc.log", failed: true, hint: "UC: upstream connection terminated", want: accesslog.Entry{
			Format: accesslog.FormatJSON, Time: time.Date(2021, 12, 7, 8, 37, 28, 358e6, time.UTC),
			Method: "PUT", Path: "/chang/reproduce503/round1/random300M_1", Protocol: "HTTP/2", Code: 503, Flags: "UC",
			Details: "upstream_reset_before_response_started{connection_termination}", BytesReceived: 268435456, BytesSent: 95,
			Duration: ms(1441), HasDuration: true, UserAgent: "curl/7.58.0", RequestID: "d0784d05-2b65-4121-b309-a28fe69c91b0"}},
		{name: "JSON with header-named keys", file: "json-header-keys.log", want: accesslog.Entry{
			Format: accesslog.FormatJSON, Time: time.Date(2025, 4, 9, 11, 44, 45, 639e6, time.UTC),
			Method: "GET", Path: "/", Protocol: "HTTP/1.1", Code: 200, Details: "via_upstream",
			BytesReceived: 0, BytesSent: 466, Duration: ms(1), HasDuration: true,
			ForwardedFor: "10.244.0.12", UserAgent: "curl/7.88.1", RequestID: "ab1e4da7-5f1d-45ea-bb4a-fa1ccd03b82b", Authority: "backend:3000",
			UpstreamHost: "10.244.0.13:3000", UpstreamCluster: "httproute/envoy-gateway-system/backend/rule/0", UpstreamLocal: "10.244.0.14:58822",
			DownstreamLocal: "10.244.0.14:3000", DownstreamRemote: "10.244.0.12:34805", Route: "httproute/envoy-gateway-system/backend/rule/0/match/0/backend"}},
		{name: "waypoint RBAC denial, no ALLOW matched", failed: true, service: "httpbin.ambient-apps",
			hint: "denied by the waypoint: ALLOW policies apply and none matched (AuthorizationPolicy targetRefs)",
			line: `[2026-12-01T10:00:00.123Z] "POST /post HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "curl/8.5.0" "6c1f6a0e-8d1e-4c3f-9d0a-2f0e3b8b1a11" "httpbin:8000" "-" inbound-vip|8000|http|httpbin.ambient-apps.svc.cluster.local - 10.96.12.40:8000 10.244.1.7:51234 - -`,
			want: accesslog.Entry{Format: accesslog.FormatText, Time: time.Date(2026, 12, 1, 10, 0, 0, 123e6, time.UTC),
				Method: "POST", Path: "/post", Protocol: "HTTP/1.1", Code: 403, Details: "rbac_access_denied_matched_policy[none]",
				BytesReceived: 0, BytesSent: 19, Duration: 0, HasDuration: true, UserAgent: "curl/8.5.0", RequestID: "6c1f6a0e-8d1e-4c3f-9d0a-2f0e3b8b1a11",
				Authority: "httpbin:8000", UpstreamCluster: "inbound-vip|8000|http|httpbin.ambient-apps.svc.cluster.local",
				DownstreamLocal: "10.96.12.40:8000", DownstreamRemote: "10.244.1.7:51234"}},
		{name: "waypoint DENY policy named", failed: true, service: "httpbin.ambient-apps",
			hint: "denied by the waypoint's AuthorizationPolicy ambient-apps/no-delete (rule 0)",
			line: `[2026-12-01T10:00:01.000Z] "DELETE /anything HTTP/1.1" 403 - rbac_access_denied_matched_policy[ns[ambient-apps]-policy[no-delete]-rule[0]] - "-" 0 19 1 - "-" "curl/8.5.0" "7d2e" "httpbin:8000" "-" inbound-vip|8000|http|httpbin.ambient-apps.svc.cluster.local - 10.96.12.40:8000 10.244.1.7:51240 - -`,
			want: accesslog.Entry{Format: accesslog.FormatText, Time: time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC),
				Method: "DELETE", Path: "/anything", Protocol: "HTTP/1.1", Code: 403, Details: "rbac_access_denied_matched_policy[ns[ambient-apps]-policy[no-delete]-rule[0]]",
				BytesReceived: 0, BytesSent: 19, Duration: ms(1), HasDuration: true, UserAgent: "curl/8.5.0", RequestID: "7d2e",
				Authority: "httpbin:8000", UpstreamCluster: "inbound-vip|8000|http|httpbin.ambient-apps.svc.cluster.local",
				DownstreamLocal: "10.96.12.40:8000", DownstreamRemote: "10.244.1.7:51240"}},
		{name: "no healthy upstream", failed: true, hint: "UH: no healthy upstream (the Service has no ready endpoints)",
			line:    `[2026-12-01T10:00:02.000Z] "GET / HTTP/1.1" 503 UH no_healthy_upstream - "-" 0 19 0 - "-" "curl/8.5.0" "8e3f" "example-api:9898" "-" inbound-vip|9898|http|example-api.example-api.svc.cluster.local - 10.96.33.8:9898 10.244.2.9:40110 - default`,
			service: "example-api.example-api",
			want: accesslog.Entry{Format: accesslog.FormatText, Time: time.Date(2026, 12, 1, 10, 0, 2, 0, time.UTC),
				Method: "GET", Path: "/", Protocol: "HTTP/1.1", Code: 503, Flags: "UH", Details: "no_healthy_upstream",
				BytesReceived: 0, BytesSent: 19, Duration: 0, HasDuration: true, UserAgent: "curl/8.5.0", RequestID: "8e3f",
				Authority: "example-api:9898", UpstreamCluster: "inbound-vip|9898|http|example-api.example-api.svc.cluster.local",
				DownstreamLocal: "10.96.33.8:9898", DownstreamRemote: "10.244.2.9:40110", Route: "default"}},
		{name: "TCP through a waypoint: no request line",
			line:    `[2026-12-01T10:00:03.000Z] "- - -" 0 - - - "-" 1024 2048 350 - "-" "-" "-" "-" "envoy://connect_originate/10.244.2.15:5432" inbound-vip|5432|tcp|db.shop.svc.cluster.local envoy://internal_client_address/ 10.96.5.5:5432 10.244.1.3:33000 - -`,
			service: "db.shop", failed: false,
			want: accesslog.Entry{Format: accesslog.FormatText, Time: time.Date(2026, 12, 1, 10, 0, 3, 0, time.UTC), Code: 0,
				BytesReceived: 1024, BytesSent: 2048, Duration: ms(350), HasDuration: true,
				UpstreamHost: "envoy://connect_originate/10.244.2.15:5432", UpstreamCluster: "inbound-vip|5432|tcp|db.shop.svc.cluster.local",
				UpstreamLocal: "envoy://internal_client_address/", DownstreamLocal: "10.96.5.5:5432", DownstreamRemote: "10.244.1.3:33000"}},
		{name: "kubectl --timestamps prefix", file: "waypoint.log", service: "httpbin.default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := tc.line
			if tc.file != "" {
				line = read(t, tc.file)
			}
			if tc.name == "kubectl --timestamps prefix" {
				want := accesslog.Parse(line)
				got := accesslog.Parse("2025-04-01T07:36:47.566000000Z " + line)
				got.Raw, want.Raw = "", ""
				if got != want {
					t.Fatalf("prefixed line parsed as %+v, want %+v", got, want)
				}
				return
			}
			got := accesslog.Parse(line)
			if got.Raw != strings.TrimRight(line, "\n") {
				t.Errorf("Raw = %q", got.Raw)
			}
			got.Raw = ""
			if got != tc.want {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tc.want)
			}
			if s := got.Service(); s != tc.service {
				t.Errorf("Service() = %q, want %q", s, tc.service)
			}
			if h := got.Hint(); h != tc.hint {
				t.Errorf("Hint() = %q, want %q", h, tc.hint)
			}
			if f := got.Failed(); f != tc.failed {
				t.Errorf("Failed() = %v, want %v", f, tc.failed)
			}
		})
	}
}

// The waypoint's upstream is the pod behind envoy://connect_originate/.
func TestAddresses(t *testing.T) {
	e := accesslog.Parse(read(t, "waypoint.log"))
	if ip, ok := e.UpstreamIP(); !ok || ip.String() != "10.244.3.16" {
		t.Errorf("UpstreamIP = %v %v", ip, ok)
	}
	if ip, ok := e.ClientIP(); !ok || ip.String() != "10.244.1.16" {
		t.Errorf("ClientIP = %v %v", ip, ok)
	}
}

// What is not an access line is FormatUnknown, kept whole: pilot-agent's
// own log, Envoy's startup lines, a JSON log line of another kind.
func TestNotAccessLines(t *testing.T) {
	for _, line := range []string{
		"2025-04-01T07:30:00.000000Z\tinfo\tEnvoy proxy is ready",
		"2025-04-01T07:29:58.101230Z\tinfo\txdsproxy\tconnected to delta upstream XDS server: istiod.istio-system.svc:15012\tid=1",
		`{"level":"info","time":"2025-04-01T07:30:00.000000Z","msg":"Envoy proxy is ready"}`,
		`[2025-04-01 07:30:00.000][15][warning][config] [source/extensions/config_subscription/grpc/grpc_stream.h:193] StreamAggregatedResources gRPC config stream to xds-grpc closed`,
		"[", "[]", `[x] "`, `{`, `{"response_code":`, "",
	} {
		e := accesslog.Parse(line)
		if e.Format != accesslog.FormatUnknown || e.Raw != safe.Line(line) || e.Code != -1 {
			t.Errorf("Parse(%q) = %+v, want unknown with the line kept", line, e)
		}
	}
}

// Hostile lines: control characters never reach a field, a quote inside
// a quoted value does not shift the fields before it, an endless line is
// cut, absurd numbers are clamped.
func TestHostile(t *testing.T) {
	esc := "\x1b]52;c;aGk=\x07\x1b[2J"
	line := `[2026-12-01T10:00:00.000Z] "GET /` + esc + ` HTTP/1.1" 200 - via_upstream - "-" 0 99999999999999999999 99999999999999999 - "-" "evil"` + esc + `" "id" "h` + esc + `" "-" x - - - - -`
	e := accesslog.Parse(line)
	for _, s := range []string{e.Raw, e.Path, e.UserAgent, e.Authority, e.Method} {
		if !safe.Clean(s) {
			t.Errorf("unsafe text %q", s)
		}
	}
	if e.Format != accesslog.FormatText || e.Code != 200 || e.Method != "GET" {
		t.Errorf("hostile line: %+v", e)
	}
	if e.BytesSent != -1 || !e.HasDuration || e.Duration <= 0 {
		t.Errorf("numbers: sent %d duration %v %v", e.BytesSent, e.Duration, e.HasDuration)
	}
	long := `[2026-12-01T10:00:00.000Z] "GET /` + strings.Repeat("a", 1<<20) + ` HTTP/1.1" 200`
	e = accesslog.Parse(long)
	if len(e.Raw) > accesslog.MaxLineBytes || e.Truncated != len(long)-accesslog.MaxLineBytes {
		t.Errorf("long line kept %d bytes, truncated %d", len(e.Raw), e.Truncated)
	}
	j := accesslog.Parse(`{"response_code":1e400,"duration":-5,"bytes_sent":"12","method":"\u001b[31mGET","start_time":"x"}`)
	if j.Format != accesslog.FormatJSON || j.Code != -1 || j.HasDuration || j.BytesSent != 12 || !safe.Clean(j.Method) {
		t.Errorf("hostile JSON: %+v", j)
	}
}

// FuzzParse: no input panics, every string field is safe to print, and
// nothing grows past the line's bound.
func FuzzParse(f *testing.F) {
	for _, n := range []string{"waypoint.log", "istio-docs.log", "sidecar-inbound.log", "json-bookinfo.log", "json-503-uc.log", "json-header-keys.log"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`[x] "a b c" 1 - - - "` + "\x00" + `" 1 1 1`)
	f.Add(`{"response_code":200,"start_time":"2026-01-01T00:00:00Z","method":"\ud800"}`)
	f.Fuzz(func(t *testing.T, line string) {
		e := accesslog.Parse(line)
		for _, s := range []string{e.Raw, e.Method, e.Path, e.Protocol, e.Flags, e.Details, e.Termination, e.TransportFailure,
			e.UpstreamServiceTime, e.ForwardedFor, e.UserAgent, e.RequestID, e.Authority, e.UpstreamHost, e.UpstreamCluster,
			e.UpstreamLocal, e.DownstreamLocal, e.DownstreamRemote, e.ServerName, e.Route, e.Service(), e.Hint()} {
			if !safe.Clean(s) {
				t.Fatalf("unsafe %q from %q", s, line)
			}
			if len(s) > 4*accesslog.MaxLineBytes {
				t.Fatalf("field of %d bytes", len(s))
			}
		}
		if e.Code > 999 || e.Duration < 0 {
			t.Fatalf("code %d duration %v", e.Code, e.Duration)
		}
	})
}
