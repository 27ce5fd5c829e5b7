package sbx

/*
#include <stdlib.h>
#include <sbx.h>
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/cgo"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Cmd is a program to run in a sandbox, shaped like os/exec.Cmd: exported fields configure
// the run, Start and Wait (or Run, which is both) carry it out, and a Cmd runs once.
//
// Unlike os/exec, the program runs under Policy in its own namespaces: it sees only what the
// policy mounts, runs as uid 1000 of a fresh user namespace, starts with an empty environment,
// and has no network. The host process never forks and never installs a filter on itself:
// libsbx starts the sandboxee from its own supervisor thread with clone(CLONE_VM) and an
// immediate exec.
//
// A sandbox-aware program (one that uses this package's ClientComms, MappedFile and
// SandboxMeHere, or their C and Rust equivalents) is run with EnableComms or SandboxAfterExec
// and NamedFiles, and talks to the host over the *Comms that TakeComms returns.
//
// Kill and Pid may be called from any goroutine at any time; the other methods must not be
// called concurrently with each other.
type Cmd struct {
	// Path is the program to run. A name without a slash is looked up, when the sandbox
	// starts, in the directories of the sandboxee's PATH (from Env, else
	// /usr/local/bin:/usr/bin:/bin), never in the host's $PATH; a relative path with a slash
	// is taken relative to the host's working directory. The program and its loader must be
	// visible in the sandbox (see PolicyBuilder.AddLibrariesForBinary), else the run ends with
	// a *SetupError. Empty Path makes Start fail with ErrInvalidArgument.
	Path string

	// Args holds the command-line arguments, including the program name as Args[0]. Empty
	// Args runs the program with Args[0] = Path.
	Args []string

	// Env is the sandboxee's environment, as "KEY=value" strings. Unlike os/exec, nil means an
	// empty environment: nothing of the host's environment leaks into the sandbox unless it
	// is listed here.
	Env []string

	// Dir is the working directory inside the sandbox; it must be absolute. Empty Dir starts
	// the sandboxee at / of its new root, or, under a policy with DisableNamespaces, in the
	// host's working directory.
	Dir string

	// Stdin is the sandboxee's standard input. Nil reads from /dev/null. An *os.File is
	// handed over directly (libsbx duplicates it; the caller still closes its own). Any
	// other io.Reader is copied into a pipe by a goroutine, and Wait waits for that copy to
	// end.
	Stdin io.Reader

	// Stdout and Stderr are the sandboxee's standard output and error. Nil writes to
	// /dev/null. An *os.File is handed over directly; any other io.Writer receives the data
	// through a pipe and a goroutine, and Wait waits for the copy to finish. When both are the
	// same writer, one pipe serves both, so their order is kept.
	Stdout io.Writer
	// Stderr: see Stdout.
	Stderr io.Writer

	// ExtraFiles are more open files for the sandboxee: entry i becomes descriptor 3+i. A nil
	// entry leaves that descriptor closed. Every descriptor not listed is closed in the
	// sandboxee.
	ExtraFiles []*os.File

	// Policy is what the sandboxee may do and see. Nil uses DefaultPolicy (sbx-run's default
	// policy for ordinary tools). The Policy may be closed once Start has returned.
	Policy *Policy

	// Limits are the sandboxee's resource limits; the zero value keeps libsbx's defaults.
	Limits Limits

	// NamedFiles are more open files for the sandboxee, found there by name: a sandboxee
	// using this package calls MappedFile(name) (C: sbx_client_mapped_fd). They get the
	// descriptors after ExtraFiles, in the order of their sorted names. A name is 1 to 64 of
	// [A-Za-z0-9_.-]; a bad name makes Start fail with ErrInvalidArgument. The names reach
	// the sandboxee in its SBX_FD_MAPPINGS environment variable.
	NamedFiles map[string]*os.File

	// EnableComms gives the sandboxee a comms channel: it opens its end with ClientComms (C:
	// sbx_comms_client), the host takes the other end with TakeComms after Start. It uses
	// descriptor 1023 in the sandboxee, which no other file may use then.
	EnableComms bool

	// SandboxAfterExec turns off applying the policy before the program's exec (sandbox2's
	// sandbox_before_exec(false)). The program then starts under libsbx's mandatory rules,
	// namespaces and limits only, prepares what it needs (opens files, loads data, starts
	// threads), and applies the policy itself by calling SandboxMeHere (C:
	// sbx_client_sandbox_me_here), which receives it over comms as the channel's first
	// message and applies it to every thread. The policy must allow what the program does
	// after that call, comms included (see PolicyBuilder.AllowGoRuntime for a Go program).
	// It implies EnableComms. Only for programs written for it: a program that never calls
	// SandboxMeHere runs without the policy.
	SandboxAfterExec bool

	// Notify holds functions the monitor calls during the run (start, traced syscalls,
	// violations, signals, the end); nil calls none, and traced syscalls are then denied.
	// Start copies it.
	Notify *Notify

	sb           atomic.Pointer[sandbox]
	startCalled  bool
	waitCalled   bool
	closeAfter   []io.Closer // parent ends of pipes, closed by Wait or Close
	childEnds    []io.Closer // child ends, closed once libsbx holds its copies
	copiers      []func() error
	copyErrs     chan error
	waitDone     chan struct{}
	watchResult  chan error
	result       *Result
	deadlineWall bool
}

// Command returns a Cmd that runs name with the given arguments under DefaultPolicy. Unlike
// os/exec.Command it does not consult the host's $PATH: a name without a slash is resolved
// through the sandboxee's PATH when the sandbox starts (see Cmd.Path).
func Command(name string, arg ...string) *Cmd {
	return &Cmd{Path: name, Args: append([]string{name}, arg...)}
}

// deadlineGrace is how long after a context deadline the watcher waits for the monitor's own
// wall-time limit (set from the deadline) to end the run before killing it itself.
const deadlineGrace = time.Second

// Start starts the sandboxee and returns once it runs the program, or once its setup has
// failed (Wait then returns a *SetupError). It returns an error only when the run cannot be
// attempted: invalid configuration (*Error, such as ErrInvalidArgument for an empty Path, a
// NUL byte in a string, or a closed file), a closed Policy, a host failure, or a ctx that is
// already done.
//
// ctx bounds the whole run: its deadline lowers the wall-time limit to the time left (the run
// then ends with StatusTimeout), and cancelling it kills the sandbox (StatusExternalKill). In
// both cases Wait returns ctx.Err(). ctx must not be nil.
//
// After a successful Start, call Wait to release the sandbox and collect the Result.
func (c *Cmd) Start(ctx context.Context) error {
	if ctx == nil {
		panic("sbx: nil Context")
	}
	if c.startCalled {
		return &Error{Code: CodeInvalidState, Op: "Start", Message: "Start was already called: a Cmd runs once"}
	}
	c.startCalled = true
	if err := CheckVersion(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	pol := c.Policy
	if pol == nil {
		var err error
		if pol, err = DefaultPolicy(); err != nil {
			return err
		}
	}

	exe, err := c.newExecutor(ctx)
	if err != nil {
		closeAll(c.childEnds)
		closeAll(c.closeAfter)
		return err
	}
	sb, err := newSandbox(exe, pol, c.Notify) // consumes exe
	if err == nil {
		// Published before the start: Notify functions run on the supervisor thread while Start
		// is still returning, and may call Kill or Pid.
		c.sb.Store(sb)
		if err = sb.start(); err != nil {
			c.sb.Store(nil)
			sb.Close()
			// The Started callback may have run (and panicked) before the start failed.
			defer sb.rethrow()
		}
	}
	// libsbx holds its own copies of the child ends now (and closes them once the program
	// runs), so the pipes reach EOF when the sandboxee's side is done.
	closeAll(c.childEnds)
	c.childEnds = nil
	if err != nil {
		closeAll(c.closeAfter)
		return err
	}
	c.sb.Store(sb)

	c.copyErrs = make(chan error, len(c.copiers))
	for _, fn := range c.copiers {
		go func(fn func() error) { c.copyErrs <- fn() }(fn)
	}
	c.copiers = nil

	if done := ctx.Done(); done != nil {
		c.waitDone = make(chan struct{})
		c.watchResult = make(chan error, 1)
		go watch(ctx, sb, c.waitDone, c.watchResult, c.deadlineWall)
	}
	return nil
}

// watch ends the sandbox when ctx is done before the run is, and reports ctx.Err() then.
func watch(ctx context.Context, sb *sandbox, waitDone <-chan struct{}, result chan<- error, deadlineWall bool) {
	select {
	case <-waitDone:
		result <- nil
		return
	case <-ctx.Done():
	}
	err := ctx.Err()
	if deadlineWall && errors.Is(err, context.DeadlineExceeded) {
		// The monitor enforces the deadline as the wall-time limit and reports TIMEOUT;
		// kill only if the run outlives it.
		t := time.NewTimer(deadlineGrace)
		select {
		case <-waitDone:
			t.Stop()
			result <- err
			return
		case <-t.C:
		}
	}
	_ = sb.kill()
	result <- err
}

// Wait waits for the sandboxee to end, for the copying of non-file Stdin, Stdout and Stderr to
// finish, releases the sandbox and returns the Result. When a Notify function panicked, Wait
// re-raises that panic once the sandbox is released.
//
// The error is nil when the run took place, whatever the sandboxee did: use Result.Err or
// Result.Success for that. It is non-nil when:
//
//   - the context given to Start ended the run: ctx.Err() (the Result has StatusTimeout or
//     StatusExternalKill);
//   - the sandbox could not be set up or supervised: a *SetupError (the same as Result.Err);
//   - copying to or from a non-file stdio stream failed: that error;
//   - Wait was misused (not started, called twice): an *Error with ErrInvalidState and a nil
//     Result.
func (c *Cmd) Wait() (*Result, error) {
	sb := c.sb.Load()
	if sb == nil {
		return nil, &Error{Code: CodeInvalidState, Op: "Wait", Message: "the command was not started"}
	}
	if c.waitCalled {
		return nil, &Error{Code: CodeInvalidState, Op: "Wait", Message: "Wait was already called"}
	}
	c.waitCalled = true

	res, werr := sb.wait()
	ctxErr := c.stopWatch()
	sb.Close()
	defer sb.rethrow() // after the copies below have ended too

	var copyErr error
	for i := 0; i < cap(c.copyErrs); i++ {
		if err := <-c.copyErrs; err != nil && copyErr == nil {
			copyErr = err
		}
	}
	closeAll(c.closeAfter)
	c.closeAfter = nil

	if werr != nil {
		return nil, werr
	}
	c.result = res
	switch {
	case res.Status == StatusTimeout && c.deadlineWall:
		// The wall-time limit was the context's deadline: the monitor may report it a little
		// before the context's own timer closes Done.
		return res, context.DeadlineExceeded
	case ctxErr != nil && (res.Status == StatusTimeout || res.Status == StatusExternalKill):
		return res, ctxErr
	case res.Status == StatusSetupError || res.Status == StatusInternalError:
		return res, res.Err()
	case copyErr != nil:
		return res, copyErr
	}
	return res, nil
}

// Run starts the sandboxee and waits for it: Start(ctx) then Wait. See both for the errors;
// in short, a nil error means the run took place and the Result says how it ended.
func (c *Cmd) Run(ctx context.Context) (*Result, error) {
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c.Wait()
}

// Kill kills the sandboxee and everything it started; Wait then reports StatusExternalKill
// unless the run had already ended otherwise. It may be called from any goroutine, also while
// another one is in Wait. It returns os.ErrProcessDone after Wait or Close, and an *Error
// with ErrInvalidState before Start.
func (c *Cmd) Kill() error {
	sb := c.sb.Load()
	if sb == nil {
		return &Error{Code: CodeInvalidState, Op: "Kill", Message: "the command was not started"}
	}
	return sb.kill()
}

// Pid returns the host pid of the sandboxee once it has started (also after it ended), else 0.
// It may be called from any goroutine.
func (c *Cmd) Pid() int {
	sb := c.sb.Load()
	if sb == nil {
		return 0
	}
	return sb.pid()
}

// Result returns the Result Wait returned, or nil before that.
func (c *Cmd) Result() *Result { return c.result }

// TakeComms returns the host's end of the sandboxee's comms channel (see EnableComms and
// SandboxAfterExec). Call it once, after Start; the caller owns the Comms and closes it. It
// may outlive the run: once the sandboxee is gone, receives return what it had sent and then
// fail with ErrCommsClosed. It fails with ErrInvalidState before Start, after Close, when
// comms were not enabled, and on a second call.
func (c *Cmd) TakeComms() (*Comms, error) {
	sb := c.sb.Load()
	if sb == nil {
		return nil, &Error{Code: CodeInvalidState, Op: "TakeComms", Message: "the command was not started"}
	}
	return sb.takeComms()
}

// stopWatch ends the context watcher, if any is running, and returns what it reported:
// ctx.Err() when the context ended before the run did.
func (c *Cmd) stopWatch() error {
	if c.waitDone == nil {
		return nil
	}
	close(c.waitDone)
	c.waitDone = nil
	return <-c.watchResult
}

// Close kills a started sandboxee that was not waited for and releases the sandbox and the
// pipes. Wait does this itself, so Close is only needed for a Cmd that is abandoned after
// Start; a finalizer does it otherwise, but the garbage collector does not see the processes
// and C memory involved, so do not rely on it. Close is idempotent; Wait after Close fails.
func (c *Cmd) Close() error {
	if sb := c.sb.Load(); sb != nil {
		sb.Close()
	}
	c.stopWatch()
	closeAll(c.childEnds)
	c.childEnds = nil
	if !c.waitCalled {
		closeAll(c.closeAfter)
		c.closeAfter = nil
	}
	return nil
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		_ = c.Close()
	}
}

// interfaceEqual compares two interface values without panicking on uncomparable types.
func interfaceEqual(a, b any) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
}

// executor owns a C sbx_executor until newSandbox consumes it.
type executor struct {
	p *C.sbx_executor
}

func (e *executor) call(op string, f func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status) error {
	maybeGC()
	var cerr *C.sbx_error
	st := f(e.p, &cerr)
	return statusError(op, st, cerr)
}

func (e *executor) free() {
	if e.p != nil {
		C.sbx_executor_free(e.p)
		e.p = nil
	}
}

// take hands the C executor over to a consuming call.
func (e *executor) take() *C.sbx_executor {
	p := e.p
	e.p = nil
	return p
}

// newExecutor builds the C executor from c's fields: path, argv, envp, cwd, stdio, extra
// files and limits. On error it frees what it made; the pipes it created are in c.childEnds
// and c.closeAfter for the caller to close.
func (c *Cmd) newExecutor(ctx context.Context) (_ *executor, err error) {
	path, err := cString("sbx_executor_new", "Path", c.Path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(path))
	e := &executor{}
	var cerr *C.sbx_error
	st := C.sbx_executor_new(path, &e.p, &cerr)
	if err := statusError("sbx_executor_new", st, cerr); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.free()
		}
	}()

	if len(c.Args) > 0 {
		argv, err := newCStringArray("sbx_executor_set_argv", "argument", c.Args)
		if err != nil {
			return nil, err
		}
		err = e.call("sbx_executor_set_argv", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_set_argv(p, argv.ptr(), argv.len(), cerr)
		})
		argv.free()
		if err != nil {
			return nil, err
		}
	}

	envp, err := newCStringArray("sbx_executor_set_envp", "environment entry", c.Env)
	if err != nil {
		return nil, err
	}
	err = e.call("sbx_executor_set_envp", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_executor_set_envp(p, envp.ptr(), envp.len(), cerr)
	})
	envp.free()
	if err != nil {
		return nil, err
	}

	if c.Dir != "" {
		dir, err := cString("sbx_executor_set_cwd", "Dir", c.Dir)
		if err != nil {
			return nil, err
		}
		err = e.call("sbx_executor_set_cwd", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_set_cwd(p, dir, cerr)
		})
		C.free(unsafe.Pointer(dir))
		if err != nil {
			return nil, err
		}
	}

	if err := c.setStdio(e); err != nil {
		return nil, err
	}

	for i, f := range c.ExtraFiles {
		if f == nil {
			continue
		}
		fd := fileFd(f)
		err := e.call("sbx_executor_map_fd", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_map_fd(p, fd, C.int32_t(3+i), cerr)
		})
		runtime.KeepAlive(f)
		if err != nil {
			return nil, err
		}
	}

	names := make([]string, 0, len(c.NamedFiles))
	for name := range c.NamedFiles {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		const op = "sbx_executor_map_fd_named"
		f := c.NamedFiles[name]
		if f == nil {
			return nil, &Error{Code: CodeInvalidArgument, Op: op, Message: fmt.Sprintf("NamedFiles[%q] is nil", name)}
		}
		cname, err := cString(op, "file name", name)
		if err != nil {
			return nil, err
		}
		fd := fileFd(f)
		childFd := C.int32_t(3 + len(c.ExtraFiles) + i)
		err = e.call(op, func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_map_fd_named(p, fd, childFd, cname, cerr)
		})
		C.free(unsafe.Pointer(cname))
		runtime.KeepAlive(f)
		if err != nil {
			return nil, err
		}
	}

	if c.EnableComms {
		if err := e.call("sbx_executor_enable_comms", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_enable_comms(p, cerr)
		}); err != nil {
			return nil, err
		}
	}
	if c.SandboxAfterExec {
		if err := e.call("sbx_executor_set_sandbox_before_exec", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_set_sandbox_before_exec(p, false, cerr)
		}); err != nil {
			return nil, err
		}
	}

	if err := c.setLimits(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// fileFd returns f's descriptor for C, or -1 (which libsbx rejects) for a nil or closed file.
func fileFd(f *os.File) C.int32_t {
	if f == nil {
		return -1
	}
	fd := f.Fd()
	if fd > math.MaxInt32 {
		return -1
	}
	return C.int32_t(fd)
}

// setStdio maps the three standard streams.
func (c *Cmd) setStdio(e *executor) error {
	set := func(childFd int, kind C.uint32_t, f *os.File) error {
		fd := C.int32_t(-1)
		if kind == C.SBX_STDIO_FD {
			fd = fileFd(f)
		}
		err := e.call("sbx_executor_set_stdio", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_set_stdio(p, C.int32_t(childFd), kind, fd, cerr)
		})
		runtime.KeepAlive(f)
		return err
	}

	// Standard input.
	switch r := c.Stdin.(type) {
	case nil:
		if err := set(0, C.SBX_STDIO_NULL, nil); err != nil {
			return err
		}
	case *os.File:
		if err := set(0, C.SBX_STDIO_FD, r); err != nil {
			return err
		}
	default:
		pr, pw, err := os.Pipe()
		if err != nil {
			return &Error{Code: CodeOSError, Op: "Start", Errno: errnoOf(err), Message: "stdin pipe: " + err.Error()}
		}
		c.childEnds = append(c.childEnds, pr)
		c.closeAfter = append(c.closeAfter, pw)
		c.copiers = append(c.copiers, func() error {
			_, err := io.Copy(pw, r)
			if isBrokenPipe(err) {
				// The sandboxee did not read all of its input; as with os/exec, not an error.
				err = nil
			}
			if cerr := pw.Close(); err == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
				err = cerr
			}
			return err
		})
		if err := set(0, C.SBX_STDIO_FD, pr); err != nil {
			return err
		}
	}

	// Standard output and error.
	var stdoutChild *os.File
	for childFd, w := range []io.Writer{1: c.Stdout, 2: c.Stderr} {
		if childFd == 0 {
			continue
		}
		switch f := w.(type) {
		case nil:
			if err := set(childFd, C.SBX_STDIO_NULL, nil); err != nil {
				return err
			}
			continue
		case *os.File:
			if err := set(childFd, C.SBX_STDIO_FD, f); err != nil {
				return err
			}
			continue
		}
		if childFd == 2 && stdoutChild != nil && interfaceEqual(c.Stderr, c.Stdout) {
			if err := set(2, C.SBX_STDIO_FD, stdoutChild); err != nil {
				return err
			}
			continue
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return &Error{Code: CodeOSError, Op: "Start", Errno: errnoOf(err), Message: "output pipe: " + err.Error()}
		}
		c.childEnds = append(c.childEnds, pw)
		c.closeAfter = append(c.closeAfter, pr)
		c.copiers = append(c.copiers, func() error {
			_, err := io.Copy(w, pr)
			if cerr := pr.Close(); err == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
				err = cerr
			}
			return err
		})
		if childFd == 1 {
			stdoutChild = pw
		}
		if err := set(childFd, C.SBX_STDIO_FD, pw); err != nil {
			return err
		}
	}
	return nil
}

func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}

// setLimits applies c.Limits, and ctx's deadline as the wall-time limit when it is sooner.
func (c *Cmd) setLimits(ctx context.Context, e *executor) error {
	setValue := func(id C.uint32_t, v int64) error {
		return e.call("sbx_executor_set_limit", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_set_limit(p, id, C.int64_t(v), cerr)
		})
	}
	setUnlimited := func(id C.uint32_t) error {
		return e.call("sbx_executor_set_limit_unlimited", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_set_limit_unlimited(p, id, cerr)
		})
	}
	for _, l := range c.Limits.rlimits() {
		switch {
		case !l.limit.set:
			continue
		case l.limit.unlimited:
			if err := setUnlimited(l.id); err != nil {
				return err
			}
		case l.limit.value > math.MaxInt64:
			return &Error{Code: CodeInvalidArgument, Op: "sbx_executor_set_limit", Message: fmt.Sprintf("limit %d is too large", l.limit.value)}
		default:
			if err := setValue(l.id, int64(l.limit.value)); err != nil {
				return err
			}
		}
	}

	wall := c.Limits.WallTime
	switch {
	case wall < 0:
		if err := setUnlimited(C.SBX_LIMIT_WALL_TIME_MS); err != nil {
			return err
		}
	case wall > 0:
		if err := setValue(C.SBX_LIMIT_WALL_TIME_MS, wallTimeMillis(wall)); err != nil {
			return err
		}
	}

	deadline, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	left := time.Until(deadline)
	if left <= 0 {
		return context.DeadlineExceeded
	}
	var limited C.bool
	var ms C.uint64_t
	if err := e.call("sbx_executor_get_limit", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_executor_get_limit(p, C.SBX_LIMIT_WALL_TIME_MS, &limited, &ms, cerr)
	}); err != nil {
		return err
	}
	leftMs := wallTimeMillis(left)
	if !bool(limited) || uint64(leftMs) < uint64(ms) {
		if err := setValue(C.SBX_LIMIT_WALL_TIME_MS, leftMs); err != nil {
			return err
		}
		c.deadlineWall = true
	}
	return nil
}

// sandbox owns a C sbx_sandbox. Any use of _ptr holds mu for reading (the C functions used
// concurrently, kill and pid, take the sandbox const; wait, start and take_comms are only
// called by the goroutine that owns the Cmd); Close holds it for writing.
type sandbox struct {
	mu      sync.RWMutex
	_ptr    *C.sbx_sandbox
	lastPid int
	env     *callbackEnv // the Notify's, or nil
}

// newSandbox consumes exe (also on failure) and takes its own reference to pol. A non-nil
// notify is copied and registered with libsbx.
func newSandbox(exe *executor, pol *Policy, notify *Notify) (*sandbox, error) {
	pol.mu.RLock()
	defer pol.mu.RUnlock()
	if pol._ptr == nil {
		exe.free()
		return nil, &Error{Code: CodeInvalidState, Op: "Start", Message: "the Policy was closed"}
	}
	var out *C.sbx_sandbox
	var cerr *C.sbx_error
	var env *callbackEnv
	op := "sbx_sandbox_new"
	var st C.sbx_status
	if notify == nil {
		st = C.sbx_sandbox_new(exe.take(), pol.ptr(), &out, &cerr)
	} else {
		op = "sbx_sandbox_new_with_notify"
		n := *notify
		var h cgo.Handle
		env, h = newCallbackEnv(&n)
		cb := notifyCallbacks(&n, uintptr(h))
		st = C.sbx_sandbox_new_with_notify(exe.take(), pol.ptr(), &cb, &out, &cerr)
		if st != C.SBX_STATUS_OK {
			releaseCallbackEnv(h) // libsbx calls nothing, not even destroy, on failure
		}
	}
	runtime.KeepAlive(pol)
	if err := statusError(op, st, cerr); err != nil {
		return nil, err
	}
	s := &sandbox{_ptr: out, env: env}
	runtime.SetFinalizer(s, (*sandbox).Close)
	return s, nil
}

// rethrow re-raises a panic of a Notify function; call it once the sandbox is released.
func (s *sandbox) rethrow() {
	if s.env != nil {
		s.env.rethrow()
	}
}

func (s *sandbox) takeComms() (*Comms, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s._ptr == nil {
		return nil, &Error{Code: CodeInvalidState, Op: "TakeComms", Message: "the command was closed"}
	}
	var out *C.sbx_comms
	var cerr *C.sbx_error
	st := C.sbx_sandbox_take_comms(s.ptr(), &out, &cerr)
	runtime.KeepAlive(s)
	if err := statusError("sbx_sandbox_take_comms", st, cerr); err != nil {
		return nil, err
	}
	return newComms(out), nil
}

// ptr returns the C handle; the caller holds s.mu for reading. It panics after Close.
func (s *sandbox) ptr() *C.sbx_sandbox {
	maybeGC()
	if s._ptr == nil {
		panic("sbx: sandbox used after Close")
	}
	return s._ptr
}

func (s *sandbox) start() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var cerr *C.sbx_error
	st := C.sbx_sandbox_start(s.ptr(), &cerr)
	runtime.KeepAlive(s)
	return statusError("sbx_sandbox_start", st, cerr)
}

func (s *sandbox) wait() (*Result, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s._ptr == nil {
		return nil, &Error{Code: CodeInvalidState, Op: "Wait", Message: "the command was closed"}
	}
	s.parkUntilDone()
	var r *C.sbx_result
	var cerr *C.sbx_error
	st := C.sbx_sandbox_wait(s.ptr(), &r, &cerr)
	runtime.KeepAlive(s)
	if err := statusError("sbx_sandbox_wait", st, cerr); err != nil {
		return nil, err
	}
	defer C.sbx_result_free(r)
	return newResult(r), nil
}

// parkUntilDone waits for the end of the run on the sandbox's completion fd through the
// runtime's netpoller, so a waiting goroutine is parked instead of holding an OS thread in a
// blocking cgo call; sbx_sandbox_wait then returns at once. Called with s.mu read-locked. If
// the fd cannot be had or polled, it returns and the blocking wait does the waiting.
func (s *sandbox) parkUntilDone() {
	var fd C.int
	var cerr *C.sbx_error
	st := C.sbx_sandbox_completion_fd(s.ptr(), &fd, &cerr)
	runtime.KeepAlive(s)
	if statusError("sbx_sandbox_completion_fd", st, cerr) != nil {
		return
	}
	// A private duplicate: the File closes it, never the sandbox's own fd.
	dup, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return
	}
	if syscall.SetNonblock(int(dup), true) != nil {
		syscall.Close(int(dup))
		return
	}
	f := os.NewFile(dup, "sbx-completion")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// The fd only ever becomes readable once the result is published, and stays readable: the
	// check reads nothing.
	_ = rc.Read(func(uintptr) bool {
		finished := bool(C.sbx_sandbox_is_finished(s.ptr()))
		runtime.KeepAlive(s)
		return finished
	})
}

func (s *sandbox) kill() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s._ptr == nil {
		return os.ErrProcessDone
	}
	st := C.sbx_sandbox_kill(s.ptr())
	runtime.KeepAlive(s)
	return statusError("sbx_sandbox_kill", st, nil)
}

func (s *sandbox) pid() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s._ptr == nil {
		return s.lastPid
	}
	pid := int(C.sbx_sandbox_pid(s.ptr()))
	runtime.KeepAlive(s)
	return pid
}

// Close kills a running sandboxee and frees the sandbox; idempotent.
func (s *sandbox) Close() {
	_ = s.kill()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s._ptr == nil {
		return
	}
	runtime.SetFinalizer(s, nil)
	s.lastPid = int(C.sbx_sandbox_pid(s._ptr))
	C.sbx_sandbox_free(s._ptr)
	s._ptr = nil
}
