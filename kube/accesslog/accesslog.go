// Package accesslog parses the access log a waypoint's Envoy writes to its
// istio-proxy container, in the two encodings Istio configures: the
// default TEXT format (meshConfig.accessLogEncoding unset or TEXT, with
// Istio's default accessLogFormat) and JSON (accessLogEncoding=JSON, with
// Istio's default JSON keys). It does no I/O and never panics: a line is
// cut at MaxLineBytes before it is read, every string it returns is safe
// to print (kube/safe), and what it cannot read is FormatUnknown with the
// line kept whole.
package accesslog

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ambx/ambx/kube/safe"
)

// MaxLineBytes bounds what one line may hold: Envoy's default line is a
// few hundred bytes, a long URL or user agent a few KiB.
const MaxLineBytes = 16 << 10

// Format is the encoding a line was written in.
type Format uint8

// Formats.
const (
	FormatUnknown Format = iota // not an access line (pilot-agent's own log, garbage)
	FormatText                  // Istio's default TEXT accessLogFormat
	FormatJSON                  // accessLogEncoding=JSON
)

var formatNames = [...]string{"unknown", "text", "json"}

// String names the format.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "unknown"
}

// Entry is one access-log line. Fields Envoy wrote as "-" (or JSON null)
// are empty; numbers it did not write are -1.
type Entry struct {
	Raw    string // the line as read, safe to print, cut at MaxLineBytes
	Format Format
	Time   time.Time // %START_TIME%

	Method, Path, Protocol string
	// Code is %RESPONSE_CODE%; 0 when Envoy sent no response (a reset)
	// and -1 when the line has none.
	Code int
	// Flags is %RESPONSE_FLAGS% as Envoy joins them ("UH", "UF,URX").
	Flags            string
	Details          string // %RESPONSE_CODE_DETAILS%: via_upstream, rbac_access_denied_matched_policy[…]
	Termination      string // %CONNECTION_TERMINATION_DETAILS%
	TransportFailure string // %UPSTREAM_TRANSPORT_FAILURE_REASON%

	BytesReceived, BytesSent int64
	Duration                 time.Duration // %DURATION%; valid when HasDuration
	HasDuration              bool
	UpstreamServiceTime      string // x-envoy-upstream-service-time, ms as written

	ForwardedFor, UserAgent, RequestID, Authority string
	UpstreamHost, UpstreamCluster, UpstreamLocal  string
	DownstreamLocal, DownstreamRemote             string
	ServerName, Route                             string

	// Truncated is how many bytes of an over-long line were dropped.
	Truncated int
}

// Parse reads one line, with or without its newline. A prefix a log
// collector or `kubectl logs --timestamps` puts before the line is
// skipped.
func Parse(line string) Entry {
	line = strings.TrimRight(line, "\r\n")
	e := Entry{Code: -1, BytesReceived: -1, BytesSent: -1}
	if len(line) > MaxLineBytes {
		e.Truncated = len(line) - MaxLineBytes
		line = strings.Clone(line[:MaxLineBytes])
	}
	e.Raw = safe.Line(line)
	body := strings.TrimLeft(line, " \t")
	if !startsAccess(body) {
		// kubectl logs --timestamps and collectors put one token first.
		if i := strings.IndexAny(body, " \t"); i > 0 {
			body = strings.TrimLeft(body[i:], " \t")
		}
	}
	switch {
	case strings.HasPrefix(body, "{"):
		if parseJSON(body, &e) {
			e.Format = FormatJSON
		}
	case strings.HasPrefix(body, "["):
		if parseText(body, &e) {
			e.Format = FormatText
		}
	}
	if e.Format == FormatUnknown {
		return Entry{Raw: e.Raw, Code: -1, BytesReceived: -1, BytesSent: -1, Truncated: e.Truncated}
	}
	return e
}

