package sbx

// The sandboxee's side: what a sandbox-aware Go program calls when a host started it with
// Cmd.EnableComms, Cmd.SandboxAfterExec or Cmd.NamedFiles (C: sbx_client_*).

/*
#include <stdlib.h>
#include <sbx.h>
*/
import "C"

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// ClientComms returns the sandboxee's end of the comms channel its host set up (Cmd.EnableComms
// or Cmd.SandboxAfterExec): descriptor 1023, or the one named by the SBX_COMMS_FD (else
// sandbox2's SANDBOX2_COMMS_FD) environment variable. The channel can be claimed once per
// process; the caller owns the Comms. Without a channel it fails with ErrCommsInvalidFd.
//
// ClientComms is for the sandboxee: the host gets its end from Cmd.TakeComms.
func ClientComms() (*Comms, error) {
	if err := CheckVersion(); err != nil {
		return nil, err
	}
	var out *C.sbx_comms
	var cerr *C.sbx_error
	st := C.sbx_comms_client(&out, &cerr)
	if err := statusError("sbx_comms_client", st, cerr); err != nil {
		return nil, err
	}
	return newComms(out), nil
}

// MappedFile returns the file the host mapped under name (Cmd.NamedFiles), or nil when none
// was, or it was taken already: each name can be taken once, and the caller owns the file.
func MappedFile(name string) *os.File {
	cs, err := cString("sbx_client_mapped_fd", "name", name)
	if err != nil {
		return nil
	}
	defer C.free(unsafe.Pointer(cs))
	fd := C.sbx_client_mapped_fd(cs)
	if fd < 0 {
		return nil
	}
	return os.NewFile(uintptr(fd), name)
}

// TrySandboxMeHere receives the host's policy over c (the channel from ClientComms) and
// applies it to every thread of this process at once (seccomp with
// SECCOMP_FILTER_FLAG_TSYNC, after setting no_new_privs), as a program started with
// Cmd.SandboxAfterExec must do once it is ready. From then on the whole process, the Go
// runtime's threads included, runs under the policy, which must therefore allow what the Go
// runtime does (PolicyBuilder.AllowGoRuntime) besides what the program does, comms
// included (sendmsg, recvmsg). c stays usable for the program's own messages.
//
// On an error nothing was applied: the process is not sandboxed. Most programs should call
// SandboxMeHere, which cannot return unsandboxed.
func TrySandboxMeHere(c *Comms) error {
	if c == nil {
		return &Error{Code: CodeNullParameter, Op: "sbx_client_try_sandbox_me_here", Message: "nil Comms"}
	}
	return c.call("sbx_client_try_sandbox_me_here", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_client_try_sandbox_me_here(p, cerr)
	})
}

// SandboxMeHere is TrySandboxMeHere failing closed: when the policy cannot be applied to
// every thread, the process prints why on stderr and exits at once with status 127 (no
// deferred functions run, no buffers are flushed) instead of going on unconfined. A nil or
// closed c aborts the process. It returns only when the policy is in force.
func SandboxMeHere(c *Comms) {
	if c == nil {
		C.sbx_client_sandbox_me_here(nil) // aborts
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c._ptr // NULL once closed: libsbx aborts the process
	if p != nil {
		p = c.ptr()
	}
	C.sbx_client_sandbox_me_here(p)
	runtime.KeepAlive(c)
}

// decodePolicy checks and decodes a policy message (its tag and payload) as SandboxMeHere does
// before applying it, without applying anything (sbx_client_decode_policy). For tests: the C
// ABI does not name the policy message's tag, so only a message actually received has one.
func decodePolicy(tag uint32, data []byte) ([]syscall.SockFilter, error) {
	var prog [4096]C.sbx_sock_filter
	var n C.size_t
	var cerr *C.sbx_error
	st := C.sbx_client_decode_policy(C.uint32_t(tag), bytesPtr(data), C.size_t(len(data)), &prog[0], C.size_t(len(prog)), &n, &cerr)
	if err := statusError("sbx_client_decode_policy", st, cerr); err != nil {
		return nil, err
	}
	out := make([]syscall.SockFilter, int(n))
	for i := range out {
		in := prog[i]
		out[i] = syscall.SockFilter{Code: uint16(in.code), Jt: uint8(in.jt), Jf: uint8(in.jf), K: uint32(in.k)}
	}
	return out, nil
}

// Futex operations (linux/futex.h) for PolicyBuilder.AllowFutexOp.
const (
	// FutexWait is FUTEX_WAIT.
	FutexWait = 0
	// FutexWake is FUTEX_WAKE.
	FutexWake = 1
	// FutexWaitBitset is FUTEX_WAIT_BITSET.
	FutexWaitBitset = 9
	// FutexWakeBitset is FUTEX_WAKE_BITSET.
	FutexWakeBitset = 10
)

// cloneThread is CLONE_THREAD: the Go runtime and glibc start threads with it, never a
// process.
const cloneThread = 0x00010000

// AllowGoRuntime allows what the runtime of a Go program that uses this package (so: cgo,
// glibc) does after SandboxMeHere, for the policy of a Go sandboxee started with
// Cmd.SandboxAfterExec:
//
//   - exit, exit_group; read, write and friends; close; fcntl with safe commands;
//   - memory: mmap and mprotect never executable, munmap, brk, mremap, madvise on its own
//     memory;
//   - futex (FUTEX_WAIT, FUTEX_WAKE and their bitset forms), sched_yield, nanosleep,
//     clock_gettime and friends, sched_getaffinity;
//   - signals: rt_sigaction, rt_sigprocmask, rt_sigreturn, sigaltstack, and kill, tgkill and
//     tkill for the runtime's preemption signals and crash reports (the sandboxee's pid
//     namespace holds only itself);
//   - new threads: clone with CLONE_THREAD (never a new process), set_robust_list, rseq;
//     getpid, gettid;
//   - the network poller: epoll_*, eventfd2, pipe2.
//
// It does not allow the program's own work: add that, comms included (sendmsg and
// recvmsg). The Go runtime's start-up, before SandboxMeHere, runs under libsbx's mandatory
// rules only and needs nothing here.
func (b *PolicyBuilder) AllowGoRuntime() *PolicyBuilder {
	return b.
		AllowGroup(GroupExit, GroupRead, GroupWrite, GroupSafeFcntl,
			GroupMmapWithoutExec, GroupMprotectWithoutExec, GroupSystemMalloc, GroupLimitedMadvise,
			GroupTime, GroupSleep, GroupHandleSignals, GroupKill, GroupGetPids,
			GroupEpoll, GroupEventfd, GroupPipe).
		AllowFutexOp(FutexWait).
		AllowFutexOp(FutexWake).
		AllowFutexOp(FutexWaitBitset).
		AllowFutexOp(FutexWakeBitset).
		AllowSyscall("close", "munmap", "sched_yield", "sched_getaffinity", "set_robust_list", "rseq").
		AddRule("clone", ActionAllow, Arg(0, Width32).MaskedEq(cloneThread, cloneThread))
}
