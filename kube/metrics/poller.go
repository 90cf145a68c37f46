// Package metrics polls the metrics API (metrics.k8s.io, served by
// metrics-server) for pod and node usage. It is the one part of ambx that
// LISTs on a timer: the metrics API cannot be watched.
package metrics

import (
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

// DefaultPeriod is the poll period when none is given (the --refresh default).
const DefaultPeriod = 2 * time.Second

// MaxBackoff is the longest the poller waits between polls when the API is
// slow or failing, unless the period itself is longer.
const MaxBackoff = 30 * time.Second

// Poller LISTs PodMetrics and NodeMetrics once per period.
type Poller struct {
	Client metricsclient.Interface
	Period time.Duration // <= 0 means DefaultPeriod
	// Clock drives the schedule; nil means real time. Tests step a fake.
	Clock clock.Clock
}

// Run polls until ctx is done, handing every result to publish (from Run's
// goroutine; publish must not block for long). A poll that fails or takes
// longer than the period doubles the wait, up to MaxBackoff; a good poll
// restores the period. A cluster without a usable metrics API gets a
// Usage with Available=false and is retried at the backed-off pace.
func (p Poller) Run(ctx context.Context, publish func(*usage.Usage)) {
	clk := p.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	if p.Client == nil {
		publish(usage.Unavailable(clk.Now(), "metrics unavailable: no metrics client configured"))
		return
	}
	period := p.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	ceiling := max(MaxBackoff, period)
	delay := period
	var last *usage.Usage
	for {
		start := clk.Now()
		u, err := p.poll(ctx, start, ceiling)
		if ctx.Err() != nil {
			return
		}
		elapsed := clk.Since(start)
		healthy := err == nil && elapsed <= period
		if healthy {
			delay = period
		} else {
			delay = min(2*delay, ceiling)
		}
		switch {
		case err != nil:
			u = failed(err, last, start, delay)
		case !healthy:
			u.Problem = join(u.Problem, fmt.Sprintf("metrics API slow (%s); polling every %s", elapsed.Round(100*time.Millisecond), delay))
		}
		if err == nil {
			last = u
		}
		publish(u)

		wait := delay
		if healthy {
			wait = period - elapsed // keep the cadence, not period + poll time
		}
		t := clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// poll does one LIST of each resource. Pod metrics are what every figure is
// made of, so only their failure fails the poll; missing node metrics are
// noted in Problem.
func (p Poller) poll(ctx context.Context, now time.Time, timeout time.Duration) (*usage.Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m := p.Client.MetricsV1beta1()
	pods, err := m.PodMetricses(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	nodes, nodeErr := m.NodeMetricses().List(ctx, metav1.ListOptions{})
	if nodeErr != nil {
		u := usage.FromMetrics(now, pods.Items, nil)
		u.Problem = "node metrics: " + reason(nodeErr)
		return u, nil
	}
	return usage.FromMetrics(now, pods.Items, nodes.Items), nil
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