func startsAccess(s string) bool { return strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") }

// The positions of Istio's default TEXT format (its EnvoyTextLogFormat):
//
//	[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
//	%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
//	"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
//	%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//	"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER%
//	%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
//	%REQUESTED_SERVER_NAME% %ROUTE_NAME%
const (
	tStart = iota
	tRequest
	tCode
	tFlags
	tDetails
	tTermination
	tTransport
	tReceived
	tSent
	tDuration
	tServiceTime
	tXFF
	tUserAgent
	tRequestID
	tAuthority
	tUpstreamHost
	tUpstreamCluster
	tUpstreamLocal
	tDownstreamLocal
	tDownstreamRemote
	tServerName
	tRoute
	tCount
)

// quoted lists the positions Envoy's format wraps in double quotes.
var quoted = [tCount]bool{tRequest: true, tTransport: true, tXFF: true, tUserAgent: true, tRequestID: true, tAuthority: true, tUpstreamHost: true}

// parseText splits the line by the default format's positions. Envoy
// does not escape quotes inside a quoted value, so a quoted value ends at
// the first quote followed by a space or the end of the line.
func parseText(s string, e *Entry) bool {
	var tok [tCount]string
	n := 0
	for n < tCount {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		switch {
		case n == tStart:
			end := strings.IndexByte(s, ']')
			if s[0] != '[' || end < 0 {
				return false
			}
			tok[n], s = s[1:end], s[end+1:]
		case quoted[n]:
			if s[0] != '"' {
				return false
			}
			end := closingQuote(s)
			tok[n], s = s[1:end], s[min(end+1, len(s)):]
		default:
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			tok[n], s = s[:end], s[end:]
		}
		n++
	}
	// Everything up to the duration, or it is not Istio's format.
	if n <= tDuration {
		return false
	}
	code, ok := number(tok[tCode])
	if !ok {
		return false
	}
	e.Code = int(min(code, 999))
	if t, err := time.Parse(time.RFC3339Nano, tok[tStart]); err == nil {
		e.Time = t
	}
	req := strings.Fields(tok[tRequest])
	if len(req) >= 3 {
		e.Method, e.Protocol = field(req[0]), field(req[len(req)-1])
		e.Path = field(strings.Join(req[1:len(req)-1], " "))
	} else if len(req) > 0 {
		e.Method = field(req[0])
	}
	e.Flags, e.Details, e.Termination = field(tok[tFlags]), field(tok[tDetails]), field(tok[tTermination])
	e.TransportFailure = field(tok[tTransport])
	e.BytesReceived = numberOr(tok[tReceived])
	e.BytesSent = numberOr(tok[tSent])
	if ms, ok := number(tok[tDuration]); ok {
		e.Duration, e.HasDuration = time.Duration(min(ms, int64(1<<62)/int64(time.Millisecond)))*time.Millisecond, true
	}
	e.UpstreamServiceTime = field(tok[tServiceTime])
	e.ForwardedFor, e.UserAgent, e.RequestID = field(tok[tXFF]), field(tok[tUserAgent]), field(tok[tRequestID])
	e.Authority, e.UpstreamHost, e.UpstreamCluster = field(tok[tAuthority]), field(tok[tUpstreamHost]), field(tok[tUpstreamCluster])
	e.UpstreamLocal, e.DownstreamLocal, e.DownstreamRemote = field(tok[tUpstreamLocal]), field(tok[tDownstreamLocal]), field(tok[tDownstreamRemote])
	e.ServerName, e.Route = field(tok[tServerName]), field(tok[tRoute])
	return true
}

// closingQuote is the index of the quote ending the value s opens, or
// len(s) when it is never closed.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		if s[i] == '"' && (i+1 == len(s) || s[i+1] == ' ') {
			return i
		}
	}
	return len(s)
}

// field is a value as the view shows it: "-" is Envoy's empty.
func field(s string) string {
	if s == "-" {
		return ""
	}
	return safe.Line(s)
}

