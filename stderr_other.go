//go:build !unix

package main

import "io"

// quietStderr leaves stderr as it is where fd 2 cannot be redirected.
func quietStderr() (restore func(report io.Writer)) { return func(io.Writer) {} }
