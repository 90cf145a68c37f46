//go:build race

package ambient_test

const raceEnabled = true
