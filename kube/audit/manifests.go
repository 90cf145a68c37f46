package audit

import (
	"time"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/manifest"
)

// FromManifests analyses manifests as a snapshot in which every resource
// was read: the files are the whole of the intended state. now matters
// only for objects that carry status (a dump of a live cluster): a pod
// that started moments before now is given time to be captured.
func FromManifests(set *manifest.Set, now time.Time) *kube.Snapshot {
	s := kube.Build(set.Cluster, now)
	s.Resources = map[kube.Resource]kube.ResourceState{}
	for _, r := range kube.Resources {
		s.Resources[r] = kube.ResourceState{Availability: kube.Available}
	}
	return s
}
