package kube

import (
	"sync"

	clientfeatures "k8s.io/client-go/features"
)

// noWatchList turns client-go's streaming list (WatchListClient) off for
// the whole process. The Istio and Gateway API fake clientsets predate it:
// their watches never send the bookmark that ends the initial list, so each
// informer would wait 10 s before falling back to a plain LIST. Only
// processes that run on fake clientsets (the demo, unit tests) call it.
var noWatchList = sync.OnceFunc(func() {
	clientfeatures.ReplaceFeatureGates(withoutWatchList{clientfeatures.FeatureGates()})
})

type withoutWatchList struct{ clientfeatures.Gates }

func (g withoutWatchList) Enabled(f clientfeatures.Feature) bool {
	if f == clientfeatures.WatchListClient {
		return false
	}
	return g.Gates.Enabled(f)
}
