package sbx

// #include <sbx.h>
import "C"

import (
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// Status is how a run ended (the C ABI's sbx_run_status; sandbox2's numbering, which never
// changes).
type Status uint32

const (
	// StatusUnset means not finished; a Result never carries it.
	StatusUnset Status = C.SBX_RUN_STATUS_UNSET
	// StatusOK: the sandboxee exited on its own; Result.ExitCode holds the code.
	StatusOK Status = C.SBX_RUN_STATUS_OK
	// StatusSetupError: the sandbox could not be set up (for example the program is not in
	// the sandbox's filesystem); Result.Reason and Result.Message say which step failed.
	StatusSetupError Status = C.SBX_RUN_STATUS_SETUP_ERROR
	// StatusViolation: the sandboxee broke the policy; Result.Violation names the syscall.
	StatusViolation Status = C.SBX_RUN_STATUS_VIOLATION
	// StatusSignaled: a signal killed the sandboxee; Result.Signal holds it.
	StatusSignaled Status = C.SBX_RUN_STATUS_SIGNALED
	// StatusTimeout: the wall-time limit (Limits.WallTime or the context's deadline) expired.
	StatusTimeout Status = C.SBX_RUN_STATUS_TIMEOUT
	// StatusExternalKill: the host killed the sandbox (Cmd.Kill, or the context was
	// cancelled).
	StatusExternalKill Status = C.SBX_RUN_STATUS_EXTERNAL_KILL
	// StatusInternalError: libsbx failed while supervising.
	StatusInternalError Status = C.SBX_RUN_STATUS_INTERNAL_ERROR
)

var statusNames = [...]string{
	StatusUnset:         "UNSET",
	StatusOK:            "OK",
	StatusSetupError:    "SETUP_ERROR",
	StatusViolation:     "VIOLATION",
	StatusSignaled:      "SIGNALED",
	StatusTimeout:       "TIMEOUT",
	StatusExternalKill:  "EXTERNAL_KILL",
	StatusInternalError: "INTERNAL_ERROR",
}

// String returns the status's name as libsbx spells it ("OK", "VIOLATION", ...).
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Status(" + strconv.FormatUint(uint64(s), 10) + ")"
}

