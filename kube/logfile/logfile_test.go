package logfile_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ambx/ambx/kube/logfile"
	"github.com/ambx/ambx/kube/safe/hostile"
)

// testdata/ztunnel.log holds lines of ztunnel-log-samples.txt (shared
// samples: istio/ztunnel#1229, istio/istio#52208, istio/ztunnel#691, PR
// #1238) in the Istio, aggregator-prefixed, legacy and JSON formats.
func TestTextColumns(t *testing.T) {
	var out bytes.Buffer
	if err := logfile.Run(logfile.Options{Path: "testdata/ztunnel.log"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`2024-07-26T17:18:00.953004Z error access out default/shell-56bd5dbdbf-gz6cq@10.244.0.9:58592 -> default/echo-66d88ff694-pnk6h@10.244.0.10:15008 (tunnel to 10.244.0.10:80) service=echo.default.svc.cluster.local sent=0 recv=0 dur=10002ms error="connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed"`,
		`    hint: HBONE connect timed out: a NetworkPolicy (or firewall) likely drops port 15008 into the destination pod [NETWORK_POLICY]`,
		`ztunnel-mvfd2 | 2024-08-10T15:27:16.336616Z info  inpod::statemanager pod received, starting proxy uid="3336f814-b191-4b56-9742-952fc1f64cc0" name="gitea-redis-cluster-1" namespace="gitea"`,
		`2023-09-25T17:36:07.718892Z warn  proxy::outbound{proxy{uid=ffc376a2-6bfa-42ad-9e3c-684cdc6b3d54}:outbound{id=9b33a9eb333bb12d3a2bb49178eb24d3}} out dur=8ms "failed" error="http status: 401 Unauthorized"`,
		`    hint: the remote end rejected the HBONE CONNECT (401 Unauthorized); on an older inbound ztunnel 401 means an AuthorizationPolicy denied it [CONNECT]`,
		`2024-07-29T17:22:14.958433Z warn  xds::client XDS client connection error`,
		`? Defaulted container "istio-proxy" out of: istio-proxy`,
	}
	got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(got), out.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

func TestJSON(t *testing.T) {
	in, _ := os.ReadFile("testdata/ztunnel.log")
	var out bytes.Buffer
	if err := logfile.Run(logfile.Options{Path: "-", JSON: true}, bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	var entries []logfile.Entry
	if err := json.Unmarshal(out.Bytes(), &entries); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(entries) != 5 {
		t.Fatalf("%d entries", len(entries))
	}
	e := entries[0]
	if !e.Access || e.Conn == nil || e.Conn.DstWorkload != "echo-66d88ff694-pnk6h" || !e.Conn.HBONE || *e.Conn.DurationMS != 10002 ||
		e.Hint == nil || e.Hint.Cause != "network-policy" || e.Hint.Flag != "NETWORK_POLICY" {
		t.Errorf("first entry %+v conn %+v hint %+v", e, e.Conn, e.Hint)
	}
	if entries[1].Source != "ztunnel-mvfd2" || entries[2].Format != "legacy" || entries[3].Format != "json" || entries[4].Format != "unknown" {
		t.Errorf("sources and formats: %+v", entries)
	}
	var empty bytes.Buffer
	if err := logfile.Run(logfile.Options{JSON: true}, strings.NewReader(""), &empty); err != nil || strings.TrimSpace(empty.String()) != "[]" {
		t.Errorf("no lines: %q, %v", empty.String(), err)
	}
}

// Hostile lines come out as text with no control character, and as JSON
// that is still valid and still has none.
func TestHostileLines(t *testing.T) {
	in := strings.Join(hostile.LogLines(), "\n") + "\n"
	for _, js := range []bool{false, true} {
		var out bytes.Buffer
		if err := logfile.Run(logfile.Options{JSON: js}, strings.NewReader(in), &out); err != nil {
			t.Fatal(err)
		}
		hostile.Check(t, "ambx logs", out.String())
		if js {
			var v []any
			n := 0 // a payload's newline splits its line in two
			for _, l := range strings.Split(in, "\n") {
				if strings.TrimSpace(l) != "" {
					n++
				}
			}
			if err := json.Unmarshal(out.Bytes(), &v); err != nil || len(v) != n {
				t.Errorf("hostile JSON: %d entries, %v", len(v), err)
			}
		}
	}
}

func TestRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.log")
	os.Symlink("/dev/zero", zero)
	for _, tc := range []struct{ path, want string }{
		{fifo, "named pipe"},
		{zero, "device"},
		{dir, "directory"},
		{filepath.Join(dir, "missing.log"), "no such file"},
	} {
		err := logfile.Run(logfile.Options{Path: tc.path}, nil, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.path, err, tc.want)
		}
	}
}

// A huge line costs MaxLineBytes and says it was cut; the next line is
// read whole.
func TestLongLine(t *testing.T) {
	in := "2024-05-04T09:59:05.028709Z\tinfo\tapp\tx " + strings.Repeat("=", 1<<20) + "\n2024-05-04T09:59:06.028709Z\tinfo\tapp\tafter\n"
	var out bytes.Buffer
	if err := logfile.Run(logfile.Options{}, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 2 || len(lines[0]) > 9<<10 || !strings.Contains(lines[0], "line cut") || !strings.HasSuffix(lines[1], "app after") {
		t.Errorf("got %d lines, first %d bytes ending %q", len(lines), len(lines[0]), lines[0][max(0, len(lines[0])-60):])
	}
}
