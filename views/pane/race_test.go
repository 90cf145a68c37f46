//go:build race

package pane

const raceEnabled = true
