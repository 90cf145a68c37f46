package kube

import (
	"hash/maphash"
	"maps"
	"reflect"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// shared hands out one value for each of the equal values that many
// objects repeat: the pods of one ReplicaSet carry identical label and
// annotation maps and identical containers, and at 10,000 pods a copy per
// pod is megabytes. The informer caches never modify an object (see slim),
// so sharing a value between objects is as safe as sharing its strings.
//
// It forgets values in two generations rather than tracking which objects
// still hold them: once the current generation is full it becomes the
// previous one and the one before is dropped. A forgotten value stays with
// the objects that hold it; the next object with an equal one gets its own
// and shares it from then on. So the cache holds at most two generations'
// worth of entries however the cluster churns, and a value a live
// workload's pods share is found in either.
type shared[T any] struct {
	hash  func(maphash.Seed, T) uint64
	equal func(a, b T) bool
	own   func(T) T // the value to keep for a new entry

	mu        sync.Mutex
	seed      maphash.Seed
	cur, prev map[uint64][]T
	entries   int // in cur
	perGen    int
}

// sharedPerGen bounds each generation: more distinct sets than a
// 50,000-pod cluster has workloads, at about 50 bytes an entry.
const sharedPerGen = 1 << 15

func newShared[T any](perGen int, hash func(maphash.Seed, T) uint64, equal func(a, b T) bool, own func(T) T) *shared[T] {
	return &shared[T]{hash: hash, equal: equal, own: own, seed: maphash.MakeSeed(), cur: map[uint64][]T{}, perGen: perGen}
}

// share returns the shared value equal to v.
func (s *shared[T]) share(v T) T {
	h := s.hash(s.seed, v)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cur[h] {
		if s.equal(c, v) {
			return c
		}
	}
	for _, c := range s.prev[h] {
		if s.equal(c, v) {
			s.add(h, c)
			return c
		}
	}
	c := s.own(v)
	s.add(h, c)
	return c
}

func (s *shared[T]) add(h uint64, v T) {
	if s.entries >= s.perGen {
		s.prev, s.cur, s.entries = s.cur, map[uint64][]T{}, 0
	}
	s.cur[h] = append(s.cur[h], v)
	s.entries++
}

// newSharedMaps shares label and annotation maps, keeping for each set a
// copy with its keys and values interned (never the object's own map,
// which may be a fake tracker's).
func newSharedMaps(perGen int) *shared[map[string]string] {
	return newShared(perGen, hashMap, maps.Equal[map[string]string], func(m map[string]string) map[string]string {
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[intern(k)] = intern(v)
		}
		return out
	})
}

// hashMap is independent of the map's iteration order: the sum of each
// pair's hash.
func hashMap(seed maphash.Seed, m map[string]string) uint64 {
	var sum uint64
	var h maphash.Hash
	h.SetSeed(seed)
	for k, v := range m {
		h.Reset()
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		sum += h.Sum64()
	}
	return sum
}

// newSharedContainers shares a pod's slimmed containers. The hash reads
// the names, images and ports; equality is every field slim keeps, so a
// field kept later takes part without a change here.
func newSharedContainers(perGen int) *shared[[]corev1.Container] {
	return newShared(perGen, hashContainers, func(a, b []corev1.Container) bool { return reflect.DeepEqual(a, b) },
		func(c []corev1.Container) []corev1.Container { return c })
}

func hashContainers(seed maphash.Seed, cs []corev1.Container) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for i := range cs {
		c := &cs[i]
		h.WriteString(c.Name)
		h.WriteByte(0)
		h.WriteString(c.Image)
		h.WriteByte(0)
		for _, p := range c.Ports {
			maphash.WriteComparable(&h, p)
		}
	}
	return h.Sum64()
}

// newSharedStatuses shares a pod's slimmed container statuses: name,
// readiness, restart count and whether it started, which the pods of a
// healthy workload all have alike. At 10,000 pods a copy each was 4 MiB
// of the live heap (BENCHMARKS.md).
func newSharedStatuses(perGen int) *shared[[]corev1.ContainerStatus] {
	return newShared(perGen, hashStatuses, equalStatuses, func(cs []corev1.ContainerStatus) []corev1.ContainerStatus {
		out := make([]corev1.ContainerStatus, len(cs))
		for i, c := range cs {
			out[i] = corev1.ContainerStatus{Name: c.Name, Ready: c.Ready, RestartCount: c.RestartCount, Started: sharedBool(c.Started)}
		}
		return out
	})
}

func hashStatuses(seed maphash.Seed, cs []corev1.ContainerStatus) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for i := range cs {
		c := &cs[i]
		h.WriteString(c.Name)
		maphash.WriteComparable(&h, [4]int32{b2i(c.Ready), c.RestartCount, b2i(c.Started != nil), b2i(c.Started != nil && *c.Started)})
	}
	return h.Sum64()
}

// equalStatuses compares every field slim keeps of a status; slimPod
// zeroes the rest, so a field kept later must be added here.
func equalStatuses(a, b []corev1.ContainerStatus) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Name != y.Name || x.Ready != y.Ready || x.RestartCount != y.RestartCount || (x.Started == nil) != (y.Started == nil) ||
			x.Started != nil && *x.Started != *y.Started {
			return false
		}
	}
	return true
}

// newSharedOwners shares objects' owner references: every pod of a
// ReplicaSet names the same owner, a slice, two strings and two *bool
// each (about 1.8 MiB at 10,000 pods).
func newSharedOwners(perGen int) *shared[[]metav1.OwnerReference] {
	return newShared(perGen, hashOwners, func(a, b []metav1.OwnerReference) bool { return reflect.DeepEqual(a, b) },
		func(rs []metav1.OwnerReference) []metav1.OwnerReference {
			out := make([]metav1.OwnerReference, len(rs))
			for i, r := range rs {
				out[i] = metav1.OwnerReference{APIVersion: intern(r.APIVersion), Kind: intern(r.Kind), Name: intern(r.Name), UID: types.UID(intern(string(r.UID))),
					Controller: sharedBool(r.Controller), BlockOwnerDeletion: sharedBool(r.BlockOwnerDeletion)}
			}
			return out
		})
}

func hashOwners(seed maphash.Seed, rs []metav1.OwnerReference) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for i := range rs {
		h.WriteString(string(rs[i].UID))
		h.WriteByte(0)
		h.WriteString(rs[i].Name)
		h.WriteByte(0)
	}
	return h.Sum64()
}

var boolTrue, boolFalse = true, false

// sharedBool is a pointer to a process-wide true or false, nil for nil.
func sharedBool(b *bool) *bool {
	switch {
	case b == nil:
		return nil
	case *b:
		return &boolTrue
	}
	return &boolFalse
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// The process's caches: slim is a plain transform shared by every informer.
var (
	labelMaps  = newSharedMaps(sharedPerGen)
	containers = newSharedContainers(sharedPerGen)
	statuses   = newSharedStatuses(sharedPerGen)
	owners     = newSharedOwners(sharedPerGen)
)
