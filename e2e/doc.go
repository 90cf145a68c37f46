// Package e2e holds end-to-end tests of the ambx binary as a person uses it:
// built once, run in a real terminal (tmux), driven by keys and read back
// from the screen. It has no code of its own outside its tests.
package e2e
