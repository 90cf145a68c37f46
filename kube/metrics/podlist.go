package metrics

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/metrics/pkg/client/clientset/versioned/scheme"
	metricsv1beta1client "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"

	"github.com/ambx/ambx/kube/protofield"
	"github.com/ambx/ambx/kube/usage"
)

// listPods LISTs the PodMetrics of namespace ns ("" for every namespace)
// and sums them into a usage.Builder for a poll taken at taken.
//
// The typed client's List decodes the whole PodMetricsList before it
// returns: at 10,600 pods that is ≈ 20 MiB of objects (every item carries
// its pod's labels, which metrics-server copies, and a map per container)
// that the collector counts as live for the whole conversion, on top of
// the figures of the last poll, so each poll raised the heap goal, and
// the process's resident size, by about half as much again. When the
// answer is protobuf, which metrics-server sends to a client that asks,
// listPods decodes one item at a time instead; anything else (JSON, the
// fake clientset of the tests and the demo) goes through the typed List.
func listPods(ctx context.Context, m metricsv1beta1client.MetricsV1beta1Interface, ns string, taken time.Time, body *bytes.Buffer) (*usage.Builder, error) {
	rc, ok := m.RESTClient().(*rest.RESTClient)
	var (
		raw  []byte
		list *metricsv1beta1.PodMetricsList
		err  error
	)
	if !ok || rc == nil {
		list, err = m.PodMetricses(ns).List(ctx, metav1.ListOptions{})
	} else {
		raw, list, err = getPodList(ctx, rc, ns, body)
	}
	if err != nil {
		return nil, err
	}
	if list != nil {
		b := usage.NewBuilder(taken, len(list.Items))
		for i := range list.Items {
			b.AddPod(&list.Items[i])
		}
		return b, nil
	}
	return decodePodItems(raw, taken)
}

// decodePodItems sums the items of a PodMetricsList's protobuf encoding.
// One PodMetrics is decoded at a time, into the same value: its label map
// and its containers, with each container's usage map, are emptied and
// filled again (AddPod keeps none of them).
func decodePodItems(raw []byte, taken time.Time) (*usage.Builder, error) {
	n := 0
	if err := protofield.Each(raw, podItemsField, func([]byte) error { n++; return nil }); err != nil {
		return nil, fmt.Errorf("decoding PodMetricsList: %w", err)
	}
	b := usage.NewBuilder(taken, n)
	var item metricsv1beta1.PodMetrics
	err := protofield.Each(raw, podItemsField, func(v []byte) error {
		if err := decodePodMetrics(v, &item); err != nil {
			return fmt.Errorf("decoding PodMetricsList item: %w", err)
		}
		b.AddPod(&item)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// decodePodMetrics decodes one PodMetrics into p, reusing what p holds.
//
// PodMetrics' generated Unmarshal appends each container as a new zero
// value, so every container of every pod got a new usage map: at 10,600
// pods about 10 MiB of maps a poll, half of all an idle minute allocated,
// and so most of the collections that made the idle CPU. Here the item's
// four fields are handed, by the numbers its struct tags give, to their
// own generated Unmarshal, each container into a kept ContainerMetrics
// whose emptied map the generated code fills again. Fields this version
// of k8s.io/metrics does not know are skipped, as its Unmarshal does.
func decodePodMetrics(v []byte, p *metricsv1beta1.PodMetrics) error {
	labels, containers := p.Labels, p.Containers[:0]
	clear(labels)
	// The buffer stays with p even for an item without containers, so
	// the next item does not grow a new one.
	*p = metricsv1beta1.PodMetrics{Containers: containers}
	p.Labels = labels
	return protofield.Walk(v, func(f protofield.Field) error {
		b := f.Value
		if b == nil {
			return nil
		}
		switch f.Num {
		case podMetaField:
			return p.ObjectMeta.Unmarshal(b)
		case podTimestampField:
			return p.Timestamp.Unmarshal(b)
		case podWindowField:
			return p.Window.Unmarshal(b)
		case podContainersField:
			if len(containers) < cap(containers) {
				containers = containers[:len(containers)+1]
			} else {
				containers = append(containers, metricsv1beta1.ContainerMetrics{})
			}
			c := &containers[len(containers)-1]
			use := c.Usage
			clear(use)
			*c = metricsv1beta1.ContainerMetrics{Usage: use}
			p.Containers = containers
			return c.Unmarshal(b)
		}
		return nil
	})
}

// getPodList does the request as the typed client's List does (same path,
// parameters and content negotiation) and reads the answer into body,
// kept between polls so that each does not grow a new one to 2 MiB. It
// returns either the list's own protobuf bytes, taken out of Kubernetes'
// protobuf envelope (protofield.Unwrap: they alias body, so the caller
// decodes them before the next poll resets it; apimachinery's serializer
// copied them, 1.8 MB a poll at 10,600 pods), or, for any other answer,
// the list as the metrics clientset's scheme decodes it.
func getPodList(ctx context.Context, rc *rest.RESTClient, ns string, body *bytes.Buffer) ([]byte, *metricsv1beta1.PodMetricsList, error) {
	stream, err := rc.Get().
		NamespaceIfScoped(ns, ns != "").
		Resource("pods").
		VersionedParams(&metav1.ListOptions{}, scheme.ParameterCodec).
		Stream(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer stream.Close()
	body.Reset()
	if _, err := body.ReadFrom(stream); err != nil {
		return nil, nil, fmt.Errorf("reading PodMetricsList: %w", err)
	}
	data := body.Bytes()
	unk, raw, ok, err := protofield.Unwrap(data)
	if !ok {
		var l metricsv1beta1.PodMetricsList
		if _, _, err := scheme.Codecs.UniversalDeserializer().Decode(data, nil, &l); err != nil {
			return nil, nil, fmt.Errorf("decoding PodMetricsList: %w", err)
		}
		return nil, &l, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("decoding PodMetricsList: %w", err)
	}
	if gvk := unk.GroupVersionKind(); gvk != metricsv1beta1.SchemeGroupVersion.WithKind("PodMetricsList") {
		return nil, nil, fmt.Errorf("the metrics API answered a PodMetrics LIST with %q %q", gvk.GroupVersion(), gvk.Kind)
	}
	if !protofield.Protobuf(&unk) {
		return nil, nil, fmt.Errorf("PodMetricsList in an unknown encoding %q %q", unk.ContentType, unk.ContentEncoding)
	}
	return raw, nil, nil
}

// Field numbers of PodMetricsList and PodMetrics, as k8s.io/metrics
// declares them.
var (
	podItemsField      = protofield.Number(reflect.TypeFor[metricsv1beta1.PodMetricsList](), "Items")
	podMetaField       = protofield.Number(reflect.TypeFor[metricsv1beta1.PodMetrics](), "ObjectMeta")
	podTimestampField  = protofield.Number(reflect.TypeFor[metricsv1beta1.PodMetrics](), "Timestamp")
	podWindowField     = protofield.Number(reflect.TypeFor[metricsv1beta1.PodMetrics](), "Window")
	podContainersField = protofield.Number(reflect.TypeFor[metricsv1beta1.PodMetrics](), "Containers")
)
