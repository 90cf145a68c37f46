package kube

import (
	"hash/maphash"
	"maps"
	"sync"
)

// sharedMaps hands out one map for each set of labels or annotations that
// many objects repeat: the pods of one ReplicaSet carry identical maps, and
// at 10,000 pods a map per pod is megabytes. The informer caches never
// modify an object (see slim), so sharing a map between objects is as safe
// as sharing its strings.
//
// It forgets maps in two generations rather than tracking which objects
// still hold them: once the current generation is full it becomes the
// previous one and the one before is dropped. A forgotten map stays with
// the objects that hold it; the next object with that set gets a new copy
// and shares it from then on. So the cache holds at most two generations'
// worth of entries however the cluster churns, and a map a live workload's
// pods share is found in either.
type sharedMaps struct {
	mu        sync.Mutex
	seed      maphash.Seed
	cur, prev map[uint64][]map[string]string
	entries   int // in cur
	perGen    int
}

// sharedMapsPerGen bounds each generation: more distinct sets than a
// 50,000-pod cluster has workloads, at about 50 bytes an entry.
const sharedMapsPerGen = 1 << 15

func newSharedMaps(perGen int) *sharedMaps {
	return &sharedMaps{seed: maphash.MakeSeed(), cur: map[uint64][]map[string]string{}, perGen: perGen}
}

// labelMaps is the process's one cache: slim is a plain transform shared by
// every informer.
var labelMaps = newSharedMaps(sharedMapsPerGen)

// share returns the shared map equal to m with its keys and values
// interned, m itself never (the object's own map may be a fake tracker's).
func (s *sharedMaps) share(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	h := s.hash(m)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cur[h] {
		if maps.Equal(c, m) {
			return c
		}
	}
	for _, c := range s.prev[h] {
		if maps.Equal(c, m) {
			s.add(h, c)
			return c
		}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[intern(k)] = intern(v)
	}
	s.add(h, out)
	return out
}

func (s *sharedMaps) add(h uint64, m map[string]string) {
	if s.entries >= s.perGen {
		s.prev, s.cur, s.entries = s.cur, map[uint64][]map[string]string{}, 0
	}
	s.cur[h] = append(s.cur[h], m)
	s.entries++
}

// hash is independent of the map's iteration order: the sum of each
// pair's hash.
func (s *sharedMaps) hash(m map[string]string) uint64 {
	var sum uint64
	var h maphash.Hash
	h.SetSeed(s.seed)
	for k, v := range m {
		h.Reset()
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		sum += h.Sum64()
	}
	return sum
}
