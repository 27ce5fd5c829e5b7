//go:build sbxgcstress

package sbx

import "runtime"

// maybeGC forces a garbage collection (and a round of finalizers) before every C call made
// through a handle, so a handle that is finalized too early is freed while C still uses it and
// the tests crash instead of passing by luck. Build with -tags sbxgcstress; it is slow.
func maybeGC() {
	runtime.GC()
}

// gcStress reports whether the package was built with the sbxgcstress tag.
const gcStress = true
