package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/synth"
)

// While the pods' first list streams, a progress tick with nothing else
// changed hands out the last analysis with the new count; any change to
// another list or to a resource's state is analysed again, and once the
// pods are in nothing is reused.
func TestProgressSnapshotsReuseOnlyWhatDidNotChange(t *testing.T) {
	c := synth.Cluster(200, 10, 30, 10)
	s := cachedSource(t, c)
	for r := range s.states {
		s.states[r] = ResourceState{Availability: Available}
	}
	s.states[ResPods] = ResourceState{Availability: Syncing}
	s.podTotal.Store(int64(len(c.Pods)))

	first := s.build()
	s.podsStreamed.Add(100)
	tick := s.build()
	if tick.Mesh != first.Mesh {
		t.Error("a tick that changed only the pods' count analysed the cluster again")
	}
	if st := tick.State(ResPods); st.Loaded != 100 || st.Total != len(c.Pods) {
		t.Errorf("pods %+v after 100 streamed, want 100 / %d", st, len(c.Pods))
	}
	if tick.Seq <= first.Seq || len(tick.Services) != len(c.Services) || len(tick.Pods) != 0 {
		t.Errorf("tick: seq %d after %d, %d services, %d pods; want a later seq, %d services, no pods",
			tick.Seq, first.Seq, len(tick.Services), len(tick.Pods), len(c.Services))
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespaces[1].Name, Name: "added-while-loading"}}
	apply(s, ResServices, "", svc, false)
	s.podsStreamed.Add(100)
	added := s.build()
	if added.Mesh == tick.Mesh || len(added.Services) != len(c.Services)+1 {
		t.Errorf("a Service added while pods load: %d services (want %d), analysis reused %v",
			len(added.Services), len(c.Services)+1, added.Mesh == tick.Mesh)
	}
	if _, ok := added.Mesh.Services[ambient.Key{Namespace: svc.Namespace, Name: svc.Name}]; !ok {
		t.Error("the added Service has no verdict")
	}

	s.mu.Lock()
	s.states[ResNetworkPolicies] = ResourceState{Availability: Forbidden, Detail: "forbidden"}
	s.mu.Unlock()
	forbidden := s.build()
	if forbidden.Mesh == added.Mesh || forbidden.State(ResNetworkPolicies).Availability != Forbidden {
		t.Errorf("NetworkPolicies forbidden while pods load: state %+v, analysis reused %v",
			forbidden.State(ResNetworkPolicies), forbidden.Mesh == added.Mesh)
	}
	if again := s.build(); again.Mesh != forbidden.Mesh {
		t.Error("a second tick with nothing changed analysed again")
	}

	s.mu.Lock()
	s.states[ResPods] = ResourceState{Availability: Available}
	s.mu.Unlock()
	loaded := s.build()
	if loaded.Mesh == forbidden.Mesh || len(loaded.Pods) != len(c.Pods) || len(loaded.Mesh.Pods) == 0 {
		t.Errorf("pods loaded: %d pods, %d verdicts, analysis reused %v; want %d pods judged",
			len(loaded.Pods), len(loaded.Mesh.Pods), loaded.Mesh == forbidden.Mesh, len(c.Pods))
	}
	if s.build().Mesh == loaded.Mesh {
		t.Error("after the pods loaded a build reused the last analysis")
	}
}
