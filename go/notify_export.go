package sbx

// The Go ends of the notify trampolines in notify.go. libsbx calls them on its supervisor thread,
// which Go did not create; cgo runs each on a goroutine of its own. This file holds //export
// functions, so its preamble may only declare, never define (see "C references to Go" in
// cmd/cgo); the C trampolines live in notify.go.

/*
#include <stdint.h>
#include <sbx.h>
*/
import "C"

import (
	"runtime/cgo"
	"syscall"
)

//export sbxGoNotifyStarted
func sbxGoNotifyStarted(env C.uintptr_t, pid C.int32_t) C.bool {
	e := callbackEnvFrom(uintptr(env))
	n := notifyOf(e)
	goOn := false
	if !e.invoke(func() { goOn = n.Started(int(pid)) }) {
		return false // a panic vetoes the run
	}
	return C.bool(goOn)
}

//export sbxGoNotifyTrace
func sbxGoNotifyTrace(env C.uintptr_t, call *C.sbx_violation, errnoOut *C.int32_t) C.uint32_t {
	e := callbackEnvFrom(uintptr(env))
	n := notifyOf(e)
	sc := newSyscall(call) // a copy: the view is valid only during this call
	action := TraceDeny
	if !e.invoke(func() { action = n.Trace(sc) }) {
		return C.SBX_TRACE_ACTION_DENY
	}
	kind, errno := action.cAction()
	*errnoOut = errno
	return kind
}

//export sbxGoNotifyViolation
func sbxGoNotifyViolation(env C.uintptr_t, call *C.sbx_violation) {
	e := callbackEnvFrom(uintptr(env))
	n := notifyOf(e)
	sc := newSyscall(call)
	e.invoke(func() { n.Violation(sc) })
}

//export sbxGoNotifySignal
func sbxGoNotifySignal(env C.uintptr_t, pid, sig C.int32_t) {
	e := callbackEnvFrom(uintptr(env))
	n := notifyOf(e)
	e.invoke(func() { n.Signal(int(pid), syscall.Signal(sig)) })
}

//export sbxGoNotifyFinished
func sbxGoNotifyFinished(env C.uintptr_t, result *C.sbx_result) {
	e := callbackEnvFrom(uintptr(env))
	n := notifyOf(e)
	res := newResult(result) // a copy: the view is valid only during this call
	e.invoke(func() { n.Finished(res) })
}

//export sbxGoNotifyDestroy
func sbxGoNotifyDestroy(env C.uintptr_t) {
	// libsbx is done with user_data: after the last callback of a run, or when the sandbox
	// is freed without one. The env itself stays reachable from the sandbox for rethrow.
	releaseCallbackEnv(cgo.Handle(env))
}
