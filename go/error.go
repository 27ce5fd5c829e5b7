package sbx

// #include <sbx.h>
import "C"

import (
	"errors"
	"strconv"
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
	// CodeInvalidHandle: a handle that is not a live one of the expected type (freed,
	// consumed, of another type, or in use by another call); this package's own checks
	// usually report such misuse as CodeInvalidState first.
	CodeInvalidHandle Code = C.SBX_STATUS_INVALID_HANDLE
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
	// CodeComms: a comms channel failed; Error.CommsCode says how (and whether the channel
	// is still usable).
	CodeComms Code = C.SBX_STATUS_COMMS
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
	// ErrInvalidHandle matches CodeInvalidHandle.
	ErrInvalidHandle = errors.New("sbx: invalid handle")
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
	// ErrComms matches CodeComms: any failure of a comms channel. The ErrComms* sentinels
	// (ErrCommsClosed, ErrCommsTagMismatch, ...) tell them apart.
	ErrComms = errors.New("sbx: comms failed")
	// ErrVersionMismatch is matched (besides ErrNotSupported) by the error CheckVersion
	// returns when the loaded libsbx is not the release the header describes.
	ErrVersionMismatch = errors.New("sbx: libsbx version does not match sbx.h")
)

var sentinels = map[Code]error{
	CodeNullParameter:   ErrNullParameter,
	CodeInvalidArgument: ErrInvalidArgument,
	CodePanic:           ErrPanic,
	CodeInvalidState:    ErrInvalidState,
	CodeInvalidHandle:   ErrInvalidHandle,
	CodeUnknownSyscall:  ErrUnknownSyscall,
	CodeInvalidPolicy:   ErrInvalidPolicy,
	CodeWaitTimeout:     ErrWaitTimeout,
	CodeUnsupported:     ErrNotSupported,
	CodeOSError:         ErrOS,
	CodeComms:           ErrComms,
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
	// CommsCode says how a comms channel failed for CodeComms, else it is CommsOK.
	CommsCode CommsCode

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
// CodeInvalidArgument, ...) or of its CommsCode (ErrCommsClosed for CommsClosed, ...), or an
// *Error with the same Code and, when set, the same Op and CommsCode.
func (e *Error) Is(target error) bool {
	if target == nil {
		return false
	}
	if s, ok := sentinels[e.Code]; ok && s == target {
		return true
	}
	if e.Code == CodeComms {
		if s, ok := commsSentinels[e.CommsCode]; ok && s == target {
			return true
		}
	}
	if e.match != nil && e.match == target {
		return true
	}
	if t, ok := target.(*Error); ok {
		return t.Code == e.Code && (t.Op == "" || t.Op == e.Op) &&
			(t.CommsCode == CommsOK || t.CommsCode == e.CommsCode)
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

// CommsCode is how a comms channel failed (the C ABI's sbx_comms_error), carried by an *Error
// with CodeComms. Some failures terminate the channel (Comms.Terminated then reports true and
// every later call fails with CommsClosed); the others consumed exactly one bad message and
// leave the channel usable. Each constant says which. Codes never change their value.
type CommsCode uint32

// The comms failure codes. Each has a sentinel error (ErrCommsClosed, ...) that errors.Is
// matches against an *Error carrying it.
const (
	// CommsOK: not a comms failure (the *Error has another Code).
	CommsOK CommsCode = C.SBX_COMMS_ERROR_NONE
	// CommsClosed: the peer closed the channel at a message boundary (the sandboxee exited,
	// say), the connection was reset, or this end was terminated or closed earlier.
	// Terminal.
	CommsClosed CommsCode = C.SBX_COMMS_ERROR_CLOSED
	// CommsTruncated: the peer closed the channel in the middle of a message. Terminal.
	CommsTruncated CommsCode = C.SBX_COMMS_ERROR_TRUNCATED
	// CommsTagMismatch: a message arrived with another tag than the typed receive expected
	// (an int32 where a string was expected, say). The message was consumed (descriptors it
	// carried were closed); the channel stays usable.
	CommsTagMismatch CommsCode = C.SBX_COMMS_ERROR_TAG_MISMATCH
	// CommsBadLength: the tag was right but the payload length does not fit the type.
	// Consumed; the channel stays usable.
	CommsBadLength CommsCode = C.SBX_COMMS_ERROR_BAD_LENGTH
	// CommsTooLarge: an incoming message claimed more than Comms.MaxMessageSize (terminal;
	// nothing was allocated), or a payload to send is above the wire format's hard maximum
	// of 2^31-1 bytes (nothing was sent; the channel stays usable).
	CommsTooLarge CommsCode = C.SBX_COMMS_ERROR_TOO_LARGE
	// CommsBadCustomTag: a custom tag at or above 0x80000000, the range reserved for
	// libsbx's and sandbox2's own tags. Nothing was sent or received.
	CommsBadCustomTag CommsCode = C.SBX_COMMS_ERROR_BAD_CUSTOM_TAG
	// CommsFdCount: a descriptor message carried no descriptor or more than one. All were
	// closed; consumed; the channel stays usable.
	CommsFdCount CommsCode = C.SBX_COMMS_ERROR_FD_COUNT
	// CommsControlTruncated: the kernel truncated the ancillary data (too many descriptors,
	// or the descriptor table is full). Consumed; the channel stays usable.
	CommsControlTruncated CommsCode = C.SBX_COMMS_ERROR_CONTROL_TRUNCATED
	// CommsNoCredentials: a credentials message came without credentials (this end lacks
	// SO_PASSCRED, see Comms.SetPassCreds) or with conflicting ones. Consumed; the channel
	// stays usable.
	CommsNoCredentials CommsCode = C.SBX_COMMS_ERROR_NO_CREDENTIALS
	// CommsInvalidValue: the payload is not a valid value of its type (a bool other than 0
	// or 1, a string that is not UTF-8). Consumed; the channel stays usable.
	CommsInvalidValue CommsCode = C.SBX_COMMS_ERROR_INVALID_VALUE
	// CommsTimeout: the timeout set with Comms.SetTimeout expired. The channel stays usable
	// if no byte of the message had moved yet; otherwise it is terminated (see
	// Comms.Terminated).
	CommsTimeout CommsCode = C.SBX_COMMS_ERROR_TIMEOUT
	// CommsInvalidFd: the descriptor given for a channel is unusable (not open, not a unix
	// stream socket, already claimed by ClientComms). No channel was created.
	CommsInvalidFd CommsCode = C.SBX_COMMS_ERROR_INVALID_FD
	// CommsIO: another system call failed; Error.Errno holds its errno. Terminal when it
	// happened on the channel's socket, except for errors the kernel reported before a send
	// moved any byte.
	CommsIO CommsCode = C.SBX_COMMS_ERROR_IO
)

var commsCodeNames = [...]string{
	CommsOK:               "NONE",
	CommsClosed:           "CLOSED",
	CommsTruncated:        "TRUNCATED",
	CommsTagMismatch:      "TAG_MISMATCH",
	CommsBadLength:        "BAD_LENGTH",
	CommsTooLarge:         "TOO_LARGE",
	CommsBadCustomTag:     "BAD_CUSTOM_TAG",
	CommsFdCount:          "FD_COUNT",
	CommsControlTruncated: "CONTROL_TRUNCATED",
	CommsNoCredentials:    "NO_CREDENTIALS",
	CommsInvalidValue:     "INVALID_VALUE",
	CommsTimeout:          "TIMEOUT",
	CommsInvalidFd:        "INVALID_FD",
	CommsIO:               "IO",
}

// String returns the code's name as in the C ABI without its prefix ("TAG_MISMATCH"), or
// "CommsCode(N)" for a value libsbx does not define.
func (c CommsCode) String() string {
	if int(c) < len(commsCodeNames) {
		return commsCodeNames[c]
	}
	return "CommsCode(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// Sentinel errors, one per CommsCode, for errors.Is:
//
//	if errors.Is(err, sbx.ErrCommsClosed) { ... } // the sandboxee is gone
//
// An *Error with CodeComms matches the sentinel of its CommsCode (and ErrComms).
var (
	// ErrCommsClosed matches CommsClosed: the peer is gone or the channel was closed.
	ErrCommsClosed = errors.New("sbx: comms channel closed")
	// ErrCommsTruncated matches CommsTruncated.
	ErrCommsTruncated = errors.New("sbx: comms message truncated")
	// ErrCommsTagMismatch matches CommsTagMismatch: a message of another type arrived.
	ErrCommsTagMismatch = errors.New("sbx: comms message has an unexpected tag")
	// ErrCommsBadLength matches CommsBadLength.
	ErrCommsBadLength = errors.New("sbx: comms message has a bad length")
	// ErrCommsTooLarge matches CommsTooLarge.
	ErrCommsTooLarge = errors.New("sbx: comms message too large")
	// ErrCommsBadCustomTag matches CommsBadCustomTag.
	ErrCommsBadCustomTag = errors.New("sbx: comms custom tag in the reserved range")
	// ErrCommsFdCount matches CommsFdCount.
	ErrCommsFdCount = errors.New("sbx: comms message carries the wrong number of descriptors")
	// ErrCommsControlTruncated matches CommsControlTruncated.
	ErrCommsControlTruncated = errors.New("sbx: comms ancillary data truncated")
	// ErrCommsNoCredentials matches CommsNoCredentials.
	ErrCommsNoCredentials = errors.New("sbx: comms message without credentials")
	// ErrCommsInvalidValue matches CommsInvalidValue.
	ErrCommsInvalidValue = errors.New("sbx: comms value invalid for its type")
	// ErrCommsTimeout matches CommsTimeout.
	ErrCommsTimeout = errors.New("sbx: comms timed out")
	// ErrCommsInvalidFd matches CommsInvalidFd: no usable channel descriptor.
	ErrCommsInvalidFd = errors.New("sbx: no usable comms descriptor")
	// ErrCommsIO matches CommsIO (see Error.Errno).
	ErrCommsIO = errors.New("sbx: comms I/O failed")
)

var commsSentinels = map[CommsCode]error{
	CommsClosed:           ErrCommsClosed,
	CommsTruncated:        ErrCommsTruncated,
	CommsTagMismatch:      ErrCommsTagMismatch,
	CommsBadLength:        ErrCommsBadLength,
	CommsTooLarge:         ErrCommsTooLarge,
	CommsBadCustomTag:     ErrCommsBadCustomTag,
	CommsFdCount:          ErrCommsFdCount,
	CommsControlTruncated: ErrCommsControlTruncated,
	CommsNoCredentials:    ErrCommsNoCredentials,
	CommsInvalidValue:     ErrCommsInvalidValue,
	CommsTimeout:          ErrCommsTimeout,
	CommsInvalidFd:        ErrCommsInvalidFd,
	CommsIO:               ErrCommsIO,
}
