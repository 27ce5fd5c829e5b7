package sbx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A Docker-style profile written here in the runtime spec's format: default ERRNO (EPERM),
// personality only for the query, ptrace allowed (libsbx's mandatory rules override that).
// Shell builtins need no more than what dash and its loader call, which the list allows.
const ociProfile = `{
  "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
  "syscalls": [
    {"names": ["read", "write", "close", "exit", "exit_group", "brk", "arch_prctl", "mmap",
               "munmap", "mprotect", "openat", "newfstatat", "fstat", "pread64", "access",
               "faccessat", "faccessat2", "set_tid_address", "set_robust_list", "rseq",
               "prlimit64", "getrandom", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
               "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "uname",
               "ioctl", "fcntl", "dup2", "dup3", "getcwd", "wait4", "readlink", "readlinkat",
               "statx", "lseek", "sigaltstack", "futex"],
     "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"}
  ]}`

// ociPolicy loads profile into a builder with the system directories in view.
func ociPolicy(t *testing.T, profile, origin string) (*Policy, string) {
	t.Helper()
	b := withTestMonitor(NewPolicyBuilder())
	report, err := b.LoadOCIProfile(profile, origin)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"/usr", "/bin", "/lib", "/lib64", "/etc"} {
		b.AddDirectoryIfExists(dir)
	}
	p, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, report
}

// runOK runs argv under p, requires StatusOK and returns its standard output.
func runOK(t *testing.T, p *Policy, argv ...string) string {
	t.Helper()
	var out strings.Builder
	c := Command(argv[0], argv[1:]...)
	c.Policy = p
	c.Stdout = &out
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusOK {
		t.Fatalf("result %+v, output %q", res, out.String())
	}
	return out.String()
}

// A shell runs under the imported profile; the report names the override.
func TestOCIProfileRunsAShell(t *testing.T) {
	p, report := ociPolicy(t, ociProfile, "test.json")
	if !strings.Contains(report, "override: ptrace: syscalls[2] says SCMP_ACT_ALLOW; libsbx: mandatory-denied") {
		t.Fatalf("report:\n%s", report)
	}
	if out := runOK(t, p, "/bin/sh", "-c", "echo hi"); out != "hi\n" {
		t.Fatalf("output %q", out)
	}
}

// The profile's refusals are errnos the program sees, and the run goes on: moby's default
// profile (the copy in tests/data) for python3's personality(ADDR_NO_RANDOMIZE), next to the
// query it allows.
func TestOCIProfileRefusalIsAnErrno(t *testing.T) {
	// Found from this file's own path: the unprivileged pass runs the compiled tests elsewhere.
	_, self, _, _ := runtime.Caller(0)
	moby, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "tests", "data", "moby-default-seccomp.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no python3")
	}
	p, _ := ociPolicy(t, string(moby), "moby.json")
	nr := "135"
	if runtime.GOARCH == "arm64" {
		nr = "92"
	}
	out := runOK(t, p, "/usr/bin/python3", "-c",
		"import ctypes; l = ctypes.CDLL(None, use_errno=True); "+
			"print(l.syscall("+nr+", 0x0040000), ctypes.get_errno(), l.syscall("+nr+", ctypes.c_ulong(0xffffffff)) >= 0)")
	if out != "-1 1 True\n" {
		t.Fatalf("output %q", out)
	}
}

// A bad profile is ErrInvalidPolicy naming the JSON path, and Build fails with it too.
func TestOCIProfileErrors(t *testing.T) {
	b := NewPolicyBuilder()
	_, err := b.LoadOCIProfile(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_DENY"}]}`, "bad.json")
	if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "bad.json: syscalls[0].action: unknown action") {
		t.Fatalf("bad profile: %v", err)
	}
	if _, err := b.Build(); !errors.Is(err, ErrInvalidPolicy) {
		t.Fatalf("Build after a bad profile: %v", err)
	}
	_, err = NewPolicyBuilder().LoadOCIProfile(`{"defaultAction": "SCMP_ACT_ALLOW"}`, "p", "CAP_NOPE")
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("unknown capability: %v", err)
	}
}
