// Package metrics polls the metrics API (metrics.k8s.io, served by
// metrics-server) for pod and node usage. It is the one part of ambx that
// LISTs on a timer: the metrics API cannot be watched.
package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	"k8s.io/utils/clock"

	"github.com/ambx/ambx/kube/usage"
)

// DefaultResolution is how often metrics-server refreshes its figures by
// default (--metric-resolution=15s); the poller assumes it when the API
// reports no window.
const DefaultResolution = 15 * time.Second

// MinResolution and MaxResolution bound a reported window, so a broken
// or hostile value makes the poller neither spin nor fall silent.
const (
	MinResolution = time.Second
	MaxResolution = 2 * time.Minute
)

// MaxBackoff is the longest the poller waits between polls when the API is
// slow or failing, unless the period itself is longer.
const MaxBackoff = 30 * time.Second

// Poller LISTs PodMetrics (and NodeMetrics when asked) at the metrics API's
// own pace: metrics-server recomputes its figures once per resolution
// (15 s by default), so polling faster only re-reads the same numbers.
type Poller struct {
	Client metricsclient.Interface
	// Period, when positive, is a fixed poll period (--refresh). Zero
	// follows the resolution the API reports in its windows and timestamps.
	Period time.Duration
	// Demand says what the screen shows; nil means pods and nodes always.
	Demand *Demand
	// Clock drives the schedule; nil means real time. Tests step a fake.
	Clock clock.Clock

	body *bytes.Buffer // the last answer's bytes, reused by the next poll
}

// Run polls until ctx is done, handing every result to publish (from Run's goroutine; publish must not block for long).
// While the Demand asks for nothing, nothing is polled; when it asks for
// more than the last poll read, it is polled at once.
//
// A poll that fails or takes longer than the period doubles the wait, up
// to MaxBackoff; a good poll restores the period. A cluster without a
// usable metrics API gets a Usage with Available=false and is retried at
// the backed-off pace.
func (p Poller) Run(ctx context.Context, publish func(*usage.Usage)) {
	clk := p.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	if p.Client == nil {
		publish(usage.Unavailable(clk.Now(), "metrics unavailable: no metrics client configured"))
		return
	}
	demand := p.Demand
	if demand == nil {
		demand = NewDemand(usage.Need{Pods: true, Nodes: true})
	}
	p.body = new(bytes.Buffer)
	s := schedule{fixed: p.Period}
	var (
		last   *usage.Usage // the last good figures
		polled usage.Need   // what the last poll read
		due    time.Time    // when the next poll is due; zero: now
		delay  time.Duration
	)
	for {
		need, changed := demand.get()
		now := clk.Now()
		if !need.None() && (!now.Before(due) || !polled.Covers(need)) {
			u, err := p.poll(ctx, now, max(MaxBackoff, s.period()), need)
			if ctx.Err() != nil {
				return
			}
			elapsed := clk.Since(now)
			var wait time.Duration
			switch {
			case err != nil:
				delay = min(2*max(delay, s.period()), max(MaxBackoff, s.period()))
				wait = delay
				u = failed(err, last, now, delay)
			case elapsed > s.period():
				delay = min(2*max(delay, s.period()), max(MaxBackoff, s.period()))
				wait = delay
				u.Problem = join(u.Problem, fmt.Sprintf("metrics API slow (%s); polling every %s", elapsed.Round(100*time.Millisecond), delay))
			default:
				delay = 0
				wait = s.next(now, elapsed, u, last)
			}
			if err == nil {
				last = u
			}
			polled, due = need, clk.Now().Add(wait)
			publish(u)
			continue
		}
		var timer clock.Timer
		var fire <-chan time.Time
		if !need.None() {
			timer = clk.NewTimer(due.Sub(now))
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-fire:
		case <-changed:
			if timer != nil {
				timer.Stop()
			}
		}
	}
}

// schedule decides when to poll next. With a fixed period it keeps that
// cadence. Otherwise it learns the API's resolution from the windows it
// reports and aims just after the next sample can exist: the newest
// sample time plus one resolution, plus the offset o at which a sample
// shows up on this machine's clock after its timestamp. o covers
// metrics-server storing a sample after the kubelet took it and any clock
// skew between the machines. It is bracketed by what the polls saw: a
// fresh sample seen at age a means o <= a, and that the next one was not
// there yet means o > a - resolution; a poll that found nothing new
// raises the lower bound. The poller aims at the middle of the bracket
// until it is narrower than a second, then at its top, so after a few
// polls it reads each sample once, soon after it appears.
type schedule struct {
	fixed  time.Duration
	res    time.Duration
	lo, hi time.Duration // o is in (lo, hi]
	known  bool          // the bracket has been measured
}

func (s *schedule) period() time.Duration {
	if s.fixed > 0 {
		return s.fixed
	}
	if s.res == 0 {
		return DefaultResolution
	}
	return s.res
}

