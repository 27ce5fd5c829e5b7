package sbx

/*
#include <stdlib.h>
#include <sbx.h>
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// Action is what a rule does with a matching syscall, or, for SetDefaultAction, with a syscall
// no rule decides. Use ActionAllow, ActionTrace, ActionViolation or ActionErrno(errno). The
// zero Action is invalid.
type Action struct {
	kind  uint32
	errno syscall.Errno
}

var (
	// ActionAllow lets the syscall run. As the default action it turns the policy into a
	// deny-list: everything the rules and libsbx's mandatory rules do not decide is allowed.
	ActionAllow = Action{kind: C.SBX_ACTION_ALLOW}
	// ActionTrace stops the sandboxee at the monitor, which asks Cmd.Notify's Trace function
	// to decide the call (allow, deny, or fail it with an errno); without one the call is a
	// violation.
	ActionTrace = Action{kind: C.SBX_ACTION_TRACE}
	// ActionViolation ends the sandbox with a VIOLATION result naming the syscall. It is the
	// default action.
	ActionViolation = Action{kind: C.SBX_ACTION_VIOLATION}
)

// ActionErrno makes the syscall fail with errno (1..4095, such as syscall.EPERM) without
// running it.
func ActionErrno(errno syscall.Errno) Action {
	return Action{kind: C.SBX_ACTION_ERRNO, errno: errno}
}

// Errno returns the errno of an ActionErrno action, else 0.
func (a Action) Errno() syscall.Errno {
	if a.kind != C.SBX_ACTION_ERRNO {
		return 0
	}
	return a.errno
}

// String returns "ALLOW", "TRACE", "VIOLATION" or "ERRNO(<errno>)".
func (a Action) String() string {
	switch a.kind {
	case C.SBX_ACTION_ALLOW:
		return "ALLOW"
	case C.SBX_ACTION_TRACE:
		return "TRACE"
	case C.SBX_ACTION_VIOLATION:
		return "VIOLATION"
	case C.SBX_ACTION_ERRNO:
		return fmt.Sprintf("ERRNO(%d)", uintptr(a.errno))
	}
	return fmt.Sprintf("Action(%d)", a.kind)
}

// cErrno is the errno argument the C functions take; values that do not fit are rejected by
// libsbx's own range check (0..65535) through a value outside it.
func (a Action) cErrno() C.int32_t {
	if a.kind != C.SBX_ACTION_ERRNO {
		return 0
	}
	if uint64(a.errno) > math.MaxInt32 {
		return -1
	}
	return C.int32_t(a.errno)
}

// Width is how many bits of an argument register a condition compares. Use the width of the C
// type the kernel reads: int arguments (ioctl's request, socket's domain, fcntl's command,
// file descriptors) are Width32; pointers, sizes and unsigned longs are Width64.
type Width uint32

const (
	// Width32 compares only the low 32 bits, as the kernel ignores the upper half of an int
	// argument.
	Width32 Width = C.SBX_WIDTH_W32
	// Width64 compares all 64 bits.
	Width64 Width = C.SBX_WIDTH_W64
)

// Cmp is an unsigned comparison of an argument x with a condition's Value.
type Cmp uint32

const (
	// CmpEq holds when x == Value.
	CmpEq Cmp = C.SBX_CMP_EQ
	// CmpNe holds when x != Value.
	CmpNe Cmp = C.SBX_CMP_NE
	// CmpLt holds when x < Value.
	CmpLt Cmp = C.SBX_CMP_LT
	// CmpLe holds when x <= Value.
	CmpLe Cmp = C.SBX_CMP_LE
	// CmpGt holds when x > Value.
	CmpGt Cmp = C.SBX_CMP_GT
	// CmpGe holds when x >= Value.
	CmpGe Cmp = C.SBX_CMP_GE
	// CmpMaskedEq holds when x & Mask == Value; every bit of Value must lie inside Mask.
	CmpMaskedEq Cmp = C.SBX_CMP_MASKED_EQ
)

// Cond is one condition on one syscall argument; a rule applies when all of its conditions
// hold. Build one with Arg, as in sbx.Arg(0, sbx.Width32).Eq(syscall.AF_UNIX), or fill the
// fields directly.
type Cond struct {
	// Index is the argument's position, 0..5.
	Index int
	// Width is Width32 or Width64.
	Width Width
	// Cmp is the comparison.
	Cmp Cmp
	// Mask is used by CmpMaskedEq only.
	Mask uint64
	// Value is what the argument is compared with (for CmpMaskedEq, the masked value).
	Value uint64
}

// ArgRef names one syscall argument for building a Cond; see Arg.
type ArgRef struct {
	index int
	width Width
}

// Arg refers to argument index (0..5) of a syscall, compared on width bits.
func Arg(index int, width Width) ArgRef { return ArgRef{index: index, width: width} }

func (a ArgRef) cond(c Cmp, v uint64) Cond {
	return Cond{Index: a.index, Width: a.width, Cmp: c, Value: v}
}

// Eq holds when the argument equals v.
func (a ArgRef) Eq(v uint64) Cond { return a.cond(CmpEq, v) }

// Ne holds when the argument differs from v.
func (a ArgRef) Ne(v uint64) Cond { return a.cond(CmpNe, v) }

// Lt holds when the argument is below v (unsigned).
func (a ArgRef) Lt(v uint64) Cond { return a.cond(CmpLt, v) }

// Le holds when the argument is at most v (unsigned).
func (a ArgRef) Le(v uint64) Cond { return a.cond(CmpLe, v) }

// Gt holds when the argument is above v (unsigned).
func (a ArgRef) Gt(v uint64) Cond { return a.cond(CmpGt, v) }

// Ge holds when the argument is at least v (unsigned).
func (a ArgRef) Ge(v uint64) Cond { return a.cond(CmpGe, v) }

// MaskedEq holds when the argument's bits selected by mask equal value.
func (a ArgRef) MaskedEq(mask, value uint64) Cond {
	return Cond{Index: a.index, Width: a.width, Cmp: CmpMaskedEq, Mask: mask, Value: value}
}

// PolicyBuilder collects the rules and the filesystem view of a Policy. Create one with
// NewPolicyBuilder (nothing allowed) or NewToolPolicyBuilder (sbx-run's default policy),
// chain its methods, then call Build, which consumes it.
//
// Rules are kept per syscall in call order and the first matching one decides; once a syscall
// has an unconditional rule, later rules for it are ignored. libsbx's mandatory rules (foreign
// architectures, x32, ptrace, bpf, namespace flags, io_uring, ...) always come first and
// cannot be allowed.
//
// The methods return the builder so calls chain. The first problem (a NUL byte in a name, an
// unknown syscall, a bad errno, a relative mount path, ...) is remembered, later calls are
// skipped, and Build returns it; Err shows it early.
//
// A PolicyBuilder is not safe for concurrent use. Using it after Build or Close panics.
type PolicyBuilder struct {
	_ptr *C.sbx_policy_builder
	err  error
	done bool
}

func newPolicyBuilder(op string, mk func() *C.sbx_policy_builder) *PolicyBuilder {
	b := &PolicyBuilder{}
	if err := CheckVersion(); err != nil {
		b.err = err
		return b
	}
	b._ptr = mk()
	if b._ptr == nil {
		b.err = &Error{Code: CodePanic, Op: op, Message: "libsbx returned no builder"}
		return b
	}
	runtime.SetFinalizer(b, (*PolicyBuilder).Close)
	return b
}

// NewPolicyBuilder returns a builder of an empty policy: only the mandatory rules, every other
// syscall a violation, and (with namespaces, the default) an empty read-only root holding only
// /proc and a minimal /dev. Add what the program needs: groups such as GroupDynamicStartup,
// syscalls, and mounts such as AddLibrariesForBinary.
func NewPolicyBuilder() *PolicyBuilder {
	return newPolicyBuilder("sbx_policy_builder_new", func() *C.sbx_policy_builder {
		return C.sbx_policy_builder_new()
	})
}

// NewToolPolicyBuilder returns a builder holding sbx-run's default policy: enough for ordinary
// dynamically linked tools (coreutils, sh -c, python3 -c) as an allow-list, execs allowed, with
// a read-only view of /usr, /bin, /lib and friends, a private /tmp, and no network. Rules added
// to it extend it.
func NewToolPolicyBuilder() *PolicyBuilder {
	return newPolicyBuilder("sbx_policy_builder_new_tool_default", func() *C.sbx_policy_builder {
		return C.sbx_policy_builder_new_tool_default()
	})
}

// PolicyBuilderFromString returns a builder holding what a policy file says: TOML with
// version = 1, default, monitor, audit, [namespaces], [view], [[mount]], allow, [[rule]],
// connect and the rest (see the README's policy-file section; PolicyBuilder dumps from Rust and
// sbx-run --dump-policy-file write such files). origin names the file in errors. A [limits]
// table is checked, not applied: limits belong to the Sandbox. A bad file is an *Error with
// ErrInvalidPolicy whose message names origin:line:column, the key and the problem.
func PolicyBuilderFromString(text, origin string) (*PolicyBuilder, error) {
	const op = "sbx_policy_builder_from_string"
	ct, err := cString(op, "text", text)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ct))
	co, err := cString(op, "origin", origin)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(co))
	return policyBuilderFrom(op, func(out **C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_from_string(ct, co, out, cerr)
	})
}

// PolicyBuilderFromFile is PolicyBuilderFromString with the file at path (errors name it).
func PolicyBuilderFromFile(path string) (*PolicyBuilder, error) {
	const op = "sbx_policy_builder_from_file"
	cp, err := cString(op, "path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cp))
	return policyBuilderFrom(op, func(out **C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_from_file(cp, out, cerr)
	})
}

// policyBuilderFrom wraps the builder a fallible C constructor makes.
func policyBuilderFrom(op string, mk func(out **C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status) (*PolicyBuilder, error) {
	if err := CheckVersion(); err != nil {
		return nil, err
	}
	var out *C.sbx_policy_builder
	var cerr *C.sbx_error
	if err := statusError(op, mk(&out, &cerr), cerr); err != nil {
		return nil, err
	}
	b := &PolicyBuilder{_ptr: out}
	runtime.SetFinalizer(b, (*PolicyBuilder).Close)
	return b, nil
}

// ptr returns the C handle, panicking once the builder was built or closed.
func (b *PolicyBuilder) ptr() *C.sbx_policy_builder {
	maybeGC()
	if b.done {
		panic("sbx: PolicyBuilder used after Build or Close")
	}
	return b._ptr
}

// call runs one fallible C setter unless an earlier problem is pending, and records its error.
func (b *PolicyBuilder) call(op string, f func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status) *PolicyBuilder {
	p := b.ptr()
	if b.err != nil {
		return b
	}
	var cerr *C.sbx_error
	st := f(p, &cerr)
	runtime.KeepAlive(b)
	b.err = statusError(op, st, cerr)
	return b
}

// fail records a problem found in Go before calling C.
func (b *PolicyBuilder) fail(err error) *PolicyBuilder {
	b.ptr()
	if b.err == nil {
		b.err = err
	}
	return b
}

// withString runs f with s as a C string, recording a NUL byte in s as an error.
func (b *PolicyBuilder) withString(op, what, s string, f func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status) *PolicyBuilder {
	cs, err := cString(op, what, s)
	if err != nil {
		return b.fail(err)
	}
	defer C.free(unsafe.Pointer(cs))
	return b.call(op, func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status { return f(p, cs, cerr) })
}

// withStrings is withString for two strings.
func (b *PolicyBuilder) withStrings(op, what1, s1, what2, s2 string, f func(p *C.sbx_policy_builder, c1, c2 *C.char, cerr **C.sbx_error) C.sbx_status) *PolicyBuilder {
	c1, err := cString(op, what1, s1)
	if err != nil {
		return b.fail(err)
	}
	defer C.free(unsafe.Pointer(c1))
	c2, err := cString(op, what2, s2)
	if err != nil {
		return b.fail(err)
	}
	defer C.free(unsafe.Pointer(c2))
	return b.call(op, func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status { return f(p, c1, c2, cerr) })
}

// Err returns the first problem recorded so far (the error Build would return), or nil.
func (b *PolicyBuilder) Err() error { return b.err }

// AllowGroup allows every syscall of each group (see Group).
func (b *PolicyBuilder) AllowGroup(groups ...Group) *PolicyBuilder {
	for _, g := range groups {
		b.call("sbx_policy_builder_allow_group", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_policy_builder_allow_group(p, C.uint32_t(g), cerr)
		})
	}
	return b
}

// AllowSyscall allows the named syscalls (the kernel's spelling, such as "newfstatat")
// whatever their arguments. An unknown name makes Build fail with ErrUnknownSyscall.
func (b *PolicyBuilder) AllowSyscall(names ...string) *PolicyBuilder {
	const op = "sbx_policy_builder_allow_syscalls"
	arr, err := newCStringArray(op, "syscall name", names)
	if err != nil {
		return b.fail(err)
	}
	defer arr.free()
	return b.call(op, func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_allow_syscalls(p, arr.ptr(), arr.len(), cerr)
	})
}

// AllowSyscallNr allows the native syscalls with these numbers whatever their arguments.
func (b *PolicyBuilder) AllowSyscallNr(nrs ...uint32) *PolicyBuilder {
	for _, nr := range nrs {
		b.call("sbx_policy_builder_allow_syscall_nr", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_policy_builder_allow_syscall_nr(p, C.uint32_t(nr), cerr)
		})
	}
	return b
}

// AllowFutexOp allows futex with operation op (FUTEX_WAIT, FUTEX_WAKE, ...), with or without
// FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME (an op that includes those flags itself makes
// Build fail).
func (b *PolicyBuilder) AllowFutexOp(op uint32) *PolicyBuilder {
	return b.call("sbx_policy_builder_allow_futex_op", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_allow_futex_op(p, C.uint32_t(op), cerr)
	})
}

// ErrnoSyscall makes the named syscall fail with errno (1..4095) without running it.
func (b *PolicyBuilder) ErrnoSyscall(name string, errno syscall.Errno) *PolicyBuilder {
	e := ActionErrno(errno).cErrno()
	return b.withString("sbx_policy_builder_errno_syscall", "syscall name", name, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_errno_syscall(p, cs, e, cerr)
	})
}

// TraceSyscall sends the named syscall to the monitor (ActionTrace), where Cmd.Notify's
// Trace function decides it; without one it is a violation.
func (b *PolicyBuilder) TraceSyscall(name string) *PolicyBuilder {
	return b.withString("sbx_policy_builder_trace_syscall", "syscall name", name, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_trace_syscall(p, cs, cerr)
	})
}

// ViolationSyscall makes the named syscall a violation explicitly: what the default action
// does anyway, useful before SetDefaultAction(ActionAllow) or to document intent.
func (b *PolicyBuilder) ViolationSyscall(name string) *PolicyBuilder {
	return b.withString("sbx_policy_builder_violation_syscall", "syscall name", name, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_violation_syscall(p, cs, cerr)
	})
}

// cConds converts conditions to the C layout (Go memory without Go pointers, so it may be
// passed to C for one call).
func cConds(op string, conds []Cond) ([]C.sbx_arg, error) {
	out := make([]C.sbx_arg, len(conds))
	for i, c := range conds {
		if c.Index < 0 || c.Index > math.MaxUint32 {
			return nil, &Error{Code: CodeInvalidArgument, Op: op, Message: fmt.Sprintf("argument index %d out of range", c.Index)}
		}
		out[i] = C.sbx_arg{
			index: C.uint32_t(c.Index),
			width: C.uint32_t(c.Width),
			cmp:   C.uint32_t(c.Cmp),
			mask:  C.uint64_t(c.Mask),
			value: C.uint64_t(c.Value),
		}
	}
	return out, nil
}

func condsPtr(a []C.sbx_arg) *C.sbx_arg {
	if len(a) == 0 {
		return nil
	}
	return &a[0]
}

// AddRule adds a rule for the named syscall: when all conditions hold, action. With no
// conditions the rule is unconditional.
//
//	b.AddRule("socket", sbx.ActionAllow, sbx.Arg(0, sbx.Width32).Eq(syscall.AF_UNIX))
func (b *PolicyBuilder) AddRule(name string, action Action, conds ...Cond) *PolicyBuilder {
	const op = "sbx_policy_builder_add_rule"
	args, err := cConds(op, conds)
	if err != nil {
		return b.fail(err)
	}
	return b.withString(op, "syscall name", name, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_rule(p, cs, condsPtr(args), C.size_t(len(args)), C.uint32_t(action.kind), action.cErrno(), cerr)
	})
}

// AddRuleNr is AddRule for native syscall number nr.
func (b *PolicyBuilder) AddRuleNr(nr uint32, action Action, conds ...Cond) *PolicyBuilder {
	const op = "sbx_policy_builder_add_rule_nr"
	args, err := cConds(op, conds)
	if err != nil {
		return b.fail(err)
	}
	return b.call(op, func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_rule_nr(p, C.uint32_t(nr), condsPtr(args), C.size_t(len(args)), C.uint32_t(action.kind), action.cErrno(), cerr)
	})
}

// SetDefaultAction sets what happens to syscalls no rule decides: ActionViolation (the
// default), ActionAllow (a deny-list policy; the mandatory rules still apply), ActionTrace, or
// ActionErrno(errno).
func (b *PolicyBuilder) SetDefaultAction(action Action) *PolicyBuilder {
	return b.call("sbx_policy_builder_set_default_action", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_set_default_action(p, C.uint32_t(action.kind), action.cErrno(), cerr)
	})
}

// Monitor chooses which mechanism watches the sandboxee.
type Monitor uint32

const (
	// MonitorAuto picks user-notify when the kernel has it and the run fits it (namespaces, a
	// sandboxee that does not sandbox itself), ptrace otherwise. The default.
	MonitorAuto Monitor = C.SBX_MONITOR_AUTO
	// MonitorPtrace watches with ptrace(2): signals reach Notify and tasks are counted.
	MonitorPtrace Monitor = C.SBX_MONITOR_PTRACE
	// MonitorUnotify watches with seccomp user notification, without ptrace: signals are not
	// reported, Usage.PeakTasks is 0 and the task cap is the sandbox's own RLIMIT_NPROC. Needs
	// namespaces.
	MonitorUnotify Monitor = C.SBX_MONITOR_UNOTIFY
)

// String returns "auto", "ptrace" or "unotify".
func (m Monitor) String() string {
	switch m {
	case MonitorAuto:
		return "auto"
	case MonitorPtrace:
		return "ptrace"
	case MonitorUnotify:
		return "unotify"
	}
	return fmt.Sprintf("Monitor(%d)", uint32(m))
}

// SetMonitor chooses the monitor (default MonitorAuto). MonitorUnotify together with
// DisableNamespaces makes Build fail with ErrInvalidPolicy.
func (b *PolicyBuilder) SetMonitor(m Monitor) *PolicyBuilder {
	return b.call("sbx_policy_builder_set_monitor", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_set_monitor(p, C.uint32_t(m), cerr)
	})
}

// LoadRules applies a policy file to the builder, its rules after the builder's own: TOML as
// `sbx-run --learn` or --dump-policy-file writes it (version = 1, default, allow = [...],
// [[rule]] with syscall, action and args, and the settings and view keys; see the README).
// origin names the file in errors. A bad file adds nothing
// and makes Build fail with ErrInvalidPolicy, naming origin:line:column and the problem.
func (b *PolicyBuilder) LoadRules(text, origin string) *PolicyBuilder {
	return b.withStrings("sbx_policy_builder_load_rules", "text", text, "origin", origin,
		func(p *C.sbx_policy_builder, ct, co *C.char, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_policy_builder_load_rules(p, ct, co, cerr)
		})
}

// SetAudit turns audit mode ("permit all and log") on or off: every call the policy refuses as a
// violation runs and is listed in Result.Audited (once per syscall, with a count and the first
// call's arguments). Errno and trace rules act as usual; the mandatory rules still end the run
// as violations. For developing a policy, not for running hostile code. Off by default.
func (b *PolicyBuilder) SetAudit(on bool) *PolicyBuilder {
	return b.call("sbx_policy_builder_set_audit", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_set_audit(p, C.bool(on), cerr)
	})
}

// AllowSpeculation leaves speculative execution as the kernel set it. By default the sandboxee's
// speculative store bypass and indirect branch speculation are force-disabled (as sandbox2
// does) where the kernel lets a process choose, and Result.Fences lists "speculation_control".
// Disabling costs CPU-bound programs time: allow it for trusted performance-critical work.
func (b *PolicyBuilder) AllowSpeculation() *PolicyBuilder {
	return b.call("sbx_policy_builder_allow_speculation", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_allow_speculation(p, cerr)
	})
}

// AllowConnect lets the sandboxee's connect reach spec on the host: "10.0.0.0/8:443",
// "127.0.0.1:8080", "[::1]:80" (port 0 or *: any; TCP), "unix:/run/x.sock" (a host path,
// symlinks never followed), "abstract:NAME", "HOST:PORT" (resolved now, once), or
// "udp:10.0.0.53:53" (UDP to one address and one port, relayed by the supervisor). The sandbox
// keeps its own empty network; the supervisor connects allowed endpoints for it and hands it
// the socket. Other TCP connects are a VIOLATION_NETWORK (see RefuseConnect); other unix paths
// are looked up in the sandbox's own view. Needs the user-notify monitor and the sandbox's own
// network namespace: Build fails with ErrInvalidPolicy naming the conflict otherwise, and with
// ErrInvalidArgument naming a bad spec.
func (b *PolicyBuilder) AllowConnect(spec string) *PolicyBuilder {
	return b.withString("sbx_policy_builder_allow_connect", "spec", spec,
		func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_policy_builder_allow_connect(p, cs, cerr)
		})
}

// RefuseConnect makes a connect the allow-list does not allow fail with errno (e.g.
// syscall.ECONNREFUSED) and be listed in Result.DeniedConnects, instead of ending the run; 0
// restores the default (a VIOLATION_NETWORK). Turns the proxy on like AllowConnect.
func (b *PolicyBuilder) RefuseConnect(errno syscall.Errno) *PolicyBuilder {
	if errno < 0 || errno > 4095 {
		return b.fail(fmt.Errorf("%w: RefuseConnect: errno %d is not in 0..=4095", ErrInvalidArgument, int(errno)))
	}
	return b.call("sbx_policy_builder_refuse_connect", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_refuse_connect(p, C.uint16_t(errno), cerr)
	})
}

// DisableNamespaces turns namespaces off: the sandboxee sees the host's files, processes and
// network, runs as the caller's uid (a root caller's capabilities are still dropped) and is
// confined only by seccomp, rlimits and the monitor. Mounts added to such a policy make Build
// fail with ErrInvalidPolicy.
func (b *PolicyBuilder) DisableNamespaces() *PolicyBuilder {
	return b.call("sbx_policy_builder_disable_namespaces", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_disable_namespaces(p, cerr)
	})
}

// AllowNoPrivateProc lets the sandbox run without a private /proc when the kernel refuses to
// mount one (a container runtime that masks parts of its /proc): the sandbox then sees a clone
// of the caller's /proc (the container's processes become visible; Landlock scoping still keeps
// them from being signalled or traced), and Result.Degraded lists "proc". Default: such a
// sandbox fails with Result.FailedStep "mount_proc".
func (b *PolicyBuilder) AllowNoPrivateProc() *PolicyBuilder {
	return b.call("sbx_policy_builder_allow_no_private_proc", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_allow_no_private_proc(p, cerr)
	})
}

// ShareNetwork gives the sandboxee the host's network namespace (full network access).
// Default: a fresh network namespace holding only lo.
func (b *PolicyBuilder) ShareNetwork() *PolicyBuilder {
	return b.call("sbx_policy_builder_share_network", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_share_network(p, cerr)
	})
}

// NetNs chooses the network namespace a sandbox runs in.
type NetNs uint32

const (
	// NetNsPerSandbox is a fresh namespace per sandbox holding only lo (the default).
	NetNsPerSandbox NetNs = C.SBX_NETNS_PER_SANDBOX
	// NetNsShared is one empty namespace (only lo) shared by the process's sandboxes that ask
	// for it: ~0.5 ms less per sandbox, but they can reach each other's listeners on lo. Root
	// callers only (Start fails with ErrNotSupported otherwise).
	NetNsShared NetNs = C.SBX_NETNS_SHARED
	// NetNsHost is the host's network namespace (as ShareNetwork).
	NetNsHost NetNs = C.SBX_NETNS_HOST
)

// SetNetworkNamespace chooses the sandbox's network namespace.
func (b *PolicyBuilder) SetNetworkNamespace(n NetNs) *PolicyBuilder {
	return b.call("sbx_policy_builder_set_network_namespace", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_set_network_namespace(p, C.uint32_t(n), cerr)
	})
}

// SetHostname sets the hostname inside the sandbox (default "sandbox"); 1 to 64 printable
// ASCII characters without '/'.
func (b *PolicyBuilder) SetHostname(name string) *PolicyBuilder {
	return b.withString("sbx_policy_builder_set_hostname", "hostname", name, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_set_hostname(p, cs, cerr)
	})
}

// AddFile bind-mounts host file path read-only at the same path inside the sandbox. The path
// must be absolute, canonical and exist, or Build fails with ErrInvalidArgument.
func (b *PolicyBuilder) AddFile(path string) *PolicyBuilder {
	return b.withString("sbx_policy_builder_add_file", "path", path, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_file(p, cs, cerr)
	})
}

// AddFileAt bind-mounts host file outside at inside, writable when writable is true.
func (b *PolicyBuilder) AddFileAt(outside, inside string, writable bool) *PolicyBuilder {
	return b.withStrings("sbx_policy_builder_add_file_at", "outside path", outside, "inside path", inside, func(p *C.sbx_policy_builder, o, i *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_file_at(p, o, i, C.bool(writable), cerr)
	})
}

// AddDirectory bind-mounts host directory path (recursively) read-only at the same path.
func (b *PolicyBuilder) AddDirectory(path string) *PolicyBuilder {
	return b.withString("sbx_policy_builder_add_directory", "path", path, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_directory(p, cs, cerr)
	})
}

// AddDirectoryAt bind-mounts host directory outside (recursively) at inside, writable when
// writable is true (writable mounts are noexec unless AllowWriteExec).
func (b *PolicyBuilder) AddDirectoryAt(outside, inside string, writable bool) *PolicyBuilder {
	return b.withStrings("sbx_policy_builder_add_directory_at", "outside path", outside, "inside path", inside, func(p *C.sbx_policy_builder, o, i *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_directory_at(p, o, i, C.bool(writable), cerr)
	})
}

// AddDirectoryIfExists is AddDirectory, doing nothing when path is not a directory on the
// host (such as /lib64, which not every system has).
func (b *PolicyBuilder) AddDirectoryIfExists(path string) *PolicyBuilder {
	return b.withString("sbx_policy_builder_add_directory_if_exists", "path", path, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_directory_if_exists(p, cs, cerr)
	})
}

// AddTmpfs mounts a fresh writable tmpfs at inside, of at most sizeBytes bytes (0: the
// kernel's default, half of RAM).
func (b *PolicyBuilder) AddTmpfs(inside string, sizeBytes uint64) *PolicyBuilder {
	return b.withString("sbx_policy_builder_add_tmpfs", "path", inside, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_tmpfs(p, cs, C.uint64_t(sizeBytes), cerr)
	})
}

// SetDevShm gives the sandbox a private /dev/shm tmpfs of at most sizeBytes bytes (POSIX
// shared memory and semaphores, such as Python's multiprocessing locks); 0 removes it. The
// tool-default builder has 64 MiB.
func (b *PolicyBuilder) SetDevShm(sizeBytes uint64) *PolicyBuilder {
	return b.call("sbx_policy_builder_set_dev_shm", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_set_dev_shm(p, C.uint64_t(sizeBytes), cerr)
	})
}

// Hide withholds inside, a file (isDir false) or directory that a bind mount of the view
// shows (e.g. /etc/shadow under a bind of /etc): opening it in the sandbox fails with EACCES.
func (b *PolicyBuilder) Hide(inside string, isDir bool) *PolicyBuilder {
	return b.withString("sbx_policy_builder_hide", "path", inside, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_hide(p, cs, C.bool(isDir), cerr)
	})
}

// SetDevPts gives the sandbox its own /dev/pts and /dev/ptmx when on. Programs that open
// pseudo-terminals also need AddTTYRules.
func (b *PolicyBuilder) SetDevPts(on bool) *PolicyBuilder {
	return b.call("sbx_policy_builder_set_dev_pts", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_set_dev_pts(p, C.bool(on), cerr)
	})
}

// AddTTYRules adds the rules that let programs open and drive pseudo-terminals (pty creation,
// terminal modes, window size, job control on their own terminal; TIOCSTI stays refused).
// Rules are first-match: add them before a catch-all ioctl rule.
func (b *PolicyBuilder) AddTTYRules() *PolicyBuilder {
	return b.call("sbx_policy_builder_add_tty_rules", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_tty_rules(p, cerr)
	})
}

// SetRootWritable keeps the sandbox's root tmpfs writable (default read-only).
func (b *PolicyBuilder) SetRootWritable() *PolicyBuilder {
	return b.call("sbx_policy_builder_set_root_writable", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_set_root_writable(p, cerr)
	})
}

// AllowWriteExec lets writable mounts hold executables (default: writable mounts are noexec).
func (b *PolicyBuilder) AllowWriteExec() *PolicyBuilder {
	return b.call("sbx_policy_builder_allow_write_exec", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_allow_write_exec(p, cerr)
	})
}

// AddLibrariesForBinary mounts binary and exactly the files the dynamic loader needs to run it
// (its interpreter, every DT_NEEDED library, /etc/ld.so.cache) read-only, searching extraDirs
// first like LD_LIBRARY_PATH. The ELF parser is bounded, so this is safe for untrusted
// binaries. A binary that cannot be read or parsed makes Build fail.
func (b *PolicyBuilder) AddLibrariesForBinary(binary string, extraDirs ...string) *PolicyBuilder {
	const op = "sbx_policy_builder_add_libraries_for_binary"
	dirs, err := newCStringArray(op, "library directory", extraDirs)
	if err != nil {
		return b.fail(err)
	}
	defer dirs.free()
	return b.withString(op, "binary path", binary, func(p *C.sbx_policy_builder, cs *C.char, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_add_libraries_for_binary(p, cs, dirs.ptr(), dirs.len(), cerr)
	})
}

// Build compiles the rules into a Policy. It consumes the builder whether or not it succeeds;
// the builder must not be used afterwards. It returns the first problem recorded by the
// methods, or what compiling finds: ErrUnknownSyscall, ErrInvalidArgument, ErrInvalidPolicy
// (also when the filter would exceed the kernel's 4096 instructions).
func (b *PolicyBuilder) Build() (*Policy, error) {
	p := b.ptr()
	b.done = true
	b._ptr = nil
	runtime.SetFinalizer(b, nil)
	if p == nil {
		return nil, b.err
	}
	if b.err != nil {
		C.sbx_policy_builder_free(p)
		return nil, b.err
	}
	var out *C.sbx_policy
	var cerr *C.sbx_error
	st := C.sbx_policy_builder_build(p, &out, &cerr)
	if err := statusError("sbx_policy_builder_build", st, cerr); err != nil {
		b.err = err
		return nil, err
	}
	return newPolicy(out), nil
}

// Close frees a builder that was not built. It is idempotent, safe after Build, and also run
// by a finalizer; calling it explicitly releases the C memory at once, which the garbage
// collector cannot see.
func (b *PolicyBuilder) Close() {
	if b.done {
		return
	}
	b.done = true
	runtime.SetFinalizer(b, nil)
	if b._ptr != nil {
		C.sbx_policy_builder_free(b._ptr)
		b._ptr = nil
	}
}

// Policy is a built, immutable seccomp policy plus filesystem view. One Policy may be used by
// any number of Cmds, from any number of goroutines at once; each sandbox keeps its own
// reference to the C policy, so closing the Policy does not affect commands already started.
//
// Close it when done (a finalizer does it otherwise). Methods called after Close panic;
// starting a Cmd with a closed Policy fails with ErrInvalidState.
type Policy struct {
	mu     sync.RWMutex // read: any use of _ptr; write: Close
	_ptr   *C.sbx_policy
	shared bool // DefaultPolicy's: Close does nothing
}

func newPolicy(p *C.sbx_policy) *Policy {
	pol := &Policy{_ptr: p}
	runtime.SetFinalizer(pol, (*Policy).Close)
	return pol
}

// ptr returns the C handle; the caller holds p.mu for reading.
func (p *Policy) ptr() *C.sbx_policy {
	maybeGC()
	if p._ptr == nil {
		panic("sbx: Policy used after Close")
	}
	return p._ptr
}

// Close releases the policy. It is idempotent and also run by a finalizer; calling it
// explicitly frees the C memory at once, which the garbage collector cannot see. It waits for
// concurrent uses of the policy to return. Closing the shared DefaultPolicy does nothing.
func (p *Policy) Close() {
	if p.shared {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p._ptr == nil {
		return
	}
	runtime.SetFinalizer(p, nil)
	C.sbx_policy_free(p._ptr)
	p._ptr = nil
}

// Disassemble returns the compiled BPF filter as text, one "NNN: instruction" line per
// instruction with syscall names noted.
func (p *Policy) Disassemble() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	s := goStringOrEmpty(C.sbx_policy_disassemble(p.ptr()))
	runtime.KeepAlive(p)
	return s
}

// Program returns a copy of the compiled filter, mandatory prologue first (at most 4096
// instructions), in the kernel's struct sock_filter layout.
func (p *Policy) Program() []syscall.SockFilter {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var n C.size_t
	insns := C.sbx_policy_program(p.ptr(), &n)
	var out []syscall.SockFilter
	if insns != nil && n > 0 {
		src := unsafe.Slice(insns, int(n))
		out = make([]syscall.SockFilter, len(src))
		for i, in := range src {
			out[i] = syscall.SockFilter{Code: uint16(in.code), Jt: uint8(in.jt), Jf: uint8(in.jf), K: uint32(in.k)}
		}
	}
	runtime.KeepAlive(p)
	return out
}

// AllowsExec reports whether the rules let the sandboxee run execve/execveat whatever the
// arguments, beyond the one exec that starts the target.
func (p *Policy) AllowsExec() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	ok := bool(C.sbx_policy_allows_exec(p.ptr()))
	runtime.KeepAlive(p)
	return ok
}

// Audit architecture values (linux/audit.h) for Decide, from the C header (SBX_AUDIT_ARCH_*).
const (
	// AuditArchX86_64 is AUDIT_ARCH_X86_64.
	AuditArchX86_64 uint32 = C.SBX_AUDIT_ARCH_X86_64
	// AuditArchI386 is AUDIT_ARCH_I386 (int 0x80 and 32-bit programs on x86-64).
	AuditArchI386 uint32 = C.SBX_AUDIT_ARCH_I386
	// AuditArchAArch64 is AUDIT_ARCH_AARCH64.
	AuditArchAArch64 uint32 = C.SBX_AUDIT_ARCH_AARCH64
)

// Seccomp return actions (linux/seccomp.h), from the C header (SBX_SECCOMP_RET_*): the upper 16
// bits of what Decide returns; the lower 16 bits are the action's data (the errno for
// SeccompRetErrno).
const (
	// SeccompRetKillProcess kills the whole process.
	SeccompRetKillProcess uint32 = C.SBX_SECCOMP_RET_KILL_PROCESS
	// SeccompRetKillThread kills the calling thread.
	SeccompRetKillThread uint32 = C.SBX_SECCOMP_RET_KILL_THREAD
	// SeccompRetTrap sends SIGSYS.
	SeccompRetTrap uint32 = C.SBX_SECCOMP_RET_TRAP
	// SeccompRetErrno fails the call with the errno in the data bits.
	SeccompRetErrno uint32 = C.SBX_SECCOMP_RET_ERRNO
	// SeccompRetUserNotif asks a user-space supervisor.
	SeccompRetUserNotif uint32 = C.SBX_SECCOMP_RET_USER_NOTIF
	// SeccompRetTrace stops the thread for its ptrace tracer (libsbx's monitor).
	SeccompRetTrace uint32 = C.SBX_SECCOMP_RET_TRACE
	// SeccompRetLog allows the call and logs it.
	SeccompRetLog uint32 = C.SBX_SECCOMP_RET_LOG
	// SeccompRetAllow allows the call.
	SeccompRetAllow uint32 = C.SBX_SECCOMP_RET_ALLOW
	// SeccompRetActionFull masks the action part of a return value.
	SeccompRetActionFull uint32 = C.SBX_SECCOMP_RET_ACTION_FULL
)

// Decide returns what the policy's filter answers for one syscall, computed from the rules
// without running the filter: the SECCOMP_RET_* value with its data for architecture arch (an
// AuditArch* value), syscall number nr and the six argument registers args.
func (p *Policy) Decide(arch uint32, nr int32, args [6]uint64) uint32 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	r := uint32(C.sbx_policy_decide(p.ptr(), C.uint32_t(arch), C.int32_t(nr), (*C.uint64_t)(unsafe.Pointer(&args[0]))))
	runtime.KeepAlive(p)
	return r
}

var (
	defaultPolicyOnce sync.Once
	defaultPolicy     *Policy
	defaultPolicyErr  error
)

// DefaultPolicy returns the policy NewToolPolicyBuilder builds, compiled once and shared by
// every Cmd whose Policy is nil. Its Close does nothing.
func DefaultPolicy() (*Policy, error) {
	defaultPolicyOnce.Do(func() {
		defaultPolicy, defaultPolicyErr = NewToolPolicyBuilder().Build()
		if defaultPolicy != nil {
			defaultPolicy.shared = true
			runtime.SetFinalizer(defaultPolicy, nil)
		}
	})
	return defaultPolicy, defaultPolicyErr
}
