package kubeenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The objects StartSidecarInjector creates, named as Istio's chart names
// them for the default revision.
const (
	// InjectorWebhookConfig is the MutatingWebhookConfiguration.
	InjectorWebhookConfig = "istio-sidecar-injector"
	// istiodService is the Service the API server calls the webhook
	// through; its name is also the TLS server name the API server asks
	// for (istiod.istio-system.svc), which istiod's own certificate holds.
	istiodService = "istiod"
	// rootCertConfigMap is where istiod publishes its CA's root
	// certificate, in every namespace.
	rootCertConfigMap = "istio-ca-root-cert"
)

// StartSidecarInjector registers istiod's sidecar injection webhook with
// the API server, as Istio's chart does, so that pods created in a
// namespace labelled istio-injection=enabled (or istio.io/rev=default)
// really get an istio-proxy sidecar from istiod. Their pods must name a
// ServiceAccount (spec.serviceAccountName: default): the env runs without
// the ServiceAccount admission plugin that defaults it, and the API server
// refuses the istio-token volume istiod adds to a pod that names none.
// It starts istiod first
// when it is not running, and returns once a dry-run pod created in such a
// namespace comes back injected.
//
// The API server reaches istiod through an ExternalName Service
// istio-system/istiod pointing at localhost on istiod's https port: the
// webhook client then dials loopback and verifies the certificate for
// istiod.istio-system.svc, a name istiod puts in the certificate it signs
// for itself with its self-signed CA. The caBundle is that CA's root as
// istiod publishes it (ConfigMap istio-ca-root-cert); istiod's own webhook
// patcher, which watches configurations labelled istio.io/rev=default,
// writes the same root.
func (e *Env) StartSidecarInjector(t testing.TB) {
	t.Helper()
	if e.istiod == nil || !e.istiod.running() {
		e.StartIstiod(t)
	}
	started := time.Now()
	if err := e.startSidecarInjector(); err != nil {
		t.Fatalf("kubeenv: sidecar injector: %v\n%s", err, e.LogTails(30))
	}
	t.Logf("kubeenv: sidecar injection webhook serving in %s", time.Since(started).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, InjectorWebhookConfig, metav1.DeleteOptions{})
	})
}

func (e *Env) startSidecarInjector() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	port := int32(e.istiodHTTPS)
	if port == 0 {
		return errors.New("istiod's https port is not known")
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: IstioNamespace, Name: istiodService, Labels: map[string]string{"app": "istiod", "istio.io/rev": "default"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https-webhook", Port: port}}},
	}
	if _, err := e.Client.CoreV1().Services(IstioNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Service %s/%s: %w", IstioNamespace, istiodService, err)
	}
	root, err := e.istioRoot(ctx)
	if err != nil {
		return err
	}
	// Check the chain the API server will check, so a mismatch fails
	// here with a TLS error rather than later as an opaque webhook error.
	if err := verifyServing(ctx, root, "127.0.0.1:"+strconv.Itoa(int(port)), istiodService+"."+IstioNamespace+".svc"); err != nil {
		return err
	}
	mwc := injectorWebhooks(port, root)
	if _, err := e.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create MutatingWebhookConfiguration %s: %w", mwc.Name, err)
	}
	return e.awaitInjection(ctx)
}

