package sbx

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestErrorMatchesItsSentinelOnly(t *testing.T) {
	for code, sentinel := range sentinels {
		err := fmt.Errorf("wrapped: %w", &Error{Code: code, Op: "op", Message: "m"})
		if !errors.Is(err, sentinel) {
			t.Errorf("code %d (%v): errors.Is(err, %v) = false", code, code, sentinel)
		}
		for other, s := range sentinels {
			if other != code && errors.Is(err, s) {
				t.Errorf("code %d also matches the sentinel of code %d", code, other)
			}
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != code || e.Op != "op" {
			t.Errorf("errors.As: %#v", e)
		}
		if code.String() == "" || code.String() == "unknown status code" {
			t.Errorf("code %d has no message: %q", code, code.String())
		}
	}
}

func TestErrorMatchesAnErrorOfTheSameCode(t *testing.T) {
	err := &Error{Code: CodeInvalidArgument, Op: "sbx_executor_new"}
	if !errors.Is(err, &Error{Code: CodeInvalidArgument}) {
		t.Error("an *Error with the same Code and no Op should match")
	}
	if !errors.Is(err, &Error{Code: CodeInvalidArgument, Op: "sbx_executor_new"}) {
		t.Error("an *Error with the same Code and Op should match")
	}
	if errors.Is(err, &Error{Code: CodeInvalidArgument, Op: "other"}) {
		t.Error("an *Error with another Op should not match")
	}
	if errors.Is(err, &Error{Code: CodeOSError}) {
		t.Error("an *Error with another Code should not match")
	}
}

func TestErrorUnwrapsErrno(t *testing.T) {
	err := &Error{Code: CodeOSError, Op: "sbx_executor_set_stdio", Errno: syscall.EMFILE, Message: "dup failed"}
	if !errors.Is(err, syscall.EMFILE) || !errors.Is(err, ErrOS) {
		t.Errorf("%v should match EMFILE and ErrOS", err)
	}
	perm := &Error{Code: CodeOSError, Errno: syscall.EPERM}
	if !errors.Is(perm, fs.ErrPermission) {
		t.Error("EPERM should match fs.ErrPermission through syscall.Errno.Is")
	}
	if (&Error{Code: CodeInvalidArgument}).Unwrap() != nil {
		t.Error("Unwrap without errno should be nil")
	}
}

func TestErrorText(t *testing.T) {
	cases := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: CodeInvalidArgument, Op: "sbx_executor_new", Message: "path is empty"}, "sbx: sbx_executor_new: path is empty"},
		{&Error{Code: CodeInvalidArgument, Message: "x"}, "sbx: x"},
		{&Error{Code: CodeUnknownSyscall, Op: "Build"}, "sbx: Build: " + CodeUnknownSyscall.String()},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

func TestResultErrTypes(t *testing.T) {
	cases := []struct {
		res  Result
		want string // type of Err, "" for nil
		text string
	}{
		{Result{Status: StatusOK, ExitCode: 0}, "", ""},
		{Result{Status: StatusOK, ExitCode: 3}, "exit", "sbx: exit status 3"},
		{Result{Status: StatusSignaled, ExitCode: -1, Signal: syscall.SIGKILL}, "exit", "sbx: signal: killed"},
		{Result{Status: StatusTimeout, ExitCode: -1}, "exit", "sbx: wall-time limit exceeded"},
		{Result{Status: StatusExternalKill, ExitCode: -1}, "exit", "sbx: killed by the host"},
		{Result{Status: StatusViolation, ExitCode: -1, Violation: &Violation{Arch: "X86-64", Syscall: "ptrace", Args: [6]uint64{0x10}}}, "violation", "sbx: policy violation: [X86-64] ptrace(0x10, 0x0, 0x0, 0x0, 0x0, 0x0)"},
		{Result{Status: StatusSetupError, ExitCode: -1, Reason: "FAILED_SUBPROCESS", Message: "execve /x: ENOENT"}, "setup", "sbx: setup failed: FAILED_SUBPROCESS: execve /x: ENOENT"},
		{Result{Status: StatusInternalError, ExitCode: -1, Message: "boom"}, "setup", "sbx: internal error: boom"},
	}
	for _, c := range cases {
		res := c.res
		err := res.Err()
		var got string
		var ee *ExitError
		var ve *ViolationError
		var se *SetupError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			got = "exit"
			if ee.Result != &res {
				t.Errorf("%v: ExitError does not carry the Result", c.res.Status)
			}
		case errors.As(err, &ve):
			got = "violation"
		case errors.As(err, &se):
			got = "setup"
		default:
			got = fmt.Sprintf("%T", err)
		}
		if got != c.want {
			t.Errorf("%v: Err() is %q, want %q", c.res.Status, got, c.want)
		}
		if err != nil && err.Error() != c.text {
			t.Errorf("%v: Error() = %q, want %q", c.res.Status, err.Error(), c.text)
		}
	}
}

func TestStatusNames(t *testing.T) {
	want := map[Status]string{
		StatusOK: "OK", StatusSetupError: "SETUP_ERROR", StatusViolation: "VIOLATION",
		StatusSignaled: "SIGNALED", StatusTimeout: "TIMEOUT", StatusExternalKill: "EXTERNAL_KILL",
		StatusInternalError: "INTERNAL_ERROR", Status(99): "Status(99)",
	}
	for s, n := range want {
		if s.String() != n {
			t.Errorf("Status(%d).String() = %q, want %q", uint32(s), s.String(), n)
		}
	}
}

func TestCommsErrorMatchesItsSentinelOnly(t *testing.T) {
	if len(commsSentinels) != int(CommsIO) {
		t.Fatalf("%d comms sentinels for codes 1..%d", len(commsSentinels), CommsIO)
	}
	for code, sentinel := range commsSentinels {
		err := fmt.Errorf("wrapped: %w", &Error{Code: CodeComms, CommsCode: code, Op: "op", Message: "m"})
		if !errors.Is(err, sentinel) || !errors.Is(err, ErrComms) {
			t.Errorf("comms code %v: errors.Is(err, %v) = false", code, sentinel)
		}
		for other, s := range commsSentinels {
			if other != code && errors.Is(err, s) {
				t.Errorf("comms code %v also matches the sentinel of %v", code, other)
			}
		}
		for _, s := range sentinels {
			if s != ErrComms && errors.Is(err, s) {
				t.Errorf("comms code %v matches %v", code, s)
			}
		}
		if name := code.String(); name == "" || strings.HasPrefix(name, "CommsCode(") {
			t.Errorf("comms code %d has no name", uint32(code))
		}
		// Only an *Error with CodeComms carries a comms failure.
		if errors.Is(&Error{Code: CodeOSError, CommsCode: code}, sentinel) {
			t.Errorf("a CodeOSError error matches %v", sentinel)
		}
	}
	if CommsOK.String() != "NONE" || CommsCode(99).String() != "CommsCode(99)" || CommsTagMismatch.String() != "TAG_MISMATCH" {
		t.Error("CommsCode names")
	}
	io := &Error{Code: CodeComms, CommsCode: CommsIO, Errno: syscall.EPIPE}
	if !errors.Is(io, syscall.EPIPE) || !errors.Is(io, ErrCommsIO) {
		t.Error("a CommsIO error should unwrap to its errno")
	}
}
