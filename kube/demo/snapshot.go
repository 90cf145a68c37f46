package demo

import "github.com/ambx/ambx/kube"

// Homelab is the demo cluster as one snapshot at Epoch, every resource
// synced: what golden tests render, without running a Source.
func Homelab() *kube.Snapshot {
	s := kube.Build(*Objects(Epoch), Epoch)
	s.Context = Context
	s.Resources = map[kube.Resource]kube.ResourceState{}
	for _, r := range kube.Resources {
		s.Resources[r] = kube.ResourceState{Availability: kube.Available}
	}
	return s
}