func number(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func numberOr(s string) int64 {
	if n, ok := number(s); ok {
		return n
	}
	return -1
}

// jsonKeys maps the keys of Istio's default JSON format (and the header
// spellings a custom JSON format commonly uses) to the entry's fields.
var jsonKeys = map[string]func(e *Entry, v json.RawMessage){
	"start_time": func(e *Entry, v json.RawMessage) {
		if t, err := time.Parse(time.RFC3339Nano, jsonString(v)); err == nil {
			e.Time = t
		}
	},
	"method":   func(e *Entry, v json.RawMessage) { e.Method = jsonField(v) },
	"path":     func(e *Entry, v json.RawMessage) { e.Path = jsonField(v) },
	"protocol": func(e *Entry, v json.RawMessage) { e.Protocol = jsonField(v) },
	"response_code": func(e *Entry, v json.RawMessage) {
		if n, ok := jsonNumber(v); ok {
			e.Code = int(min(n, 999))
		}
	},
	"response_flags":                    func(e *Entry, v json.RawMessage) { e.Flags = jsonField(v) },
	"response_code_details":             func(e *Entry, v json.RawMessage) { e.Details = jsonField(v) },
	"connection_termination_details":    func(e *Entry, v json.RawMessage) { e.Termination = jsonField(v) },
	"upstream_transport_failure_reason": func(e *Entry, v json.RawMessage) { e.TransportFailure = jsonField(v) },
	"bytes_received": func(e *Entry, v json.RawMessage) {
		if n, ok := jsonNumber(v); ok {
			e.BytesReceived = n
		}
	},
	"bytes_sent": func(e *Entry, v json.RawMessage) {
		if n, ok := jsonNumber(v); ok {
			e.BytesSent = n
		}
	},
	"duration": func(e *Entry, v json.RawMessage) {
		if n, ok := jsonNumber(v); ok {
			e.Duration, e.HasDuration = time.Duration(min(n, int64(1<<62)/int64(time.Millisecond)))*time.Millisecond, true
		}
	},
	"upstream_service_time":     func(e *Entry, v json.RawMessage) { e.UpstreamServiceTime = jsonField(v) },
	"x_forwarded_for":           func(e *Entry, v json.RawMessage) { e.ForwardedFor = jsonField(v) },
	"user_agent":                func(e *Entry, v json.RawMessage) { e.UserAgent = jsonField(v) },
	"request_id":                func(e *Entry, v json.RawMessage) { e.RequestID = jsonField(v) },
	"authority":                 func(e *Entry, v json.RawMessage) { e.Authority = jsonField(v) },
	"upstream_host":             func(e *Entry, v json.RawMessage) { e.UpstreamHost = jsonField(v) },
	"upstream_cluster":          func(e *Entry, v json.RawMessage) { e.UpstreamCluster = jsonField(v) },
	"upstream_local_address":    func(e *Entry, v json.RawMessage) { e.UpstreamLocal = jsonField(v) },
	"downstream_local_address":  func(e *Entry, v json.RawMessage) { e.DownstreamLocal = jsonField(v) },
	"downstream_remote_address": func(e *Entry, v json.RawMessage) { e.DownstreamRemote = jsonField(v) },
	"requested_server_name":     func(e *Entry, v json.RawMessage) { e.ServerName = jsonField(v) },
	"route_name":                func(e *Entry, v json.RawMessage) { e.Route = jsonField(v) },
}

var jsonAliases = map[string]string{
	":authority": "authority", "user-agent": "user_agent", "x-forwarded-for": "x_forwarded_for",
	"x-request-id": "request_id", "x-envoy-origin-path": "path", "x-envoy-upstream-service-time": "upstream_service_time",
}

// parseJSON reads one JSON object; it is an access line when it carries a
// response code or a start time beside a method or byte count, so a
// pilot-agent JSON log line is not taken for one.
func parseJSON(s string, e *Entry) bool {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&obj); err != nil {
		return false
	}
	seen := 0
	for k, v := range obj {
		if a, ok := jsonAliases[k]; ok {
			k = a
		}
		if set, ok := jsonKeys[k]; ok {
			set(e, v)
			seen++
		}
	}
	_, code := obj["response_code"]
	_, start := obj["start_time"]
	return seen >= 3 && (code || start)
}

func jsonString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if t := bytes.TrimSpace(v); len(t) > 0 && t[0] != '"' && !bytes.Equal(t, []byte("null")) {
		return string(t) // a number or bool where a string was expected
	}
	return ""
}

func jsonField(v json.RawMessage) string { return field(jsonString(v)) }

func jsonNumber(v json.RawMessage) (int64, bool) {
	var f json.Number
	if err := json.Unmarshal(v, &f); err != nil {
		s := jsonString(v)
		return number(s)
	}
	if n, err := f.Int64(); err == nil && n >= 0 {
		return n, true
	}
	if x, err := f.Float64(); err == nil && x >= 0 {
		return int64(min(x, 1<<62)), true
	}
	return 0, false
}

