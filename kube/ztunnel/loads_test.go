package ztunnel

import "testing"

// Each end's ztunnel reports a connection; a workload's load on a node is
// what that node's ztunnel reported for it, in either role, once.
func TestLoads(t *testing.T) {
	var l Loads
	l.Add("node-a", []Rate{
		{Edge: Edge{Reporter: "source", SrcNamespace: "shop", SrcWorkload: "web", DstNamespace: "shop", DstWorkload: "cart"}, ConnsPerSec: 2, SentPerSec: 100, RecvPerSec: 900},
		{Edge: Edge{Reporter: "destination", SrcNamespace: "shop", SrcWorkload: "web", DstNamespace: "shop", DstWorkload: "cart"}, ConnsPerSec: 2, SentPerSec: 900, RecvPerSec: 100},
		{Edge: Edge{Reporter: "source", SrcNamespace: "shop", SrcWorkload: "web", DstNamespace: "x", DstWorkload: "unknown"}, ConnsPerSec: 1},
		{Edge: Edge{Reporter: "destination", SrcNamespace: "unknown", SrcWorkload: "unknown", DstNamespace: "shop", DstWorkload: "web"}, ConnsPerSec: 0.5, RecvPerSec: 10},
	})
	l.Add("node-b", nil)
	for _, tc := range []struct {
		name                 string
		ns, pod, owner, node string
		wantConns, wantBytes float64
		wantKnown            bool
	}{
		{"source and destination", "shop", "web-5f6c-xyz12", "deployment/web", "node-a", 3.5, 1010, true},
		{"destination only", "shop", "cart-0", "statefulset/cart", "node-a", 2, 1000, true},
		{"read node, quiet", "shop", "web-7a-qq", "deployment/web", "node-b", 0, 0, true},
		{"unread node", "shop", "web-9", "deployment/web", "node-c", 0, 0, false},
		{"bare pod named as itself", "shop", "cart", "pod/cart", "node-a", 2, 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, known := l.Of(tc.ns, tc.pod, tc.owner, tc.node)
			if known != tc.wantKnown || got.ConnsPerSec != tc.wantConns || got.BytesPerSec != tc.wantBytes {
				t.Errorf("Of = %+v known %v, want %v/%v known %v", got, known, tc.wantConns, tc.wantBytes, tc.wantKnown)
			}
		})
	}
	var none *Loads
	if _, known := none.Of("shop", "web", "", "node-a"); known {
		t.Error("no metrics read, yet a load is known")
	}
}
