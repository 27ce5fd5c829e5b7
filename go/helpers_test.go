package sbx

import (
	"runtime"
	"runtime/cgo"
	"testing"
)

// newHandleTo makes a cgo.Handle to v, deleted when the test ends.
func newHandleTo(t *testing.T, v any) uintptr {
	h := cgo.NewHandle(v)
	t.Cleanup(h.Delete)
	return uintptr(h)
}

// runtime_GC runs a collection; finalizers run on their own goroutine afterwards.
func runtime_GC() { runtime.GC() }
