// Package podwatch decodes a pod watch (and the streaming list that
// client-go's WatchList makes of one) without the copies and the fields
// that ambx never reads.
//
// client-go's protobuf watch copies every event twice before the pod is
// decoded: the WatchEvent's generated Unmarshal copies the object's bytes
// out of the frame (RawExtension), and the protobuf serializer copies them
// again out of Kubernetes' envelope (runtime.Unknown). The pod is then
// decoded whole, managedFields included, only for the informer's transform
// to drop most of it. At 10,600 pods that was 111 MB of copies and 33 MB of
// managed fields in the first 20 s, and the collections they caused were a
// third of start-up's CPU.
//
// Here the event's and the envelope's bytes are only walked (protofield)
// and aliased, and the pod is handed to the generated Unmarshal of each of
// its parts in runs that leave out the fields listed in Dropped. Every
// byte of a value is still decoded by the Kubernetes types' own code.
package podwatch

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/ambx/ambx/kube/protofield"
)

// Dropped names, per type, the fields the decoder leaves out. They are the
// fields the informer's transform (kube.slimPod) clears anyway, so a pod
// decoded here and then slimmed equals one decoded in full and slimmed; a
// test in kube holds the two lists together. ObjectMeta's managedFields
// are dropped too, as the transform drops them from every kind.
var Dropped = map[reflect.Type][]string{
	reflect.TypeFor[metav1.ObjectMeta](): {"ManagedFields"},
	reflect.TypeFor[corev1.PodSpec](): {
		"Volumes", "Affinity", "Tolerations", "TopologySpreadConstraints",
		"SecurityContext", "ImagePullSecrets", "DNSConfig", "Overhead",
		"ResourceClaims", "Resources", "ReadinessGates", "HostAliases",
		"NodeSelector", "SchedulingGates", "OS", "RuntimeClassName",
		"Priority", "PreemptionPolicy", "EnableServiceLinks", "AutomountServiceAccountToken",
		"TerminationGracePeriodSeconds", "ActiveDeadlineSeconds",
		"SchedulerName", "PriorityClassName", "DNSPolicy", "Hostname", "Subdomain",
		"DeprecatedServiceAccount", "EphemeralContainers",
	},
	reflect.TypeFor[corev1.Container](): {
		"Command", "Args", "Env", "EnvFrom", "Resources", "ResizePolicy",
		"VolumeMounts", "VolumeDevices", "Lifecycle", "SecurityContext",
		"TerminationMessagePath", "TerminationMessagePolicy", "ImagePullPolicy", "WorkingDir",
	},
	reflect.TypeFor[corev1.PodStatus](): {
		"HostIP", "HostIPs", "QOSClass", "NominatedNodeName", "ResourceClaimStatuses",
		"Resize", "ExtendedResourceClaimStatus", "EphemeralContainerStatuses",
	},
	reflect.TypeFor[corev1.ContainerStatus](): {
		"State", "LastTerminationState", "Image", "ImageID", "ContainerID",
		"AllocatedResources", "Resources", "VolumeMounts", "User",
		"AllocatedResourcesStatus", "StopSignal",
	},
}

func dropped[T any]() map[protowire.Number]bool {
	t := reflect.TypeFor[T]()
	return protofield.Numbers(t, Dropped[t]...)
}

var (
	dropMeta            = dropped[metav1.ObjectMeta]()
	dropSpec            = dropped[corev1.PodSpec]()
	dropContainer       = dropped[corev1.Container]()
	dropStatus          = dropped[corev1.PodStatus]()
	dropContainerStatus = dropped[corev1.ContainerStatus]()

	podMeta   = protofield.Number(reflect.TypeFor[corev1.Pod](), "ObjectMeta")
	podSpec   = protofield.Number(reflect.TypeFor[corev1.Pod](), "Spec")
	podStatus = protofield.Number(reflect.TypeFor[corev1.Pod](), "Status")

	specContainers     = protofield.Number(reflect.TypeFor[corev1.PodSpec](), "Containers")
	specInitContainers = protofield.Number(reflect.TypeFor[corev1.PodSpec](), "InitContainers")

	statusContainers     = protofield.Number(reflect.TypeFor[corev1.PodStatus](), "ContainerStatuses")
	statusInitContainers = protofield.Number(reflect.TypeFor[corev1.PodStatus](), "InitContainerStatuses")

	eventObject  = protofield.Number(reflect.TypeFor[metav1.WatchEvent](), "Object")
	extensionRaw = protofield.Number(reflect.TypeFor[runtime.RawExtension](), "Raw")
)

// DecodePod decodes a Pod's protobuf encoding (the message itself, without
// Kubernetes' envelope) into p, leaving out the Dropped fields.
func DecodePod(raw []byte, p *corev1.Pod) error {
	return protofield.Walk(raw, func(f protofield.Field) error {
		switch {
		case f.Value == nil:
			// A field of another wire type: none of Pod's has one, and its
			// Unmarshal would refuse it; so does this.
			return fmt.Errorf("pod field %d has wire type other than bytes", f.Num)
		case f.Num == podMeta:
			return protofield.Runs(f.Value, owns(dropMeta), nil, p.ObjectMeta.Unmarshal)
		case f.Num == podSpec:
			return decodeSpec(f.Value, &p.Spec)
		case f.Num == podStatus:
			return decodeStatus(f.Value, &p.Status)
		}
		// A field this version of k8s.io/api does not know: the generated
		// Unmarshal skips it too.
		return nil
	})
}

func owns(set map[protowire.Number]bool, more ...protowire.Number) func(protowire.Number) bool {
	return func(n protowire.Number) bool {
		if set[n] {
			return true
		}
		for _, m := range more {
			if n == m {
				return true
			}
		}
		return false
	}
}

