// Package sbx runs untrusted Linux programs in a sandbox and reports precisely how they
// ended. It is the Go binding of libsbx (Google's sandbox2 model rebuilt in Rust), a cgo
// wrapper over libsbx's C ABI (sbx.h).
//
// A run has three parts:
//
//   - a Policy, built with a PolicyBuilder: the seccomp-bpf syscall rules (allow, errno,
//     trace, violation, with argument conditions) and the filesystem view (bind mounts,
//     tmpfs), namespaces and network;
//   - a Cmd, shaped like os/exec.Cmd: program, arguments, environment, directory, standard
//     streams, extra files and resource Limits;
//   - a Result: status (OK, SETUP_ERROR, VIOLATION, SIGNALED, TIMEOUT, EXTERNAL_KILL,
//     INTERNAL_ERROR), exit code or signal, the violating syscall with its arguments,
//     resource usage and wall time.
//
// For example:
//
//	cmd := sbx.Command("sh", "-c", "echo hello")
//	var out bytes.Buffer
//	cmd.Stdout = &out
//	res, err := cmd.Run(ctx)
//	if err != nil {
//		return err // the run could not take place (bad input, setup failure, ctx ended it)
//	}
//	if err := res.Err(); err != nil {
//		return err // *sbx.ExitError or *sbx.ViolationError: what the program did
//	}
//
// # What the sandboxee sees
//
// Namespaces are on by default. The sandboxee gets an empty, read-only root holding only what
// the policy mounts plus /proc and a minimal /dev; it runs as uid 1000 in its own user, pid,
// mount, network, IPC, UTS and cgroup namespaces, with no network but lo. Its environment is
// empty unless Cmd.Env fills it, its working directory is / unless Cmd.Dir says otherwise,
// and a program name without a slash is looked up in the sandboxee's PATH (default
// /usr/local/bin:/usr/bin:/bin), not in the host's.
//
// NewPolicyBuilder starts from nothing: every syscall is a violation and nothing is mounted.
// NewToolPolicyBuilder starts from the default policy of the sbx-run command: ordinary
// dynamically linked tools and shells work, execs are allowed, /usr, /bin, /lib and friends
// are mounted read-only, /tmp is a private tmpfs. A Cmd with a nil Policy uses that policy
// (DefaultPolicy). Whatever the policy, libsbx's mandatory rules come first: foreign
// architectures, ptrace, bpf, namespace creation, io_uring and similar calls are always
// violations.
//
// # The host process
//
// This package never forks and never installs a seccomp filter in the Go process: libsbx
// starts each sandboxee from its own supervisor thread with clone(CLONE_VM) and an immediate
// exec, and the filter is installed in the child only. Starting sandboxes from many goroutines
// at once is supported, and its cost does not grow with the Go heap. A Policy may be shared
// by any number of concurrent Cmds; Cmd.Kill and Cmd.Pid may be called from any goroutine.
//
// # Contexts, timeouts and killing
//
// Cmd.Start and Cmd.Run take a context.Context that bounds the run. Its deadline becomes the
// wall-time limit enforced by the monitor (the Result then says TIMEOUT); cancelling it kills
// the sandbox and every process in it (EXTERNAL_KILL). Either way Wait returns ctx.Err()
// together with the Result. Limits.WallTime sets a wall-time limit without a context
// (default 120 s); Cmd.Kill ends a run at any time.
//
// # Errors
//
// Two kinds of outcome are kept apart, as in sandbox2:
//
//   - The run could not take place: Start, Run and Wait return an error. Bad input or a host
//     problem is an *Error with a Code, the failing operation (Op), the errno for failed
//     system calls, and libsbx's message; errors.Is matches it against the sentinels
//     (ErrInvalidArgument, ErrUnknownSyscall, ErrNotSupported, ...) and, through Unwrap,
//     against its syscall.Errno. A sandbox that could not be set up (the program is not in
//     the sandbox's filesystem, a kernel feature is missing) is a *SetupError carrying the
//     Result, and unwrapping to the errno of the failed step (errors.Is(err,
//     fs.ErrNotExist) for a missing program). A run ended by the context gives ctx.Err().
//   - A comms channel failed: an *Error with CodeComms whose CommsCode says how;
//     errors.Is matches ErrComms and the code's sentinel (ErrCommsClosed when the peer is
//     gone, ErrCommsTagMismatch for a message of another type, ...).
//   - The run took place: the Result says what the program did. Result.Err turns it into an
//     error for os/exec-style code: nil for exit code 0, *ExitError for another exit code, a
//     signal, a timeout or a kill, *ViolationError for a policy violation.
//
// PolicyBuilder methods chain; the first problem is remembered and returned by Build.
//
// # Building and linking
//
// The package links libsbx through pkg-config ("#cgo pkg-config: sbx"), so cgo must be
// enabled and PKG_CONFIG_PATH must lead to sbx.pc:
//
//   - Against an installed libsbx (what users do): scripts/install.sh --prefix DIR installs
//     libsbx.so, libsbx.a, sbx.h, sbx.pc and sbx-static.pc; then build with
//     PKG_CONFIG_PATH=DIR/lib/pkgconfig (and make DIR/lib known to the dynamic loader, for
//     example through ld.so.conf or LD_LIBRARY_PATH, unless DIR is a system prefix).
//   - Against the repository's build tree (what the tests use): scripts/test-go.sh
//     --setup-only builds libsbx with cargo and writes target/go-sbx/pkgconfig/sbx.pc,
//     whose flags point at include/ and target/release (with an rpath); export the
//     PKG_CONFIG_PATH it prints, then go build, go test or go run as usual in go/.
//   - Statically: the build tag sbxstatic links libsbx.a through sbx-static.pc instead,
//     so the program does not need libsbx.so at run time.
//
// For example, in go/ of a checkout:
//
//	eval "$(../scripts/test-go.sh --setup-only | tail -n 1)"   # export PKG_CONFIG_PATH=...
//	go test -race ./...
//	go run ./examples/tightpolicy
//	go build -tags sbxstatic -o tightpolicy ./examples/tightpolicy
//
// The package is written for libsbx 0.1.x: compiling against another header series fails
// with an #error, and at run time CheckVersion (run automatically before the first policy or
// sandbox) compares the loaded library's sbx_version() with the header's SBX_VERSION_*
// macros and fails every operation with ErrVersionMismatch when they differ.
//
// # Memory
//
// PolicyBuilder, Policy, Cmd and Comms own C objects. Each has a finalizer, but the garbage
// collector sees neither C memory, sockets nor child processes, so call Close on policies,
// builders and Comms you are done with (Cmd.Wait releases its sandbox itself; Cmd.Close is
// for a Cmd abandoned after Start). Close is idempotent. Results, Syscalls and whatever a
// Comms receives are plain Go values.
//
// Inside the package every handle is reached through an accessor that, with the build tag
// sbxgcstress, forces a garbage collection before each C call, and every C call is followed
// by runtime.KeepAlive of its handle; the test suite runs in that mode too.
//
// # Callbacks
//
// Cmd.Notify holds Go functions that libsbx's monitor calls during a run (sandbox2's Notify):
// Started (which may veto the run), Trace (which decides a syscall that a trace rule of the
// policy, PolicyBuilder.TraceSyscall, handed over: TraceAllow, TraceDeny or TraceErrno),
// Violation, Signal and Finished. They run on libsbx's supervisor thread (one per process,
// shared by every sandbox, so keep them short), a thread Go did not create;
// only a runtime/cgo.Handle crosses into C, never a Go pointer. A panic in one is recovered
// there (the run gets the safe answer: veto, deny) and re-raised by Wait in the goroutine that
// called it.
//
// # Sandbox-aware programs and comms
//
// A program written for libsbx talks to its host over a comms channel: a unix socket
// carrying typed messages (integers, strings, byte arrays, custom messages, descriptors,
// credentials), wire-compatible with sandbox2's. A Comms is either end of it:
//
//   - the host runs the program with Cmd.EnableComms and takes its end with Cmd.TakeComms
//     after Start; Cmd.NamedFiles maps host files into the program under names;
//   - the program, the sandboxee, opens its end with ClientComms and finds its files with
//     MappedFile;
//   - with Cmd.SandboxAfterExec the policy is not applied before the program starts: the
//     program prepares itself unconfined but for libsbx's mandatory rules (opens files,
//     loads data, starts threads) and then calls SandboxMeHere, which receives the policy
//     over comms and applies it to every thread of the process (seccomp TSYNC), failing
//     closed. A Go program can do that: the policy must then allow what the Go runtime does
//     (PolicyBuilder.AllowGoRuntime). It is the sandboxee that installs the filter, never
//     the host.
//
// go/examples/crc4 is a complete host and sandboxee in one Go program.
package sbx
