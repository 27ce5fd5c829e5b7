//go:build !sbxgcstress

package sbx

// maybeGC is called by every handle accessor (ptr) before a C call. In normal builds it does
// nothing; with the build tag sbxgcstress it forces a collection, so a missing
// runtime.KeepAlive (a handle finalized while C still uses its pointer) fails fast in tests.
func maybeGC() {}

// gcStress reports whether the package was built with the sbxgcstress tag.
const gcStress = false