func decodeSpec(raw []byte, s *corev1.PodSpec) error {
	return protofield.Runs(raw, owns(dropSpec, specContainers, specInitContainers), func(f protofield.Field) error {
		var list *[]corev1.Container
		switch f.Num {
		case specContainers:
			list = &s.Containers
		case specInitContainers:
			list = &s.InitContainers
		default:
			return nil // dropped
		}
		return appendLean(list, f, dropContainer)
	}, s.Unmarshal)
}

func decodeStatus(raw []byte, st *corev1.PodStatus) error {
	return protofield.Runs(raw, owns(dropStatus, statusContainers, statusInitContainers), func(f protofield.Field) error {
		var list *[]corev1.ContainerStatus
		switch f.Num {
		case statusContainers:
			list = &st.ContainerStatuses
		case statusInitContainers:
			list = &st.InitContainerStatuses
		default:
			return nil
		}
		return appendLean(list, f, dropContainerStatus)
	}, st.Unmarshal)
}

// appendLean decodes one occurrence f of a repeated message field onto
// list, as the generated Unmarshal appends each, less the fields in drop.
func appendLean[T any, PT interface {
	*T
	Unmarshal([]byte) error
}](list *[]T, f protofield.Field, drop map[protowire.Number]bool) error {
	if f.Value == nil {
		return fmt.Errorf("pod field %d has wire type other than bytes", f.Num)
	}
	*list = append(*list, *new(T))
	return protofield.Runs(f.Value, owns(drop), nil, PT(&(*list)[len(*list)-1]).Unmarshal)
}

var podKind = corev1.SchemeGroupVersion.WithKind("Pod")

// podDecoder decodes pods as DecodePod does and hands anything else (the
// Status of an ERROR event, another encoding) to next.
type podDecoder struct{ next runtime.Decoder }

func (d podDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	p, isPod := into.(*corev1.Pod)
	if into != nil && !isPod {
		return d.next.Decode(data, defaults, into)
	}
	unk, raw, ok, err := protofield.Unwrap(data)
	if !ok {
		return d.next.Decode(data, defaults, into)
	}
	if err != nil {
		return nil, nil, err
	}
	gvk := unk.GroupVersionKind()
	if gvk != podKind || !protofield.Protobuf(&unk) {
		return d.next.Decode(data, defaults, into)
	}
	if p == nil {
		p = &corev1.Pod{}
	} else {
		*p = corev1.Pod{}
	}
	if err := DecodePod(raw, p); err != nil {
		return nil, &gvk, fmt.Errorf("decoding Pod: %w", err)
	}
	// As client-go's decoders for typed clients leave it.
	p.TypeMeta = metav1.TypeMeta{}
	return p, &gvk, nil
}

// events is the watch's frame serializer for protobuf: it reads a
// WatchEvent with its object's bytes aliasing the frame, which client-go's
// watch decoder decodes before it reads the next frame (rest/watch,
// Decoder.Decode). Encoding and other targets go to next.
type events struct{ next runtime.Serializer }

func (e events) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	ev, ok := into.(*metav1.WatchEvent)
	if !ok || ev == nil {
		return e.next.Decode(data, defaults, into)
	}
	*ev = metav1.WatchEvent{}
	err := protofield.Runs(data, func(n protowire.Number) bool { return n == eventObject }, func(f protofield.Field) error {
		if f.Value == nil {
			return errors.New("watch event object has wire type other than bytes")
		}
		ev.Object = runtime.RawExtension{}
		return protofield.Walk(f.Value, func(r protofield.Field) error {
			if r.Num == extensionRaw && r.Value != nil {
				ev.Object.Raw = r.Value
			}
			return nil
		})
	}, ev.Unmarshal)
	if err != nil {
		return nil, nil, fmt.Errorf("decoding watch event: %w", err)
	}
	return ev, nil, nil
}

func (e events) Encode(obj runtime.Object, w io.Writer) error { return e.next.Encode(obj, w) }

func (e events) Identifier() runtime.Identifier { return "ambx-podwatch-" + e.next.Identifier() }

// serializer is the typed clients' negotiated serializer with the two
// decoders above in place for protobuf.
type serializer struct{ runtime.NegotiatedSerializer }

func (s serializer) SupportedMediaTypes() []runtime.SerializerInfo {
	infos := append([]runtime.SerializerInfo(nil), s.NegotiatedSerializer.SupportedMediaTypes()...)
	for i := range infos {
		if infos[i].MediaType != runtime.ContentTypeProtobuf || infos[i].StreamSerializer == nil {
			continue
		}
		stream := *infos[i].StreamSerializer
		stream.Serializer = events{next: stream.Serializer}
		infos[i].StreamSerializer = &stream
	}
	return infos
}

func (s serializer) DecoderToVersion(d runtime.Decoder, gv runtime.GroupVersioner) runtime.Decoder {
	return podDecoder{next: s.NegotiatedSerializer.DecoderToVersion(d, gv)}
}

// NegotiatedSerializer is client-go's for the core types, decoding pods
// and watch events as this package does.
func NegotiatedSerializer() runtime.NegotiatedSerializer {
	return serializer{rest.CodecFactoryForGeneratedClient(scheme.Scheme, scheme.Codecs).WithoutConversion()}
}

// NewClient returns a REST client for the core API group that asks for
// protobuf and decodes pods as DecodePod does, over httpClient (the typed
// clientset's, so both share connections).
func NewClient(cfg *rest.Config, httpClient *http.Client) (*rest.RESTClient, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.APIPath = "/api"
	c.ContentType = runtime.ContentTypeProtobuf
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c.NegotiatedSerializer = NegotiatedSerializer()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	return rest.RESTClientForConfigAndClient(c, httpClient)
}
