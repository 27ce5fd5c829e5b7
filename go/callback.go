package sbx

// Plumbing for callbacks from libsbx into Go, used by Notify (notify.go, notify_export.go):
//
//  1. The Go value that answers callbacks (a copy of the Cmd's Notify) goes into a
//     callbackEnv, and cgo.NewHandle(env) crosses into C as the `void *user_data` of the
//     registration (sbx_sandbox_new_with_notify). No Go pointer is ever stored in C memory.
//  2. libsbx calls back from its supervisor thread, which Go did not create; cgo runs the
//     exported Go function on a goroutine of its own. A static C trampoline (notify.go's
//     preamble) forwards each C callback to one //export'ed Go function (notify_export.go),
//     which finds the env with callbackEnvFrom(user_data) and runs the user's code through
//     env.invoke.
//  3. invoke recovers a panic in user code instead of letting it unwind through C frames
//     (which would crash the process), remembers it, and makes the trampoline answer C with
//     the safe choice (deny the traced call, veto the start). Later callbacks of that run are
//     not delivered to user code.
//  4. When the C call during which callbacks run returns to Go (sbx_sandbox_wait, inside
//     Cmd.Wait), env.rethrow re-raises the remembered panic on the caller's goroutine. invoke
//     and rethrow take env.mu, which also orders everything a callback did before what the
//     goroutine in Wait does next, in terms the race detector sees.
//  5. Objects handed to a callback (the traced syscall, the result) are views valid only
//     during the callback; the exported functions copy them into Go values first.
//  6. The handle is deleted when libsbx releases the user_data (its destroy callback): after
//     the last callback of a run, or in sbx_sandbox_free when no run began. When creating
//     the sandbox fails, libsbx calls nothing, and the caller deletes the handle itself.

import (
	"runtime/cgo"
	"sync"
	"sync/atomic"
)

// callbackEnv is what a callback's userdata handle refers to.
type callbackEnv struct {
	value any // what answers the callbacks

	mu       sync.Mutex
	panicked bool
	panicVal any
}

// liveCallbackEnvs counts the handles made by newCallbackEnv and not yet released, for the
// tests' leak checks.
var liveCallbackEnvs atomic.Int64

// newCallbackEnv registers value and returns the env and the handle to pass to C as userdata.
// The caller deletes the handle with releaseCallbackEnv.
func newCallbackEnv(value any) (*callbackEnv, cgo.Handle) {
	env := &callbackEnv{value: value}
	liveCallbackEnvs.Add(1)
	return env, cgo.NewHandle(env)
}

// callbackEnvFrom resolves userdata that C passes back to a callback. It panics on a handle
// that is not a live callbackEnv (a bug in the C side or in this package).
func callbackEnvFrom(userdata uintptr) *callbackEnv {
	env, ok := cgo.Handle(userdata).Value().(*callbackEnv)
	if !ok {
		panic("sbx: callback userdata is not a callbackEnv")
	}
	return env
}

// releaseCallbackEnv deletes the handle; userdata must not reach Go again afterwards.
func releaseCallbackEnv(h cgo.Handle) {
	h.Delete()
	liveCallbackEnvs.Add(-1)
}

// invoke runs f, the user's callback code, unless an earlier callback of this env panicked.
// It reports whether f ran to completion; on false the trampoline gives C the safe answer.
// A panic in f is recovered and remembered for rethrow, so it never unwinds through C.
func (e *callbackEnv) invoke(f func()) (ok bool) {
	e.mu.Lock()
	dead := e.panicked
	e.mu.Unlock()
	if dead {
		return false
	}
	defer func() {
		r := recover()
		e.mu.Lock() // also publishes what f did to the goroutine that calls rethrow
		if r != nil && !e.panicked {
			e.panicked = true
			e.panicVal = r
		}
		e.mu.Unlock()
		if r != nil {
			ok = false
		}
	}()
	f()
	return true
}

// rethrow re-raises, on the calling goroutine, a panic recovered by invoke, with its
// original value. Call it after the C call during which callbacks may run has returned.
func (e *callbackEnv) rethrow() {
	e.mu.Lock()
	p, v := e.panicked, e.panicVal
	e.mu.Unlock()
	if p {
		panic(v)
	}
}
