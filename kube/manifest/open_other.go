//go:build !unix

package manifest

// openNonBlocking: elsewhere the Stat before the open is the guard.
const openNonBlocking = 0