// istioRoot waits for istiod to publish its CA root in istio-system.
func (e *Env) istioRoot(ctx context.Context) ([]byte, error) {
	var last error
	for {
		cm, err := e.Client.CoreV1().ConfigMaps(IstioNamespace).Get(ctx, rootCertConfigMap, metav1.GetOptions{})
		if err == nil && cm.Data["root-cert.pem"] != "" {
			return []byte(cm.Data["root-cert.pem"]), nil
		}
		if err == nil {
			err = errors.New("it has no root-cert.pem")
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("istiod published no CA root (ConfigMap %s/%s): %w", IstioNamespace, rootCertConfigMap, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// verifyServing connects to addr and verifies its certificate for
// serverName against root, as the API server's webhook client does.
func verifyServing(ctx context.Context, root []byte, addr, serverName string) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		return errors.New("istiod's CA root is not PEM")
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second}, Config: &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}}
	var last error
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("istiod's webhook port %s does not serve a certificate for %s signed by its CA: %w", addr, serverName, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// injectorWebhooks is the MutatingWebhookConfiguration of Istio's chart
// (istio-discovery templates/mutatingwebhook.yaml) for the default
// revision without enableNamespacesByDefault: the namespace label
// istio-injection=enabled, or istio.io/rev=default without it, or the same
// choices on the pod; sidecar.istio.io/inject=false opts a pod out.
func injectorWebhooks(port int32, caBundle []byte) *admissionregv1.MutatingWebhookConfiguration {
	core := func(prefix string, ns, obj []metav1.LabelSelectorRequirement) admissionregv1.MutatingWebhook {
		path := "/inject"
		fail := admissionregv1.Fail
		none := admissionregv1.SideEffectClassNone
		never := admissionregv1.NeverReinvocationPolicy
		return admissionregv1.MutatingWebhook{
			Name: prefix + "sidecar-injector.istio.io",
			ClientConfig: admissionregv1.WebhookClientConfig{
				Service:  &admissionregv1.ServiceReference{Namespace: IstioNamespace, Name: istiodService, Path: &path, Port: &port},
				CABundle: caBundle,
			},
			Rules: []admissionregv1.RuleWithOperations{{
				Operations: []admissionregv1.OperationType{admissionregv1.Create},
				Rule:       admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			ReinvocationPolicy:      &never,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       &metav1.LabelSelector{MatchExpressions: ns},
			ObjectSelector:          &metav1.LabelSelector{MatchExpressions: obj},
		}
	}
	req := func(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
		return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	const (
		rev    = "istio.io/rev"
		inj    = "istio-injection"
		podInj = "sidecar.istio.io/inject"
	)
	notFalse := req(podInj, metav1.LabelSelectorOpNotIn, "false")
	return &admissionregv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: InjectorWebhookConfig, Labels: map[string]string{
			rev: "default", "app": "sidecar-injector", "operator.istio.io/component": "Pilot", "app.kubernetes.io/name": "istiod"}},
		Webhooks: []admissionregv1.MutatingWebhook{
			core("rev.namespace.",
				[]metav1.LabelSelectorRequirement{req(rev, metav1.LabelSelectorOpIn, "default"), req(inj, metav1.LabelSelectorOpDoesNotExist)},
				[]metav1.LabelSelectorRequirement{notFalse}),
			core("rev.object.",
				[]metav1.LabelSelectorRequirement{req(rev, metav1.LabelSelectorOpDoesNotExist), req(inj, metav1.LabelSelectorOpDoesNotExist)},
				[]metav1.LabelSelectorRequirement{notFalse, req(rev, metav1.LabelSelectorOpIn, "default")}),
			core("namespace.",
				[]metav1.LabelSelectorRequirement{req(inj, metav1.LabelSelectorOpIn, "enabled")},
				[]metav1.LabelSelectorRequirement{notFalse}),
			core("object.",
				[]metav1.LabelSelectorRequirement{req(inj, metav1.LabelSelectorOpDoesNotExist), req(rev, metav1.LabelSelectorOpDoesNotExist)},
				[]metav1.LabelSelectorRequirement{req(podInj, metav1.LabelSelectorOpIn, "true"), req(rev, metav1.LabelSelectorOpDoesNotExist)}),
		},
	}
}

// awaitInjection returns once the API server calls the webhook and istiod
// injects: a pod created with dryRun in a namespace labelled for injection
// comes back with an istio-proxy container. The API server picks up a new
// webhook configuration a moment after it is written.
func (e *Env) awaitInjection(ctx context.Context) error {
	const probeNS = "kubeenv-injection-probe"
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probeNS, Labels: map[string]string{"istio-injection": "enabled"}}}
	if _, err := e.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", probeNS, err)
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: probeNS, Name: "probe"},
		// The env runs without the ServiceAccount admission plugin, which
		// would default this; istiod's token volume needs it named.
		Spec: corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{Name: "app", Image: "example/app"}}},
	}
	var last error
	for {
		got, err := e.Client.CoreV1().Pods(probeNS).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		switch {
		case err != nil:
			last = err
		case injected(got):
			// Nothing was stored; the namespace goes, so tests do not
			// see it.
			_ = e.Client.CoreV1().Namespaces().Delete(ctx, probeNS, metav1.DeleteOptions{})
			return nil
		default:
			last = errors.New("the dry-run pod came back without istio-proxy: the webhook is not called yet")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("istiod does not inject: %w", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// injected reports whether istiod's injector added its proxy to p, as a
// container or as a native sidecar.
func injected(p *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, c := range cs {
			if c.Name == "istio-proxy" {
				return true
			}
		}
	}
	return false
}
