package sbx

// #include <sbx.h>
import "C"

import (
	"errors"
	"syscall"
)

// Code is a libsbx status code (the C ABI's sbx_status): what kind of failure an *Error
// reports. Codes never change their value.
type Code uint32

// The codes of the C ABI. Each has a sentinel error (ErrInvalidArgument, ...) that
// errors.Is matches against an *Error of that code.
const (
	// CodeOK is success; no *Error carries it.
	CodeOK Code = C.SBX_STATUS_OK
	// CodeNullParameter: a required pointer was NULL (a bug in this package if it shows).
	CodeNullParameter Code = C.SBX_STATUS_NULL_PARAMETER
	// CodeInvalidArgument: a bad value, such as an empty path, a NUL byte inside a string,
	// a relative working directory, a negative limit or a closed file.
	CodeInvalidArgument Code = C.SBX_STATUS_INVALID_ARGUMENT
	// CodePanic: libsbx panicked (a bug in libsbx); the objects involved may only be closed.
	CodePanic Code = C.SBX_STATUS_PANIC
	// CodeInvalidState: the call does not fit the object's state (starting twice, waiting
	// before starting, using a closed object).
	CodeInvalidState Code = C.SBX_STATUS_INVALID_STATE
	// CodeUnknownSyscall: a syscall name the native architecture does not have.
	CodeUnknownSyscall Code = C.SBX_STATUS_UNKNOWN_SYSCALL
	// CodeInvalidPolicy: the policy cannot be built as asked.
	CodeInvalidPolicy Code = C.SBX_STATUS_INVALID_POLICY
	// CodeWaitTimeout: a bounded wait gave up before the sandbox finished.
	CodeWaitTimeout Code = C.SBX_STATUS_WAIT_TIMEOUT
	// CodeUnsupported: a kernel feature libsbx needs is missing or disabled; the message
	// names the feature and the fix. Also used for a header/library version mismatch.
	CodeUnsupported Code = C.SBX_STATUS_UNSUPPORTED
	// CodeOSError: a host system call failed; Error.Errno holds its errno.
	CodeOSError Code = C.SBX_STATUS_OS_ERROR
)

// String returns libsbx's fixed English message for the code.
func (c Code) String() string {
	return C.GoString(C.sbx_status_message(C.uint32_t(c)))
}

// Sentinel errors, one per Code, for errors.Is:
//
//	if errors.Is(err, sbx.ErrUnknownSyscall) { ... }
//
// An *Error matches the sentinel of its Code; the sentinels themselves are plain values and
// carry no detail (use errors.As with *Error for Op, Errno and Message).
var (
	// ErrNullParameter matches CodeNullParameter.
	ErrNullParameter = errors.New("sbx: NULL parameter")
	// ErrInvalidArgument matches CodeInvalidArgument: bad input such as an empty path, a NUL
	// byte in a string, a relative directory, a closed file or an impossible limit.
	ErrInvalidArgument = errors.New("sbx: invalid argument")
	// ErrPanic matches CodePanic: a bug inside libsbx.
	ErrPanic = errors.New("sbx: libsbx panicked")
	// ErrInvalidState matches CodeInvalidState: misuse such as starting a Cmd twice,
	// waiting before starting, or starting with a closed Policy.
	ErrInvalidState = errors.New("sbx: invalid state")
	// ErrUnknownSyscall matches CodeUnknownSyscall: a syscall name the architecture lacks.
	ErrUnknownSyscall = errors.New("sbx: unknown syscall")
	// ErrInvalidPolicy matches CodeInvalidPolicy: rules that cannot be built as asked.
	ErrInvalidPolicy = errors.New("sbx: invalid policy")
	// ErrWaitTimeout matches CodeWaitTimeout.
	ErrWaitTimeout = errors.New("sbx: wait timed out")
	// ErrNotSupported matches CodeUnsupported: a kernel feature libsbx needs is missing or
	// disabled (the *Error's Message names it and the fix), or the library's version does not
	// match the header's.
	ErrNotSupported = errors.New("sbx: not supported")
	// ErrOS matches CodeOSError: a host system call failed (see Error.Errno).
	ErrOS = errors.New("sbx: system call failed")
	// ErrVersionMismatch is matched (besides ErrNotSupported) by the error CheckVersion
	// returns when the loaded libsbx is not the release the header describes.
	ErrVersionMismatch = errors.New("sbx: libsbx version does not match sbx.h")
)

var sentinels = map[Code]error{
	CodeNullParameter:   ErrNullParameter,
	CodeInvalidArgument: ErrInvalidArgument,
	CodePanic:           ErrPanic,
	CodeInvalidState:    ErrInvalidState,
	CodeUnknownSyscall:  ErrUnknownSyscall,
	CodeInvalidPolicy:   ErrInvalidPolicy,
	CodeWaitTimeout:     ErrWaitTimeout,
	CodeUnsupported:     ErrNotSupported,
	CodeOSError:         ErrOS,
}

// Error is a failed libsbx call (or a check this package makes before calling libsbx).
//
// It reports a problem with the request or the host, never something the sandboxee did:
// that is a Result (see Result.Err). Use errors.Is with the Err* sentinels to test the Code,
// errors.Is with a syscall.Errno (or fs.ErrPermission and friends) to test Errno, and
// errors.As to get the *Error itself.
type Error struct {
	// Code is the kind of failure.
	Code Code
	// Op names what failed: the libsbx C function (such as "sbx_sandbox_start") or the Go
	// method that rejected the input before calling C.
	Op string
	// Errno is the errno of the failed host system call for CodeOSError, else 0.
	Errno syscall.Errno
	// Message is libsbx's one-line description (the argument, the step, the missing
	// feature and its fix).
	Message string

	// match is an extra sentinel the error also matches (ErrVersionMismatch).
	match error
}

// Error returns "sbx: <op>: <message>".
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.String()
	}
	if e.Op == "" {
		return "sbx: " + msg
	}
	return "sbx: " + e.Op + ": " + msg
}

// Is reports whether target is the sentinel of e's Code (ErrInvalidArgument for
// CodeInvalidArgument, ...), or an *Error with the same Code and, when set, the same Op.
func (e *Error) Is(target error) bool {
	if target == nil {
		return false
	}
	if s, ok := sentinels[e.Code]; ok && s == target {
		return true
	}
	if e.match != nil && e.match == target {
		return true
	}
	if t, ok := target.(*Error); ok {
		return t.Code == e.Code && (t.Op == "" || t.Op == e.Op)
	}
	return false
}

// Unwrap returns Errno when it is set, so errors.Is(err, syscall.EMFILE) and
// errors.Is(err, fs.ErrPermission) work; nil otherwise.
func (e *Error) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}
