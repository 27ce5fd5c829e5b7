package sbx

// Notify: Go functions that libsbx's monitor calls while a sandbox runs. The C side is
// sbx_notify_callbacks: the static trampolines below are what libsbx calls; each forwards to
// one //export'ed Go function of notify_export.go, passing user_data, which is a
// runtime/cgo.Handle of the run's callbackEnv (see callback.go), as an integer.

/*
#include <stdint.h>
#include <sbx.h>

// The Go functions of notify_export.go, declared as cgo writes them into _cgo_export.h.
extern _Bool sbxGoNotifyStarted(uintptr_t env, int32_t pid);
extern uint32_t sbxGoNotifyTrace(uintptr_t env, sbx_violation *call, int32_t *errno_out);
extern void sbxGoNotifyViolation(uintptr_t env, sbx_violation *call);
extern void sbxGoNotifySignal(uintptr_t env, int32_t pid, int32_t sig);
extern void sbxGoNotifyFinished(uintptr_t env, sbx_result *result);
extern void sbxGoNotifyDestroy(uintptr_t env);

static bool sbx_go_started(void *ud, int32_t pid) {
	return sbxGoNotifyStarted((uintptr_t)ud, pid);
}
static uint32_t sbx_go_trace(void *ud, const sbx_syscall *call, int32_t *errno_out) {
	return sbxGoNotifyTrace((uintptr_t)ud, (sbx_violation *)call, errno_out);
}
static void sbx_go_violation(void *ud, const sbx_syscall *call) {
	sbxGoNotifyViolation((uintptr_t)ud, (sbx_violation *)call);
}
static void sbx_go_signal(void *ud, int32_t pid, int32_t sig) {
	sbxGoNotifySignal((uintptr_t)ud, pid, sig);
}
static void sbx_go_finished(void *ud, const sbx_result *result) {
	sbxGoNotifyFinished((uintptr_t)ud, (sbx_result *)result);
}
static void sbx_go_destroy(void *ud) {
	sbxGoNotifyDestroy((uintptr_t)ud);
}

enum {
	SBX_GO_STARTED = 1,
	SBX_GO_TRACE = 2,
	SBX_GO_VIOLATION = 4,
	SBX_GO_SIGNAL = 8,
	SBX_GO_FINISHED = 16,
};

// Fills *cb with the trampolines selected by `which` (the others stay NULL, libsbx's
// defaults, so no call crosses into Go for them), destroy always, and the handle as user_data.
static void sbx_go_notify_callbacks(sbx_notify_callbacks *cb, uintptr_t env, uint32_t which) {
	cb->started = (which & SBX_GO_STARTED) ? sbx_go_started : NULL;
	cb->trace = (which & SBX_GO_TRACE) ? sbx_go_trace : NULL;
	cb->violation = (which & SBX_GO_VIOLATION) ? sbx_go_violation : NULL;
	cb->signal = (which & SBX_GO_SIGNAL) ? sbx_go_signal : NULL;
	cb->finished = (which & SBX_GO_FINISHED) ? sbx_go_finished : NULL;
	cb->destroy = sbx_go_destroy;
	cb->user_data = (void *)env;
}
*/
import "C"

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"
)

// Notify holds functions that libsbx's monitor calls while a sandbox runs (sandbox2's Notify
// hooks), set with Cmd.Notify. Every field is optional; a nil one gets libsbx's default,
// noted beside it.
//
// The functions run on libsbx's supervisor thread (one per process, shared by every sandbox:
// a slow function delays every sandbox), not on the goroutine that called Start or
// Wait, one at a time, while the sandboxee (or the thread concerned) is stopped. So:
//
//   - Whatever they share with other goroutines needs synchronisation. Everything they did
//     happens before Wait returns.
//   - Keep them short, and never wait in one for something the sandboxee or the Cmd must do:
//     they must not call Wait, Run or Close of the Cmd that calls them (Kill and Pid are
//     fine).
//   - The values they receive are copies (plain Go data), safe to keep.
//
// A panic in a function is recovered on the supervisor thread (it would otherwise crash the
// process): the run gets the safe answer (Started vetoes, Trace denies), no further function
// of that run is called, and Wait re-raises the panic, with its original value, in the
// goroutine that called it, once the sandbox is released.
type Notify struct {
	// Started is called when the sandboxee (host pid pid) is set up and about to run the
	// program. Returning false vetoes the run: it ends as StatusSetupError with Reason
	// "FAILED_NOTIFY" (Wait returns a *SetupError). Nil: the run goes on.
	Started func(pid int) bool

	// Trace is called for a syscall that a trace rule of the policy (PolicyBuilder.TraceSyscall,
	// ActionTrace) handed to the monitor, and decides it: TraceAllow lets it run,
	// TraceErrno(e) makes it fail with e without running it, TraceDeny ends the run as a
	// policy violation naming it. Nil: every traced call is denied.
	Trace func(call Syscall) TraceAction

	// Violation is called when call broke the policy (a denied traced call included), just
	// before the sandbox is killed. Nil: nothing.
	Violation func(call Syscall)

	// Signal is called when task pid of the sandbox is about to receive signal sig, which is
	// then delivered unchanged. Nil: nothing.
	// Only the ptrace monitor (MonitorPtrace, or MonitorAuto without namespaces) sees signals.
	Signal func(pid int, sig syscall.Signal)

	// Finished is called once when the run is over, with the Result Wait will return. Nil:
	// nothing.
	Finished func(res *Result)
}