// Service is the Service the waypoint sent the request to, read from its
// upstream cluster (inbound-vip|8000|http|httpbin.default.svc.cluster.local,
// or outbound|8000||httpbin.default.svc.cluster.local) as "name.namespace";
// "" when the cluster names none.
func (e *Entry) Service() string {
	c := e.UpstreamCluster
	i := strings.LastIndexByte(c, '|')
	if i < 0 {
		return ""
	}
	host := c[i+1:]
	name, rest, ok := strings.Cut(host, ".")
	if !ok {
		return ""
	}
	ns, _, _ := strings.Cut(rest, ".")
	if name == "" || ns == "" {
		return ""
	}
	return name + "." + ns
}

// UpstreamIP is the address the waypoint forwarded to: a pod IP, also
// inside the envoy://connect_originate/<ip:port> a waypoint writes for
// its HBONE hop.
func (e *Entry) UpstreamIP() (netip.Addr, bool) { return addrOf(e.UpstreamHost) }

// ClientIP is the downstream peer: the client ztunnel forwarded for.
func (e *Entry) ClientIP() (netip.Addr, bool) { return addrOf(e.DownstreamRemote) }

func addrOf(s string) (netip.Addr, bool) {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// Failed reports whether the request failed: a 5xx, no response at all
// to an HTTP request, a 4xx the proxy itself sent (a denial, no route), or
// response flags. A TCP connection has code 0 and no method.
func (e *Entry) Failed() bool {
	switch {
	case e.Code == 0 && e.Method != "", e.Code >= 500:
		return true
	case e.Code >= 400:
		return e.Details != "" && e.Details != "via_upstream"
	}
	return e.Flags != ""
}

// Hint explains a failed line: which policy denied it, or what the
// response flags mean, in words a person debugging a call wants. "" when
// there is nothing to explain.
func (e *Entry) Hint() string {
	if p, ok := strings.CutPrefix(e.Details, "rbac_access_denied_matched_policy["); ok {
		p = strings.TrimSuffix(p, "]")
		if p == "none" {
			return "denied by the waypoint: ALLOW policies apply and none matched (AuthorizationPolicy targetRefs)"
		}
		ns, name, rule := bracket(p, "ns["), bracket(p, "policy["), bracket(p, "rule[")
		if ns != "" && name != "" {
			return "denied by the waypoint's AuthorizationPolicy " + ns + "/" + name + " (rule " + rule + ")"
		}
		return "denied by the waypoint's AuthorizationPolicy " + p
	}
	if strings.HasPrefix(e.Details, "ext_authz") {
		return "denied by the external authorizer (CUSTOM AuthorizationPolicy)"
	}
	var out []string
	for _, f := range strings.Split(e.Flags, ",") {
		if h, ok := flagHints[f]; ok {
			out = append(out, f+": "+h)
		}
	}
	if e.TransportFailure != "" {
		out = append(out, "upstream TLS: "+e.TransportFailure)
	}
	return strings.Join(out, "; ")
}

func bracket(s, open string) string {
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	if j := strings.IndexByte(s, ']'); j >= 0 {
		return s[:j]
	}
	return s
}

// flagHints are Envoy's response flags (its access-log docs), in the
// words that point at a cause.
var flagHints = map[string]string{
	"UH":    "no healthy upstream (the Service has no ready endpoints)",
	"UF":    "upstream connection failure",
	"UO":    "upstream overflow (circuit breaker)",
	"NR":    "no route for the request",
	"URX":   "upstream retry limit exceeded",
	"NC":    "no upstream cluster",
	"DT":    "request or connection max duration exceeded",
	"DC":    "downstream connection terminated",
	"LH":    "local health check failed",
	"UT":    "upstream request timeout",
	"LR":    "connection reset locally",
	"UR":    "upstream reset the connection",
	"UC":    "upstream connection terminated",
	"DI":    "delayed by fault injection",
	"FI":    "aborted by fault injection",
	"RL":    "rate limited locally",
	"UAEX":  "denied by the external authorizer",
	"RLSE":  "rate limit service error",
	"IH":    "strict header validation rejected the request",
	"SI":    "stream idle timeout",
	"DPE":   "downstream protocol error",
	"UPE":   "upstream protocol error",
	"UMSDR": "upstream max stream duration reached",
	"OM":    "overload manager",
	"DF":    "DNS resolution failed",
}
