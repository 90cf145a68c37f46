//go:build !race

package workloads_test

// raceEnabled says the race detector is on, which makes more values escape
// to the heap, so allocation bounds do not hold.
const raceEnabled = false
