package audit

import (
	"time"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/manifest"
)

// manifestTime is the "now" manifests are judged at: they hold no clock,
// and a fixed one keeps reports byte-identical.
var manifestTime = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// FromManifests analyses manifests as a snapshot in which every resource
// was read: the files are the whole of the intended state.
func FromManifests(set *manifest.Set) *kube.Snapshot {
	s := kube.Build(set.Cluster, manifestTime)
	s.Resources = map[kube.Resource]kube.ResourceState{}
	for _, r := range kube.Resources {
		s.Resources[r] = kube.ResourceState{Availability: kube.Available}
	}
	return s
}
