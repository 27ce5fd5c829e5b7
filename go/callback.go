package sbx

// Plumbing for callbacks from libsbx into Go. The C ABI has no callbacks yet (libsbx's Rust
// Notify hooks, on start, violation, traced syscall, signal and finish, are not exported); this
// file holds the Go half so that adding them needs no new design:
//
//  1. The Go value that answers callbacks (a Notify implementation, say) goes into a
//     callbackEnv, and cgo.NewHandle(env) crosses into C as the `void *userdata` of the
//     registration function. No Go pointer is ever stored in C memory.
//  2. libsbx calls back from its monitor thread, which Go did not create; cgo runs the
//     exported Go function on a fresh M. A static C trampoline in a .c file of this package
//     forwards each C callback to one //export'ed Go function, which finds the env with
//     callbackEnvFrom(userdata) and runs the user's code through env.invoke.
//  3. invoke recovers a panic in user code instead of letting it unwind through C frames
//     (which would crash the process), remembers it, and makes the trampoline answer C with
//     the safe choice (deny the traced call, veto the start). Later callbacks of that run are
//     not delivered to user code.
//  4. When the C call during which callbacks run returns to Go (sbx_sandbox_wait, inside
//     Cmd.Wait), env.rethrow re-raises the remembered panic on the caller's goroutine.
//  5. Objects handed to a callback (such as a view of the traced syscall) are valid only
//     during the callback; the trampoline invalidates them before returning to C.
//  6. The handle is deleted when libsbx releases the userdata (its free callback) or, at the
//     latest, when the sandbox is freed.

import (
	"runtime/cgo"
	"sync"
)

// callbackEnv is what a callback's userdata handle refers to.
type callbackEnv struct {
	value any // what answers the callbacks

	mu       sync.Mutex
	panicked bool
	panicVal any
}

// newCallbackEnv registers value and returns the env and the handle to pass to C as userdata.
// The caller deletes the handle with releaseCallbackEnv.
func newCallbackEnv(value any) (*callbackEnv, cgo.Handle) {
	env := &callbackEnv{value: value}
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
		if r := recover(); r != nil {
			e.mu.Lock()
			if !e.panicked {
				e.panicked = true
				e.panicVal = r
			}
			e.mu.Unlock()
			ok = false
		}
	}()
	f()
	return true
}

// rethrow re-raises, on the calling goroutine, a panic recovered by invoke, with its
// original value. Call it after the
// C call during which callbacks may run has returned.
func (e *callbackEnv) rethrow() {
	e.mu.Lock()
	p, v := e.panicked, e.panicVal
	e.mu.Unlock()
	if p {
		panic(v)
	}
}
