package ambient

import (
	"fmt"
	"slices"
	"testing"

	typev1beta1 "istio.io/api/type/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// A root-namespace selector policy reaches the pods of every namespace;
// they are found through a label index rather than by matching every
// pod, and must be exactly the pods, in exactly the order, that matching
// every pod of every namespace in order gives.
func TestRootSelectorFindsWhatMatchingEveryPodFinds(t *testing.T) {
	c := &Cluster{}
	for n := range 12 {
		ns := fmt.Sprintf("ns-%02d", n)
		if n%4 != 3 { // some namespaces have pods but no Namespace object
			c.Namespaces = append(c.Namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		}
		for i := range 30 {
			l := map[string]string{"app": fmt.Sprintf("app-%d", i%5), "tier": []string{"web", "db", ""}[i%3]}
			if i%7 == 0 {
				l["canary"] = "true"
			}
			if i%11 == 0 {
				delete(l, "tier")
			}
			if i%13 == 0 {
				l = nil
			}
			c.Pods = append(c.Pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p-%02d", i), Labels: l}})
		}
	}
	c.Namespaces = append(c.Namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}})
	c.Pods = append(c.Pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "ztunnel-1", Labels: map[string]string{"app": "ztunnel"}}})
	ix := newIndex(c, &Analysis{Pods: map[Key]PodInfo{}, Namespaces: map[string]NamespaceInfo{}, Services: map[Key]ServiceInfo{}})
	ix.analyzePods()

	for _, ml := range []map[string]string{
		{"app": "app-1"},
		{"app": "app-1", "tier": "web"},
		{"tier": ""},                       // the label present with an empty value
		{"app": "app-2", "canary": "true"}, // the rarer label walked
		{"app": "nope"},
		{"missing": "x"},
		{"app": "ztunnel"},
		{"app": "app-3", "tier": "db", "canary": "true"},
	} {
		t.Run(fmt.Sprint(ml), func(t *testing.T) {
			var got, want []string
			for range 3 { // the index is built once and then reused
				got = got[:0]
				ix.eachSelected(ix.root, &typev1beta1.WorkloadSelector{MatchLabels: ml}, func(p podRef) {
					got = append(got, p.pod.Namespace+"/"+p.pod.Name+"="+fmt.Sprint(p.state))
				})
			}
			match := labels.SelectorFromSet(ml)
			for _, name := range ix.nsOrder {
				for _, p := range ix.podsByNS[name] {
					if match.Matches(labels.Set(p.pod.Labels)) {
						want = append(want, p.pod.Namespace+"/"+p.pod.Name+"="+fmt.Sprint(p.state))
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("selected\n%v\nwant\n%v", got, want)
			}
			if len(ml) == 1 && ml["app"] == "app-1" && len(want) == 0 {
				t.Fatal("the cluster has no pod for the selector to find")
			}
		})
	}
}
