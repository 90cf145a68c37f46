// Package hostile builds inputs an attacker controls, for tests: a demo
// cluster whose every string carries terminal escape sequences and line
// breaks, and ztunnel log lines that carry them raw, JSON-escaped and in
// ztunnel's own escaped form. Check asserts that rendered output holds no
// control character a terminal would act on.
package hostile

import (
	"hash/fnv"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/usage"
)

// Payloads are what an attacker puts in a name, annotation or message.
var Payloads = []string{
	"\x1b]52;c;cHduZWQ=\x07",                               // OSC 52: set the clipboard
	"\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", // OSC 8 hyperlink
	"\x1b[31;8mconcealed\x1b[0m",                           // colour and concealed text
	"\rallowed",                                            // overwrite the line so far
	"\nfake row",                                           // push the layout down
	"\u009b2J",                                             // C1 CSI: clear the screen
	"\xff\xfe\x9b",                                         // stray bytes
	"\u202edeined\u2066",                                   // bidi reordering
	"\x1bP+q544e\x1b\\",                                    // DCS request
	"\t\x00\x07\x08\x7f",                                   // other C0 and DEL
	"\x1b[2;1H\x1b[K",                                      // move the cursor, erase
	"\u2028\u200b\ufeff",                                   // separators and zero-width
}

// Pick returns the payload for s: the same original string always gets the
// same payload, so names that refer to each other still match.
func Pick(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return Payloads[h.Sum32()%uint32(len(Payloads))]
}

// Mutate appends a payload to every exported string reachable from v (a
// pointer), map values included. Label maps and selectors keep their
// values unless all is set, so enrollment, binding and selection still
// happen and the analysis has hostile names to report.
func Mutate(v any, all bool) {
	walk(reflect.ValueOf(v), all, "")
}

var kept = map[string]bool{"Labels": true, "MatchLabels": true, "Selector": true}

func walk(v reflect.Value, all bool, field string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), all, field)
		}
	case reflect.Struct:
		t := v.Type()
		if t == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				walk(v.Field(i), all, t.Field(i).Name)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), all, field)
		}
	case reflect.Map:
		if v.IsNil() || !all && kept[field] {
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			walk(e, all, field)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() {
			s := v.String()
			v.SetString(s + Pick(s))
		}
	}
}

// Snapshot is the demo cluster with hostile strings everywhere (all) or
// everywhere but labels and selectors, hostile API error text for some
// resources, and a hostile context name.
func Snapshot(all bool) *kube.Snapshot {
	c := demo.Objects(demo.Epoch)
	Mutate(c, all)
	s := kube.Build(*c, demo.Epoch)
	s.Context = "homelab" + Payloads[0]
	s.Reachable = true
	s.Taken = demo.Epoch
	s.Resources = map[kube.Resource]kube.ResourceState{}
	for i, r := range kube.Resources {
		st := kube.ResourceState{Availability: kube.Available}
		if all && i%3 == 1 {
			st = kube.ResourceState{Availability: kube.Failing, Detail: "list failed: " + Payloads[i%len(Payloads)] + " from server"}
		}
		s.Resources[r] = st
	}
	return s
}

// Unreachable is a snapshot whose API error text is hostile.
func Unreachable() *kube.Snapshot {
	s := Snapshot(false)
	s.Reachable = false
	s.Problem = "dial tcp: " + Payloads[4] + Payloads[0] + " refused"
	return s
}

// Usage is metrics for the hostile snapshot, node names and problem text
// included.
func Usage(s *kube.Snapshot) *usage.Usage {
	u := &usage.Usage{Taken: demo.Epoch, Available: true, Problem: "stale " + Payloads[3],
		Pods: map[ambient.Key]usage.Resources{}, Nodes: map[string]usage.Resources{}}
	for i, p := range s.Pods {
		u.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}] = usage.Resources{CPUMilli: int64(3 + i%40), MemBytes: int64(20+i%9) << 20}
	}
	for _, n := range s.Nodes {
		u.Nodes[n.Name] = usage.Resources{CPUMilli: 500, MemBytes: 2 << 30}
	}
	return u
}

// LogLines are ztunnel lines an attacker can shape: a workload or error
// text in every format, raw, JSON-escaped (which the decoder turns into raw
// bytes) and in ztunnel's Rust-escaped form.
func LogLines() []string {
	var out []string
	for i, p := range Payloads {
		ts := demo.Epoch.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000000Z")
		rust := rustEscape(p)
		js := jsonEscape(p)
		out = append(out,
			ts+"\terror\taccess\tconnection complete\tsrc.addr=10.244.4.16:48891 src.workload=\"promtail"+rust+"\" src.namespace=\"loki\" dst.addr=10.244.2.12:15008 dst.hbone_addr=10.244.2.12:3100 dst.workload=\"loki-0"+rust+"\" dst.namespace=\"loki\" direction=\"outbound\" bytes_sent=0 bytes_recv=0 duration=\"10002ms\" error=\"connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: "+rust+"\"",
			ts+"\tinfo\taccess\tconnection complete\tsrc.addr=10.244.4.16:48891 src.workload=promtail"+p+" dst.addr=10.244.2.12:15008 dst.service=loki"+p+" direction=\"outbound\"",
			ts+"\twarn\txds::client:xds{id="+p+"}\tXDS client connection error: "+p,
			`{"level":"error","time":"`+ts+`","scope":"access","message":"connection complete","src.workload":"a`+js+`","dst.addr":"10.244.2.12:15008","direction":"outbound","error":"tls error: `+js+`"}`,
			ts+"  \x1b[31mERROR\x1b[0m proxy{uid="+p+"}: ztunnel::proxy::outbound: failed dur=1ms err="+p,
			"ztunnel-x"+p+" "+ts+"\tinfo\tapp\tstarting "+p,
			"not a log line "+p,
			ts+"\t"+p+"\tapp\tlevel slot",
		)
	}
	return out
}

func rustEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r >= 0x7f && r <= 0x9f || unicode.Is(unicode.Cf, r):
			b.WriteString(`\u{` + strings.TrimLeft(hex(r), "0") + `}`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func jsonEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\ufffd`)
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u00` + hex(r)[6:])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hex(r rune) string {
	const d = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = d[r&15]
		r >>= 4
	}
	return string(b[:])
}

// Check fails t when out holds anything a terminal would act on: a C0
// control other than a line feed, DEL, a C1 control, a bidirectional or
// invisible format character, a line or paragraph separator, or bytes that
// are not UTF-8. Render with theme.Plain, which adds no escape codes, so
// any ESC in out was injected. With styled themes call CheckStyled.
func Check(t testing.TB, what, out string) {
	t.Helper()
	check(t, what, out, out)
}

// CheckStyled is Check for output drawn with a colour theme: SGR sequences
// (ESC [ params m) are the theme's and are removed first; anything else
// is reported.
func CheckStyled(t testing.TB, what, out string) {
	t.Helper()
	check(t, what, stripSGR(out), out)
}

func check(t testing.TB, what, s, orig string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s: output is not UTF-8: %q", what, excerpt(orig, strings.IndexRune(s, utf8.RuneError)))
		return
	}
	for i, r := range s {
		bad := r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f ||
			unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
		if bad {
			t.Errorf("%s: control %U reaches the terminal: %q", what, r, excerpt(s, i))
			return
		}
	}
}

func excerpt(s string, i int) string {
	lo, hi := max(0, i-60), min(len(s), i+60)
	return s[lo:hi]
}

func stripSGR(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';' || s[j] == ':') {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