// margin is the bracket width at which the poller stops exploring.
const margin = time.Second

// next returns the wait, from the end of a good poll that started at now
// and took elapsed, until the next.
func (s *schedule) next(now time.Time, elapsed time.Duration, u, last *usage.Usage) time.Duration {
	if s.fixed > 0 {
		return s.fixed - elapsed // keep the cadence, not period + poll time
	}
	s.res = DefaultResolution
	if u.Window > 0 {
		s.res = min(max(u.Window, MinResolution), MaxResolution)
	}
	if u.Sampled.IsZero() {
		return s.res - elapsed // no timestamps: one poll per resolution
	}
	if s.known && last != nil && !u.Sampled.After(last.Sampled) {
		// Nothing new: the next sample shows up later than this.
		early := now.Sub(last.Sampled.Add(s.res))
		s.lo = max(s.lo, early)
		if early < s.hi {
			// Explored too early: fall back to the known-good aim.
			return max(last.Sampled.Add(s.res+s.hi).Sub(now), margin) - elapsed
		}
		// Later than any sample came before: metrics-server is late, or
		// its figures are static. Wait a resolution; aim later from now on.
		s.hi = s.lo + s.res/4
		return s.res - elapsed
	}
	age := now.Sub(u.Sampled)
	if !s.known || age < s.hi {
		s.hi = age
	}
	if !s.known || s.lo >= s.hi {
		s.lo = s.hi - s.res
	}
	s.known = true
	s.lo = max(s.lo, age-s.res)
	aim := s.hi
	if s.hi-s.lo > margin {
		aim = (s.lo + s.hi) / 2
	}
	wait := u.Sampled.Add(s.res + aim).Sub(now)
	return min(max(wait, s.res/2), 2*s.res) - elapsed
}

// poll does one LIST of each resource the need asks for. Pod metrics are
// what every figure is made of, so only their failure fails the poll;
// missing node metrics are noted in Problem.
func (p Poller) poll(ctx context.Context, now time.Time, timeout time.Duration, need usage.Need) (*usage.Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m := p.Client.MetricsV1beta1()
	b := usage.NewBuilder(now, 0)
	if need.Pods {
		body := p.body
		if body == nil {
			body = new(bytes.Buffer)
		}
		var err error
		b, err = listPods(ctx, m, need.Namespace, now, body)
		// A namespace's answer after every namespace's need not keep
		// the larger buffer.
		if body.Cap() > 1<<20 && body.Cap() > 4*body.Len() {
			*body = bytes.Buffer{}
		}
		if err != nil {
			return nil, err
		}
	}
	var problem string
	if need.Nodes {
		nodes, err := m.NodeMetricses().List(ctx, metav1.ListOptions{})
		switch {
		case err != nil && !need.Pods:
			return nil, err
		case err != nil:
			problem = "node metrics: " + reason(err)
		default:
			b.AddNodes(nodes.Items)
		}
	}
	u := b.Usage()
	u.Problem = problem
	u.Namespace = need.Namespace
	if !need.Pods {
		u.Pods, u.Proxies = nil, nil
	}
	return u, nil
}

// failed is what a failed poll publishes. A metrics API that is absent or
// forbidden makes the figures unavailable; a passing error (a timeout, a
// restart of metrics-server's pod behind a healthy APIService) keeps the
// last figures, marked stale, so the columns do not flicker.
func failed(err error, last *usage.Usage, now time.Time, retry time.Duration) *usage.Usage {
	why := reason(err)
	if last != nil && last.Available && !permanent(err) {
		stale := *last
		stale.Problem = fmt.Sprintf("metrics stale since %s: %s; retrying every %s", last.Taken.Format(time.TimeOnly), why, retry)
		return &stale
	}
	return usage.Unavailable(now, "metrics unavailable: "+why)
}

// permanent reports errors that mean the cluster has no metrics API for us,
// as opposed to one that failed this once.
func permanent(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) ||
		discovery.IsGroupDiscoveryFailedError(err)
}

// reason turns an error into words a user can act on.
func reason(err error) string {
	var dns *net.DNSError
	switch {
	case apierrors.IsNotFound(err), discovery.IsGroupDiscoveryFailedError(err):
		return "metrics.k8s.io is not served (is metrics-server installed?)"
	case apierrors.IsServiceUnavailable(err):
		return "metrics.k8s.io is registered but not answering (is metrics-server running?)"
	case apierrors.IsForbidden(err):
		return "forbidden: RBAC does not allow listing metrics.k8s.io pods and nodes"
	case apierrors.IsUnauthorized(err):
		return "unauthorized: the credentials were refused"
	case errors.Is(err, context.DeadlineExceeded), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		return "the metrics API did not answer in time"
	case errors.As(err, &dns):
		return "cannot resolve the API server: " + dns.Error()
	default:
		return err.Error()
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