// Violation is the syscall that broke the policy, as the kernel presented it to seccomp.
type Violation struct {
	// Arch is the ABI the call came through: "X86-64", "X86-32" (int 0x80 on x86-64),
	// "X32", "AARCH64", ...
	Arch string
	// Syscall is the kernel's name of the call in that ABI ("UNKNOWN" when not in the table).
	Syscall string
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

// String returns the call as "[X86-64] ptrace(0x10, 0x1, 0x0, 0x0, 0x0, 0x0)".
func (v *Violation) String() string {
	if v == nil {
		return "<nil>"
	}
	return formatCall(v.Arch, v.Syscall, v.Args)
}

// Usage is the sandboxee's resource usage, from wait4.
type Usage struct {
	// UserTime is the user CPU time.
	UserTime time.Duration
	// SystemTime is the system CPU time.
	SystemTime time.Duration
	// MaxRSS is the peak resident set size in bytes.
	MaxRSS uint64
	// PeakTasks is the largest number of processes and threads alive in the sandbox at once,
	// as seen by the ptrace monitor (0 under the user-notify monitor).
	PeakTasks int
}

// Result is how one run ended. It is plain Go data (copied out of libsbx), safe to keep and to
// share between goroutines.
//
// What the sandboxee did is data here, not an error: Err turns it into an error for code that
// wants os/exec-style control flow.
type Result struct {
	// Status is how the run ended.
	Status Status
	// ReasonCode is sandbox2's reason code: the exit code for StatusOK, the signal for
	// StatusSignaled, a reason (named by Reason) for StatusSetupError, StatusInternalError
	// and StatusViolation, else 0.
	ReasonCode uint32
	// Reason names the reason for StatusSetupError, StatusInternalError and StatusViolation
	// ("FAILED_SUBPROCESS", "VIOLATION_SYSCALL", "VIOLATION_ARCH", ...), "MEMORY_LIMIT" for a
	// StatusSignaled run the cgroup memory limit ended, else "".
	Reason string
	// ExitCode is the sandboxee's exit code when it exited on its own (StatusOK), else -1.
	ExitCode int
	// HostUID is the host uid (and gid) the sandboxee ran as: the caller's effective uid, or
	// for a host-root caller an unprivileged id no other live sandbox held; -1 when the run
	// ended before a sandbox was planned.
	HostUID int64
	// Signal is the signal that ended the sandboxee (also SIGKILL after a timeout or a
	// kill), else 0.
	Signal syscall.Signal
	// Violation is the offending syscall for StatusViolation, else nil.
	Violation *Violation
	// Message says what failed, in words, for StatusSetupError and StatusInternalError.
	Message string
	// SetupErrno is the errno of the failed system call behind a StatusSetupError, when a
	// system call is what failed (a program missing from the sandbox's filesystem is
	// ENOENT), else 0. SetupError unwraps to it, so errors.Is(err, fs.ErrNotExist) works.
	SetupErrno syscall.Errno
	// FailedStep names the setup step that failed for a StatusSetupError, by a stable name
	// ("clone", "id_maps", "mount_proc", "mount_bind", "mount_tmpfs", "pivot_root",
	// "hostname", "landlock", "seccomp", "exec", "cwd", ...), else "".
	FailedStep string
	// SetupHint is the likely cause and the fix of a StatusSetupError with a known cause (a
	// container runtime's masked /proc or seccomp profile, no user namespaces, ...), else "".
	SetupHint string
	// Fences lists the fences that were in force around the sandboxee once it started
	// ("namespaces", "network_namespace", "filesystem_view", "private_proc", "seccomp",
	// "landlock", "no_new_privs", "rlimits", "ptrace_monitor" or "unotify_monitor"); empty when it never started.
	Fences []string
	// Degraded lists cosmetic parts of the sandbox left out because the kernel refused them:
	// "hostname" (the inherited hostname stayed) and "proc" (no private /proc; only after
	// PolicyBuilder.AllowNoPrivateProc).
	Degraded []string
	// Pid is the host pid of the sandboxee (0 when it never started).
	Pid int
	// WallTime runs from the start of setup to the end of the last process.
	WallTime time.Duration
	// Usage is the sandboxee's resource usage.
	Usage Usage
	// Description is libsbx's one-line summary, such as "OK - exit code 0" or
	// "SYSCALL VIOLATION - [X86-64] ptrace(0x10, ...) pid 1234".
	Description string
	// SetupSteps is the setup latency breakdown, in the order the steps happened (empty when
	// the run never got far enough to record one).
	SetupSteps []SetupStep
	// Audit is true for an audit run (PolicyBuilder.SetAudit).
	Audit bool
	// Audited lists, for an audit run, every syscall the policy refuses that the run made,
	// once each, in the order of first use; nil for any other run.
	Audited []AuditedCall
	// DeniedConnects lists the connects a network allow-list refused (PolicyBuilder.AllowConnect):
	// the one that ended a VIOLATION_NETWORK run, or each one failed with RefuseConnect's errno.
	DeniedConnects []DeniedConnect
	// Cgroup is what the sandbox's cgroup recorded, for a run with cgroup limits
	// (Limits.Memory, Pids, CPUMillicores); nil otherwise.
	Cgroup *CgroupUsage
	// LimitReached names the cgroup limit the run ran into: "memory" (the OOM killer ended a
	// process) or "pids" (a fork was refused); empty for none.
	LimitReached string
	// Landlock is what the sandboxee's Landlock domain enforced; nil when it never started or
	// the kernel has no Landlock.
	Landlock *Landlock
	// StackTrace is the offending thread's stack for a violation (or, under ptrace, an
	// unhandled crash signal), the main thread's for a timeout or a kill (Cmd.Kill, a
	// cancelled context), under a policy with stack traces (PolicyBuilder.SetStackTraces);
	// nil otherwise.
	StackTrace *StackTrace
}

// Landlock is what a sandboxee's Landlock domain enforced.
type Landlock struct {
	// ABI is the kernel's Landlock ABI version.
	ABI int
	// FSRights names the filesystem rights the domain handles, denied unless the sandbox's view
	// grants them ("execute", "write_file", "make_reg", ...; with namespaces everything but
	// reading and device ioctls).
	FSRights []string
	// NetRights names the network rights the domain handles ("connect_tcp" under a network
	// allow-list whose TCP entries all name a port: a second fence behind the connect proxy).
	NetRights []string
	// Scopes names the scopes in force ("abstract_unix_socket", "signal"; ABI 6).
	Scopes []string
}

// bitNames names each set bit of v with name (a C function returning a static string or NULL).
func bitNames(v uint64, name func(C.uint64_t) *C.char) []string {
	var names []string
	for i := 0; i < 64; i++ {
		if v&(1<<i) != 0 {
			if n := name(C.uint64_t(1) << i); n != nil {
				names = append(names, C.GoString(n))
			}
		}
	}
	return names
}

// CgroupUsage is what a sandbox's cgroup recorded.
type CgroupUsage struct {
	// MemoryPeak is the most memory the sandbox's processes used together, in bytes (0 when
	// unknown).
	MemoryPeak uint64
	// OOMKills counts the processes the kernel's OOM killer ended for the memory limit.
	OOMKills uint64
	// PidsRefused counts the forks the process limit refused.
	PidsRefused uint64
	// CPUTime is the CPU time the sandbox's processes used together (user and system), from
	// the cgroup; HasCPUTime says whether it is known (a cgroup v2 group, or a v1 CPU limit
	// co-mounted with cpuacct).
	CPUTime    time.Duration
	HasCPUTime bool
}

// DeniedConnect is a connect the network allow-list refused.
type DeniedConnect struct {
	// Pid is the host pid of the thread that called connect.
	Pid int
	// Family is "inet", "inet6", "unix", "abstract", ...
	Family string
	// Address is the address as an allow-list spec writes it: "10.0.0.5:443", "[::1]:80".
	Address string
	// Why says why it was refused, e.g. "not in the allow-list".
	Why string
}

// AuditedCall is a call an audit run let through although its policy refuses it.
type AuditedCall struct {
	// First is the first such call: its arguments, thread and instruction pointer (SP is 0).
	First Syscall
	// Count is how many times the run made this syscall, the first call included.
	Count uint64
	// Seen, for the calls a learned policy conditions on an argument (socket's domain, ioctl's
	// request, prctl's option, fcntl's command, clone's flags, mmap's and mprotect's
	// protection), lists the values that argument took; nil for other calls.
	Seen *SeenArg
}

// SeenArg is the values one argument of an audited syscall took.
type SeenArg struct {
	// Index is the argument's position, 0 to 5.
	Index int
	// Values are the distinct values in the order first seen (at most 16).
	Values []uint64
	// More is true when more distinct values came than are kept (a learned policy then allows
	// any value).
	More bool
}

// SetupStep is one step of a sandbox's setup, such as "clone", "mounts" or "seccomp filter".
type SetupStep struct {
	// Name is libsbx's name of the step.
	Name string
	// Took is the time since the previous step (for the first step: since the start).
	Took time.Duration
}

// seenArg reads audited call i's seen values, or nil.
func seenArg(r *C.sbx_result, i int) *SeenArg {
	var idx C.uint8_t
	var n C.size_t
	var more C.bool
	if !C.sbx_result_audited_seen(r, C.size_t(i), &idx, nil, 0, &n, &more) {
		return nil
	}
	s := &SeenArg{Index: int(idx), More: bool(more), Values: make([]uint64, int(n))}
	if n > 0 {
		vals := make([]C.uint64_t, int(n))
		if !C.sbx_result_audited_seen(r, C.size_t(i), &idx, &vals[0], n, &n, &more) {
			return nil
		}
		for j := range s.Values {
			s.Values[j] = uint64(vals[j])
		}
	}
	return s
}

// newResult copies a C result into Go memory. It does not free r.
func newResult(r *C.sbx_result) *Result {
	res := &Result{
		Status:      Status(C.sbx_result_status(r)),
		ReasonCode:  uint32(C.sbx_result_reason_code(r)),
		Reason:      goStringOrEmpty(C.sbx_result_reason_name(r)),
		ExitCode:    -1,
		Message:     goStringOrEmpty(C.sbx_result_message(r)),
		Pid:         int(C.sbx_result_pid(r)),
		WallTime:    time.Duration(C.sbx_result_wall_time_ns(r)),
		Description: goStringOrEmpty(C.sbx_result_description(r)),
	}
	var code C.int32_t
	if C.sbx_result_exit_code(r, &code) {
		res.ExitCode = int(code)
	}
	res.HostUID = -1
	var hostUID C.uint32_t
	if C.sbx_result_host_uid(r, &hostUID) {
		res.HostUID = int64(hostUID)
	}
	var setupErrno C.int32_t
	if C.sbx_result_setup_errno(r, &setupErrno) && setupErrno > 0 {
		res.SetupErrno = syscall.Errno(setupErrno)
	}
	res.FailedStep = goStringOrEmpty(C.sbx_result_failed_step(r))
	res.SetupHint = goStringOrEmpty(C.sbx_result_setup_hint(r))
	for i, n := 0, int(C.sbx_result_fence_count(r)); i < n; i++ {
		res.Fences = append(res.Fences, goStringOrEmpty(C.sbx_result_fence(r, C.size_t(i))))
	}
	for i, n := 0, int(C.sbx_result_degraded_count(r)); i < n; i++ {
		res.Degraded = append(res.Degraded, goStringOrEmpty(C.sbx_result_degraded(r, C.size_t(i))))
	}
	var sig C.int32_t
	if C.sbx_result_signal(r, &sig) {
		res.Signal = syscall.Signal(sig)
	}
	var u C.sbx_usage
	if C.sbx_result_usage(r, &u) {
		res.Usage = Usage{
			UserTime:   time.Duration(u.user_time_ns),
			SystemTime: time.Duration(u.system_time_ns),
			MaxRSS:     uint64(u.max_rss_kib) * 1024,
			PeakTasks:  int(u.peak_tasks),
		}
	}
	if n := int(C.sbx_result_setup_step_count(r)); n > 0 {
		res.SetupSteps = make([]SetupStep, 0, n)
		for i := 0; i < n; i++ {
			var name *C.char
			var took C.uint64_t
			if C.sbx_result_setup_step(r, C.size_t(i), &name, &took) {
				res.SetupSteps = append(res.SetupSteps, SetupStep{Name: goStringOrEmpty(name), Took: time.Duration(took)})
			}
		}
	}
	if C.sbx_result_is_audit(r) {
		res.Audit = true
		n := int(C.sbx_result_audited_count(r))
		res.Audited = make([]AuditedCall, 0, n)
		for i := 0; i < n; i++ {
			var c C.sbx_audited_call
			if !C.sbx_result_audited_call(r, C.size_t(i), &c) {
				continue
			}
			call := Syscall{
				Arch: goStringOrEmpty(c.arch),
				Name: goStringOrEmpty(c.name),
				Nr:   uint64(c.nr),
				Pid:  int(c.pid),
				IP:   uint64(c.ip),
			}
			for j := range call.Args {
				call.Args[j] = uint64(c.args[j])
			}
			res.Audited = append(res.Audited, AuditedCall{First: call, Count: uint64(c.count), Seen: seenArg(r, i)})
		}
	}
	var cu C.sbx_cgroup_usage
	if C.sbx_result_cgroup_usage(r, &cu) {
		res.Cgroup = &CgroupUsage{
			MemoryPeak:  uint64(cu.memory_peak),
			OOMKills:    uint64(cu.oom_kills),
			PidsRefused: uint64(cu.pids_refused),
			CPUTime:     time.Duration(uint64(cu.cpu_usec)) * time.Microsecond,
			HasCPUTime:  bool(cu.has_cpu_usec),
		}
		res.LimitReached = goStringOrEmpty(C.sbx_result_limit_reached(r))
	}
	var ll C.sbx_landlock
	if C.sbx_result_landlock(r, &ll) {
		res.Landlock = &Landlock{
			ABI: int(ll.abi),
			FSRights: bitNames(uint64(ll.fs_rights), func(b C.uint64_t) *C.char {
				return C.sbx_landlock_right_name(b)
			}),
			NetRights: bitNames(uint64(ll.net_rights), func(b C.uint64_t) *C.char {
				return C.sbx_landlock_net_right_name(b)
			}),
			Scopes: bitNames(uint64(ll.scopes), func(b C.uint64_t) *C.char {
				return C.sbx_landlock_scope_name(b)
			}),
		}
	}
	for i := 0; i < int(C.sbx_result_denied_connect_count(r)); i++ {
		var d C.sbx_denied_connect
		if C.sbx_result_denied_connect(r, C.size_t(i), &d) {
			res.DeniedConnects = append(res.DeniedConnects, DeniedConnect{
				Pid:     int(d.pid),
				Family:  goStringOrEmpty(d.family),
				Address: goStringOrEmpty(d.address),
				Why:     goStringOrEmpty(d.why),
			})
		}
	}
	if v := C.sbx_result_violation(r); v != nil {
		call := newSyscall(v)
		res.Violation = &Violation{
			Arch:    call.Arch,
			Syscall: call.Name,
			Nr:      call.Nr,
			Args:    call.Args,
			Pid:     call.Pid,
			IP:      call.IP,
			SP:      call.SP,
		}
	}
	res.StackTrace = stackTrace(r)
	return res
}

// newSyscall copies a C syscall view (an sbx_violation of a result, or the sbx_syscall a
// notify callback receives) into Go memory.
func newSyscall(v *C.sbx_violation) Syscall {
	call := Syscall{
		Arch: goStringOrEmpty(C.sbx_violation_arch(v)),
		Name: goStringOrEmpty(C.sbx_violation_syscall_name(v)),
		Nr:   uint64(C.sbx_violation_nr(v)),
		Pid:  int(C.sbx_violation_pid(v)),
		IP:   uint64(C.sbx_violation_ip(v)),
		SP:   uint64(C.sbx_violation_sp(v)),
	}
	C.sbx_violation_args(v, (*C.uint64_t)(unsafe.Pointer(&call.Args[0])))
	return call
}

// Success reports whether the sandboxee exited on its own with code 0.
func (r *Result) Success() bool { return r.Status == StatusOK && r.ExitCode == 0 }

// Exited reports whether the sandboxee exited on its own (StatusOK), whatever the code.
func (r *Result) Exited() bool { return r.Status == StatusOK }

// String returns Description.
func (r *Result) String() string { return r.Description }

// Err returns the run's outcome as an error, for os/exec-style control flow:
//
//   - nil when the sandboxee exited with code 0;
//   - *ExitError for a non-zero exit, a signal, a timeout or an external kill;
//   - *ViolationError for a policy violation;
//   - *SetupError for StatusSetupError and StatusInternalError (Cmd.Run and Cmd.Wait return
//     this one as their own error too).
func (r *Result) Err() error {
	switch r.Status {
	case StatusOK:
		if r.ExitCode == 0 {
			return nil
		}
		return &ExitError{Result: r}
	case StatusViolation:
		return &ViolationError{Result: r}
	case StatusSetupError, StatusInternalError, StatusUnset:
		return &SetupError{Result: r}
	default:
		return &ExitError{Result: r}
	}
}

// ExitError reports a sandboxee that did not succeed on its own terms: it exited with a
// non-zero code, was killed by a signal, ran out of wall time, or was killed by the host. The
// embedded Result has the detail (ExitCode, Signal, Status).
type ExitError struct {
	*Result
}

// Error returns "sbx: exit status N", "sbx: signal: killed", "sbx: wall-time limit exceeded"
// or "sbx: killed by the host".
func (e *ExitError) Error() string {
	switch e.Status {
	case StatusOK:
		return "sbx: exit status " + strconv.Itoa(e.ExitCode)
	case StatusSignaled:
		return "sbx: signal: " + e.Signal.String()
	case StatusTimeout:
		return "sbx: wall-time limit exceeded"
	case StatusExternalKill:
		return "sbx: killed by the host"
	}
	return "sbx: " + e.Description
}

// ViolationError reports a sandboxee that broke its policy. The embedded Result's Violation
// names the syscall.
type ViolationError struct {
	*Result
}

// Error returns "sbx: policy violation: [X86-64] ptrace(...)".
func (e *ViolationError) Error() string {
	if e.Violation == nil {
		return "sbx: policy violation: " + e.Description
	}
	return "sbx: policy violation: " + e.Violation.String()
}

// SetupError reports a run that never reached the program (StatusSetupError: for example the
// program or its loader is not in the sandbox's filesystem, a kernel feature is missing, or
// Notify.Started vetoed the run) or that libsbx failed to supervise (StatusInternalError).
// The embedded Result's Reason and Message say which step failed and why, and SetupErrno
// the errno of a failed system call, which Unwrap returns:
//
//	if errors.Is(err, fs.ErrNotExist) { ... } // the program is not in the sandbox
type SetupError struct {
	*Result
}

// Unwrap returns the Result's SetupErrno when it is set, else nil.
func (e *SetupError) Unwrap() error {
	if e.SetupErrno == 0 {
		return nil
	}
	return e.SetupErrno
}

// Error returns "sbx: setup failed: REASON: message" (or "sbx: internal error: ...").
func (e *SetupError) Error() string {
	what := "setup failed"
	if e.Status == StatusInternalError {
		what = "internal error"
	}
	msg := e.Message
	if msg == "" {
		msg = e.Description
	}
	if e.Reason != "" {
		return "sbx: " + what + ": " + e.Reason + ": " + msg
	}
	return "sbx: " + what + ": " + msg
}