// which returns the SBX_GO_* bits of the functions that are set.
func (n *Notify) which() C.uint32_t {
	var w C.uint32_t
	if n.Started != nil {
		w |= C.SBX_GO_STARTED
	}
	if n.Trace != nil {
		w |= C.SBX_GO_TRACE
	}
	if n.Violation != nil {
		w |= C.SBX_GO_VIOLATION
	}
	if n.Signal != nil {
		w |= C.SBX_GO_SIGNAL
	}
	if n.Finished != nil {
		w |= C.SBX_GO_FINISHED
	}
	return w
}

// notifyOf returns the *Notify a callback env holds.
func notifyOf(env *callbackEnv) *Notify {
	n, ok := env.value.(*Notify)
	if !ok {
		panic("sbx: notify callback env holds no *Notify")
	}
	return n
}

// TraceAction is what Notify.Trace decides for a traced syscall: TraceAllow, TraceDeny or
// TraceErrno(errno). The zero TraceAction denies.
type TraceAction struct {
	kind  uint32
	errno syscall.Errno
}

var (
	// TraceAllow lets the traced syscall run.
	TraceAllow = TraceAction{kind: C.SBX_TRACE_ACTION_ALLOW}
	// TraceDeny treats the traced syscall as a policy violation: the run ends with
	// StatusViolation naming it (and Notify.Violation is called for it).
	TraceDeny = TraceAction{kind: C.SBX_TRACE_ACTION_DENY}
)

// TraceErrno skips the traced syscall and makes it fail with errno, which must be 1..4095
// (such as syscall.EPERM); any other value denies the call.
func TraceErrno(errno syscall.Errno) TraceAction {
	return TraceAction{kind: C.SBX_TRACE_ACTION_ERRNO, errno: errno}
}

// Errno returns the errno of a TraceErrno action, else 0.
func (a TraceAction) Errno() syscall.Errno {
	if a.kind != C.SBX_TRACE_ACTION_ERRNO {
		return 0
	}
	return a.errno
}

// String returns "ALLOW", "DENY" or "ERRNO(<errno>)".
func (a TraceAction) String() string {
	switch a.kind {
	case C.SBX_TRACE_ACTION_ALLOW:
		return "ALLOW"
	case C.SBX_TRACE_ACTION_ERRNO:
		return fmt.Sprintf("ERRNO(%d)", uintptr(a.errno))
	}
	return "DENY"
}

// cAction returns the SBX_TRACE_ACTION_* value and errno to hand to libsbx. An errno that
// does not fit becomes -1, which libsbx denies like any errno outside 1..4095.
func (a TraceAction) cAction() (C.uint32_t, C.int32_t) {
	switch a.kind {
	case C.SBX_TRACE_ACTION_ALLOW:
		return C.SBX_TRACE_ACTION_ALLOW, 0
	case C.SBX_TRACE_ACTION_ERRNO:
		if uint64(a.errno) > math.MaxInt32 {
			return C.SBX_TRACE_ACTION_ERRNO, -1
		}
		return C.SBX_TRACE_ACTION_ERRNO, C.int32_t(a.errno)
	}
	return C.SBX_TRACE_ACTION_DENY, 0
}

// Syscall is a system call made in the sandbox, as the kernel presented it to seccomp: what
// Notify.Trace and Notify.Violation receive. It carries the same data as a Result's
// Violation.
type Syscall struct {
	// Arch is the ABI the call came through: "X86-64", "X86-32" (int 0x80 on x86-64),
	// "X32", "AARCH64", ...
	Arch string
	// Name is the kernel's name of the call in that ABI ("UNKNOWN" when not in the table).
	Name string
	// Nr is the syscall number in that ABI's numbering (x32 numbers have bit 30 set).
	Nr uint64
	// Args holds the six raw argument registers.
	Args [6]uint64
	// Pid is the host pid of the thread that made the call.
	Pid int
	// IP is the instruction pointer at the call.
	IP uint64
	// SP is the stack pointer at the call.
	SP uint64
}

// String returns the call as "[X86-64] personality(0xffffffff, 0x0, 0x0, 0x0, 0x0, 0x0)".
func (s Syscall) String() string {
	return formatCall(s.Arch, s.Name, s.Args)
}

func formatCall(arch, name string, args [6]uint64) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = "0x" + strconv.FormatUint(a, 16)
	}
	return fmt.Sprintf("[%s] %s(%s)", arch, name, strings.Join(parts, ", "))
}

// notifyCallbacks returns the C callbacks for n with env's handle as user_data.
func notifyCallbacks(n *Notify, handle uintptr) C.sbx_notify_callbacks {
	var cb C.sbx_notify_callbacks
	C.sbx_go_notify_callbacks(&cb, C.uintptr_t(handle), n.which())
	return cb
}
