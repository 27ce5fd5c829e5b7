package sbx

import (
	"os"
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

// withTestMonitor applies SBX_TEST_MONITOR=ptrace (scripts/test-go.sh runs the suite once per
// monitor; the default, auto, is user-notify for namespaced sandboxes).
func withTestMonitor(b *PolicyBuilder) *PolicyBuilder {
	if os.Getenv("SBX_TEST_MONITOR") == "ptrace" {
		b.SetMonitor(MonitorPtrace)
	}
	return b
}
