package demo

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/ztlog"
)

var ztNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func ztSim(t *testing.T) (*ZtunnelLogSim, []*corev1.Pod) {
	t.Helper()
	pods := Objects(ztNow).Pods
	z := ZtunnelLogs(pods)
	z.Now = func() time.Time { return ztNow }
	z.Interval = 5 * time.Millisecond
	return z, pods
}

// ztunnelOn finds the ztunnel pod that serves the node a workload runs on.
func ztunnelOn(t *testing.T, pods []*corev1.Pod, ns, podPrefix string) logstream.Target {
	t.Helper()
	for _, p := range pods {
		if p.Namespace == ns && strings.HasPrefix(p.Name, podPrefix) {
			plan := logstream.ZtunnelsFor([]*corev1.Pod{p}, pods)
			if len(plan.Targets) != 1 {
				t.Fatalf("no ztunnel for %s: %+v", p.Name, plan)
			}
			return plan.Targets[0]
		}
	}
	t.Fatalf("no pod %s/%s* in the demo", ns, podPrefix)
	return logstream.Target{}
}

func readAll(t *testing.T, z *ZtunnelLogSim, tg logstream.Target, tail int64) []ztlog.Line {
	t.Helper()
	rc, err := z.Open(context.Background(), tg.Namespace, tg.Pod, tg.Container, tail, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	var out []ztlog.Line
	for _, s := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		out = append(out, ztlog.Parse(s))
	}
	return out
}

func TestZtunnelLogsTailIsParsableAccessLog(t *testing.T) {
	z, pods := ztSim(t)
	tg := ztunnelOn(t, pods, "loki", "loki-0")
	lines := readAll(t, z, tg, 300)
	if len(lines) != 300 {
		t.Fatalf("%d lines for a tail of 300", len(lines))
	}
	timeouts := 0
	for i, l := range lines {
		if l.Format != ztlog.FormatPlain || !l.Access() || l.Conn.Direction == ztlog.DirUnknown || l.Conn.SrcWorkload == "" {
			t.Fatalf("line %d is not a full access line: %s", i, l.Raw)
		}
		if i > 0 && l.Time.Before(lines[i-1].Time) {
			t.Fatalf("line %d goes back in time", i)
		}
		if l.Time.After(ztNow) {
			t.Fatalf("history after now: %s", l.Raw)
		}
		if l.Hint().Cause == ztlog.CauseNetworkPolicy {
			timeouts++
			c := l.Conn
			if c.Duration < 10001*time.Millisecond || !c.HBONE() || c.Direction != ztlog.DirOutbound || l.Level != ztlog.LevelError {
				t.Errorf("an HBONE timeout must be an outbound error to 15008 after ~10s: %s", l.Raw)
			}
		}
		// loki-0's own inbound lines can never be the timed-out flows.
		if l.Conn.Direction == ztlog.DirInbound && l.Conn.DstWorkload == "loki-0" {
			t.Errorf("loki-0 received a connection the NetworkPolicy drops: %s", l.Raw)
		}
	}
	if timeouts == 0 {
		t.Error("no promtail → loki HBONE timeout on loki's node")
	}
}

func TestZtunnelLogsRogueClientRejected(t *testing.T) {
	z, pods := ztSim(t)
	in := readAll(t, z, ztunnelOn(t, pods, "ambient-apps", "httpbin"), 400)
	found := false
	for _, l := range in {
		if strings.HasPrefix(l.Conn.SrcWorkload, "rogue-client") {
			found = true
			if h := l.Hint(); h.Cause != ztlog.CauseNoAllowMatch || l.Conn.Direction != ztlog.DirInbound {
				t.Errorf("rogue client on httpbin's node: %s", l.Raw)
			}
		}
		if strings.HasPrefix(l.Conn.SrcWorkload, "sleep") && l.Conn.Error != "" {
			t.Errorf("sleep is allowed: %s", l.Raw)
		}
	}
	if !found {
		t.Error("httpbin's ztunnel never logs the rogue client")
	}
	out := readAll(t, z, ztunnelOn(t, pods, "ambient-apps", "rogue-client"), 400)
	for _, l := range out {
		if strings.HasPrefix(l.Conn.SrcWorkload, "rogue-client") && l.Conn.Direction == ztlog.DirOutbound && l.Conn.Error != "http status: 401 Unauthorized" {
			t.Errorf("the rogue client's side sees its CONNECT refused: %s", l.Raw)
		}
	}
}

