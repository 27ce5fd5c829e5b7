package sbx

// This file holds what every cgo call of the package shares: the header check, string and
// array conversion, and the conversion of an sbx_status plus sbx_error into a Go error.
//
// Pointer rules followed throughout the package (see "Passing pointers" in cmd/cgo):
//
//   - Go memory handed to C holds no Go pointers: output variables (*C.sbx_policy,
//     *C.sbx_error), []C.sbx_arg, and []*C.char whose elements point to C memory made by
//     C.CString. C never keeps any of it after the call returns; libsbx copies every string
//     and duplicates every descriptor it is given.
//   - C handles are owned by a Go wrapper (PolicyBuilder, Policy, the sandbox inside Cmd).
//     The wrapper reaches its pointer only through ptr(), which panics once the handle is
//     closed and, under the sbxgcstress build tag, forces a GC first; every C call that uses
//     the pointer is followed by runtime.KeepAlive(wrapper), so the finalizer cannot free
//     the handle while C still works with it.
//   - Callbacks never receive Go pointers: only a runtime/cgo.Handle crosses as
//     user_data (see callback.go and notify.go).
//   - Memory C hands over (buffers and strings received over comms) is copied into Go
//     memory at once and freed with sbx_bytes_free / sbx_string_free.

/*
#include <stdlib.h>
#include <sbx.h>

// The Go package is written against this header series. libsbx is 0.x, where a minor release
// may change the ABI, so the check is on MAJOR.MINOR; CheckVersion repeats it at run time
// against the library actually loaded.
#if !defined(SBX_VERSION_MAJOR) || !defined(SBX_VERSION_MINOR)
#error "sbx.h lacks SBX_VERSION_MAJOR/SBX_VERSION_MINOR: not a libsbx header"
#elif SBX_VERSION_MAJOR != 0 || SBX_VERSION_MINOR != 1
#error "the Go package sbx supports libsbx 0.1.x headers; update go/ together with libsbx"
#endif
*/
import "C"

import (
	"strings"
	"syscall"
	"unsafe"
)

// cString copies s into C memory (free it with C.free). A Go string may hold NUL bytes, which
// a C string cannot: such input is rejected with ErrInvalidArgument instead of being silently
// cut at the first NUL.
func cString(op, what, s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Code: CodeInvalidArgument, Op: op, Message: what + " contains a NUL byte"}
	}
	return C.CString(s), nil
}

// cStringArray is a C array of C strings built from ss; free releases the strings. ptr is
// NULL when ss is empty. The slice itself is Go memory holding only C pointers, so it may be
// passed to C for the duration of a call.
type cStringArray struct {
	elems []*C.char
}

func newCStringArray(op, what string, ss []string) (*cStringArray, error) {
	a := &cStringArray{elems: make([]*C.char, 0, len(ss))}
	for _, s := range ss {
		cs, err := cString(op, what, s)
		if err != nil {
			a.free()
			return nil, err
		}
		a.elems = append(a.elems, cs)
	}
	return a, nil
}

func (a *cStringArray) ptr() **C.char {
	if len(a.elems) == 0 {
		return nil
	}
	return (**C.char)(unsafe.Pointer(&a.elems[0]))
}

func (a *cStringArray) len() C.size_t { return C.size_t(len(a.elems)) }

func (a *cStringArray) free() {
	for _, cs := range a.elems {
		C.free(unsafe.Pointer(cs))
	}
	a.elems = nil
}

// statusError turns the outcome of a fallible C call into a Go error: nil for SBX_STATUS_OK,
// else an *Error carrying the code, the errno and the library's message. It frees cerr.
func statusError(op string, st C.sbx_status, cerr *C.sbx_error) error {
	if st == C.SBX_STATUS_OK {
		if cerr != nil {
			C.sbx_error_free(cerr)
		}
		return nil
	}
	e := &Error{Code: Code(st), Op: op}
	if cerr != nil {
		e.Message = C.GoString(C.sbx_error_message(cerr))
		e.Errno = syscall.Errno(C.sbx_error_errno(cerr))
		e.CommsCode = CommsCode(C.sbx_error_comms_code(cerr))
		C.sbx_error_free(cerr)
	}
	if e.Message == "" {
		e.Message = C.GoString(C.sbx_status_message(C.uint32_t(st)))
	}
	return e
}

// goStringOrEmpty converts a C string that may be NULL.
func goStringOrEmpty(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}