func TestZtunnelLogsDeterministic(t *testing.T) {
	z1, pods := ztSim(t)
	z2, _ := ztSim(t)
	tg := ztunnelOn(t, pods, "default", "grafana")
	a, b := readAll(t, z1, tg, 50), readAll(t, z2, tg, 50)
	for i := range a {
		if a[i].Raw != b[i].Raw {
			t.Fatalf("line %d differs between runs:\n%s\n%s", i, a[i].Raw, b[i].Raw)
		}
	}
	z2.Seed = 2
	if c := readAll(t, z2, tg, 50); c[0].Raw == a[0].Raw && c[1].Raw == a[1].Raw {
		t.Error("another seed gave the same log")
	}
}

func TestZtunnelLogsFollowUntilCancelled(t *testing.T) {
	z, pods := ztSim(t)
	live := ztNow.Add(time.Hour)
	z.Now = func() time.Time { return live }
	tg := ztunnelOn(t, pods, "loki", "loki-0")
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := z.Open(ctx, tg.Namespace, tg.Pod, tg.Container, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	n := 0
	for n < 5 && sc.Scan() {
		n++
		if l := ztlog.Parse(sc.Text()); n > 2 && !l.Time.Equal(live.Truncate(time.Microsecond)) {
			t.Errorf("live line %d stamped %v, want the clock's %v", n, l.Time, live)
		}
	}
	if n != 5 {
		t.Fatalf("followed %d lines, want history then live lines", n)
	}
	cancel()
	for sc.Scan() {
	}
	if sc.Err() == nil {
		t.Error("cancelling did not end the stream with the context's error")
	}
}

func TestZtunnelLogsThroughLogstream(t *testing.T) {
	z, pods := ztSim(t)
	var selected []*corev1.Pod
	for _, p := range pods {
		if p.Namespace == "loki" && strings.HasPrefix(p.Name, "promtail") {
			selected = append(selected, p)
		}
	}
	plan := logstream.ZtunnelsFor(selected, pods)
	if len(plan.Targets) < 2 || len(plan.Missing) != 0 {
		t.Fatalf("promtail runs on every node: plan %+v", plan)
	}
	s := logstream.Start(context.Background(), z, plan, logstream.Options{TailLines: 20, BatchInterval: 10 * time.Millisecond})
	defer s.Close()
	pods2 := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(pods2) < len(plan.Targets) {
		b, ok := s.Next(ctx)
		if !ok {
			t.Fatalf("stream ended with lines from %v", pods2)
		}
		for _, e := range b.Entries {
			if e.Kind == logstream.KindLine {
				pods2[e.Pod] = true
			}
		}
	}
}

func TestZtunnelLogsUnknownPod(t *testing.T) {
	z, pods := ztSim(t)
	if _, err := z.Open(context.Background(), "istio-system", "ztunnel-gone", "istio-proxy", 10, false); !apierrors.IsNotFound(err) {
		t.Errorf("a missing pod must be NotFound (so logstream looks for its replacement), got %v", err)
	}
	var other *corev1.Pod
	for _, p := range pods {
		if p.Namespace == "loki" {
			other = p
			break
		}
	}
	if _, err := z.Open(context.Background(), other.Namespace, other.Name, "", 10, false); err == nil {
		t.Error("only ztunnel pods have simulated logs")
	}
}
