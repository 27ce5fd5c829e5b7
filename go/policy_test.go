package sbx

import (
	"errors"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func nativeArch(t *testing.T) uint32 {
	switch runtime.GOARCH {
	case "amd64":
		return AuditArchX86_64
	case "arm64":
		return AuditArchAArch64
	}
	t.Skipf("no audit arch for %s", runtime.GOARCH)
	return 0
}

func mustBuild(t *testing.T, b *PolicyBuilder) *Policy {
	t.Helper()
	p, err := withTestMonitor(b).Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestEmptyPolicy(t *testing.T) {
	p := mustBuild(t, NewPolicyBuilder())
	prog := p.Program()
	if len(prog) == 0 || len(prog) > 4096 {
		t.Fatalf("program has %d instructions", len(prog))
	}
	if d := p.Disassemble(); strings.Count(d, "\n")+1 < len(prog) {
		t.Errorf("disassembly has fewer lines than the %d instructions:\n%s", len(prog), d)
	}
	if p.AllowsExec() {
		t.Error("an empty policy allows exec")
	}
	arch := nativeArch(t)
	if got := p.Decide(arch, int32(syscall.SYS_GETPID), [6]uint64{}); got&SeccompRetActionFull == SeccompRetAllow {
		t.Errorf("empty policy allows getpid: %#x", got)
	}
}

func TestToolPolicyAllowsExec(t *testing.T) {
	p := mustBuild(t, NewToolPolicyBuilder())
	if !p.AllowsExec() {
		t.Error("the tool policy should allow exec")
	}
}

func TestPolicyRulesDecide(t *testing.T) {
	arch := nativeArch(t)
	p := mustBuild(t, NewPolicyBuilder().
		AllowSyscall("getpid", "getppid").
		AllowSyscallNr(uint32(syscall.SYS_GETUID)).
		ErrnoSyscall("openat", syscall.EACCES).
		AddRule("socket", ActionAllow, Arg(0, Width32).Eq(syscall.AF_UNIX)).
		AddRule("socket", ActionErrno(syscall.EAFNOSUPPORT)).
		AddRuleNr(uint32(syscall.SYS_KILL), ActionErrno(syscall.EPERM), Arg(1, Width32).Eq(uint64(syscall.SIGKILL))).
		AllowGroup(GroupExit, GroupRead))

	cases := []struct {
		name string
		nr   uintptr
		args [6]uint64
		want uint32
	}{
		{"getpid", syscall.SYS_GETPID, [6]uint64{}, SeccompRetAllow},
		{"getppid", syscall.SYS_GETPPID, [6]uint64{}, SeccompRetAllow},
		{"getuid by number", syscall.SYS_GETUID, [6]uint64{}, SeccompRetAllow},
		{"exit_group (group)", syscall.SYS_EXIT_GROUP, [6]uint64{}, SeccompRetAllow},
		{"read (group)", syscall.SYS_READ, [6]uint64{}, SeccompRetAllow},
		{"openat errno", syscall.SYS_OPENAT, [6]uint64{}, SeccompRetErrno | uint32(syscall.EACCES)},
		{"socket AF_UNIX", syscall.SYS_SOCKET, [6]uint64{syscall.AF_UNIX}, SeccompRetAllow},
		// Width32: the kernel reads an int, so the upper half is ignored.
		{"socket AF_UNIX, junk upper half", syscall.SYS_SOCKET, [6]uint64{1<<32 | syscall.AF_UNIX}, SeccompRetAllow},
		{"socket AF_INET", syscall.SYS_SOCKET, [6]uint64{syscall.AF_INET}, SeccompRetErrno | uint32(syscall.EAFNOSUPPORT)},
		{"kill SIGKILL", syscall.SYS_KILL, [6]uint64{1, uint64(syscall.SIGKILL)}, SeccompRetErrno | uint32(syscall.EPERM)},
	}
	for _, c := range cases {
		if got := p.Decide(arch, int32(c.nr), c.args); got != c.want {
			t.Errorf("%s: Decide = %#x, want %#x", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		nr   uintptr
		args [6]uint64
	}{
		{"kill SIGTERM (no rule matches)", syscall.SYS_KILL, [6]uint64{1, uint64(syscall.SIGTERM)}},
		{"write (not allowed)", syscall.SYS_WRITE, [6]uint64{}},
		{"ptrace (mandatory)", syscall.SYS_PTRACE, [6]uint64{}},
	} {
		if got := p.Decide(arch, int32(c.nr), c.args); got&SeccompRetActionFull == SeccompRetAllow || got&SeccompRetActionFull == SeccompRetErrno {
			t.Errorf("%s: Decide = %#x, want a violation", c.name, got)
		}
	}
}

func TestDefaultActionAllow(t *testing.T) {
	arch := nativeArch(t)
	p := mustBuild(t, NewPolicyBuilder().SetDefaultAction(ActionAllow).ViolationSyscall("getpid"))
	if got := p.Decide(arch, int32(syscall.SYS_WRITE), [6]uint64{}); got != SeccompRetAllow {
		t.Errorf("write under a deny-list policy: %#x", got)
	}
	if got := p.Decide(arch, int32(syscall.SYS_GETPID), [6]uint64{}); got&SeccompRetActionFull == SeccompRetAllow {
		t.Errorf("getpid was made a violation but is allowed: %#x", got)
	}
	// The mandatory rules come first even with "allow everything".
	if got := p.Decide(arch, int32(syscall.SYS_PTRACE), [6]uint64{}); got&SeccompRetActionFull == SeccompRetAllow {
		t.Errorf("ptrace is allowed under a deny-list policy: %#x", got)
	}
}

func TestUnknownSyscallName(t *testing.T) {
	b := NewPolicyBuilder().AllowSyscall("read", "no_such_syscall")
	_, err := b.Build()
	if !errors.Is(err, ErrUnknownSyscall) {
		t.Fatalf("Build error %v, want ErrUnknownSyscall", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnknownSyscall || e.Op != "sbx_policy_builder_build" || !strings.Contains(e.Message, "no_such_syscall") {
		t.Fatalf("error detail: %#v", e)
	}
}

func TestBuilderFirstErrorWinsAndStopsTheChain(t *testing.T) {
	b := NewPolicyBuilder().AllowSyscall("re\x00ad")
	first := b.Err()
	if !errors.Is(first, ErrInvalidArgument) {
		t.Fatalf("NUL in a name: %v, want ErrInvalidArgument", first)
	}
	var e *Error
	if !errors.As(first, &e) || e.Op != "sbx_policy_builder_allow_syscalls" {
		t.Fatalf("error detail: %#v", e)
	}
	b.AllowSyscall("no_such_syscall").SetHostname("x\x00y")
	if b.Err() != first {
		t.Fatalf("a later problem replaced the first: %v", b.Err())
	}
	if _, err := b.Build(); err != first {
		t.Fatalf("Build returned %v, want the first problem", err)
	}
}

func TestBuilderBadInput(t *testing.T) {
	cases := []struct {
		name string
		b    func() *PolicyBuilder
		want error
	}{
		{"errno 0", func() *PolicyBuilder { return NewPolicyBuilder().ErrnoSyscall("read", 0) }, ErrInvalidArgument},
		{"errno 5000", func() *PolicyBuilder { return NewPolicyBuilder().ErrnoSyscall("read", 5000) }, ErrInvalidArgument},
		{"huge errno", func() *PolicyBuilder { return NewPolicyBuilder().ErrnoSyscall("read", 1<<40) }, ErrInvalidArgument},
		{"argument index 6", func() *PolicyBuilder {
			return NewPolicyBuilder().AddRule("read", ActionAllow, Arg(6, Width64).Eq(0))
		}, ErrInvalidArgument},
		{"negative argument index", func() *PolicyBuilder {
			return NewPolicyBuilder().AddRule("read", ActionAllow, Arg(-1, Width64).Eq(0))
		}, ErrInvalidArgument},
		{"32-bit comparison with a 64-bit value", func() *PolicyBuilder {
			return NewPolicyBuilder().AddRule("read", ActionAllow, Arg(0, Width32).Eq(1<<40))
		}, ErrInvalidArgument},
		{"zero Action", func() *PolicyBuilder { return NewPolicyBuilder().AddRule("read", Action{}) }, ErrInvalidArgument},
		{"unknown group", func() *PolicyBuilder { return NewPolicyBuilder().AllowGroup(Group(9999)) }, ErrInvalidArgument},
		{"relative mount path", func() *PolicyBuilder { return NewPolicyBuilder().AddDirectory("usr") }, ErrInvalidArgument},
		{"missing mount source", func() *PolicyBuilder { return NewPolicyBuilder().AddFile("/no/such/file") }, ErrInvalidArgument},
		{"mount without namespaces", func() *PolicyBuilder {
			return NewPolicyBuilder().DisableNamespaces().AddDirectory("/usr")
		}, ErrInvalidPolicy},
		{"bad hostname", func() *PolicyBuilder { return NewPolicyBuilder().SetHostname("a/b") }, ErrInvalidArgument},
		{"unreadable binary", func() *PolicyBuilder { return NewPolicyBuilder().AddLibrariesForBinary("/no/such/binary") }, ErrInvalidArgument},
	}
	for _, c := range cases {
		_, err := c.b().Build()
		if err == nil {
			t.Errorf("%s: Build succeeded", c.name)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %T %v is not an *Error", c.name, err, err)
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v (code %d), want %v", c.name, err, e.Code, c.want)
		}
	}
}

func TestBuilderMountsAndNamespaceSettings(t *testing.T) {
	dir := t.TempDir()
	p := mustBuild(t, NewPolicyBuilder().
		ShareNetwork().
		SetHostname("box").
		AddDirectory("/usr").
		AddDirectoryIfExists("/no/such/dir").
		AddDirectoryAt(dir, "/work", true).
		AddFileAt("/etc/passwd", "/etc/passwd", false).
		AddFile("/etc/hosts").
		AddTmpfs("/tmp", 1<<20).
		SetRootWritable().
		AllowWriteExec())
	if len(p.Program()) == 0 {
		t.Fatal("empty program")
	}
	mustBuild(t, NewPolicyBuilder().DisableNamespaces())
}

func TestBuilderDevShmAndHide(t *testing.T) {
	mustBuild(t, NewPolicyBuilder().
		AddDirectory("/etc").
		Hide("/etc/passwd", false).
		SetDevShm(1<<20).
		SetDevShm(0).
		SetDevPts(true).
		AddTTYRules())
	// A hidden path must exist, as that type, inside a bind of the view.
	if _, err := NewPolicyBuilder().AddDirectory("/etc").Hide("/etc/no-such-file-here", false).Build(); err == nil ||
		!strings.Contains(err.Error(), "/etc/no-such-file-here") {
		t.Fatalf("hiding a missing path: err = %v", err)
	}
	// A private /dev/shm needs namespaces.
	if _, err := NewPolicyBuilder().DisableNamespaces().SetDevShm(1 << 20).Build(); err == nil {
		t.Fatal("SetDevShm without namespaces must fail")
	}
}

func TestBuilderLifecycle(t *testing.T) {
	b := NewPolicyBuilder()
	b.Close()
	b.Close() // idempotent
	mustPanic(t, "use after Close", func() { b.AllowSyscall("read") })

	b = NewPolicyBuilder()
	mustBuild(t, b)
	b.Close() // no-op after Build
	mustPanic(t, "use after Build", func() { b.AllowGroup(GroupRead) })
	mustPanic(t, "Build twice", func() { _, _ = b.Build() })
}

func TestPolicyLifecycle(t *testing.T) {
	p, err := NewPolicyBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close() // idempotent
	mustPanic(t, "Disassemble after Close", func() { p.Disassemble() })
	mustPanic(t, "Decide after Close", func() { p.Decide(0, 0, [6]uint64{}) })

	d, err := DefaultPolicy()
	if err != nil {
		t.Fatal(err)
	}
	d.Close() // the shared default policy ignores Close
	if !d.AllowsExec() {
		t.Fatal("the default policy should allow exec")
	}
	if d2, _ := DefaultPolicy(); d2 != d {
		t.Fatal("DefaultPolicy is not shared")
	}
}

// A Policy is used by many goroutines at once while another closes it.
func TestPolicyConcurrentUseAndClose(t *testing.T) {
	p, err := NewToolPolicyBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	arch := nativeArch(t)
	done := make(chan struct{})
	for i := 0; i < 8; i++ {
		go func() {
			defer func() {
				recover() // use after Close panics by design
				done <- struct{}{}
			}()
			for j := 0; j < 200; j++ {
				p.Decide(arch, int32(syscall.SYS_READ), [6]uint64{})
				_ = p.AllowsExec()
			}
		}()
	}
	p.Close()
	for i := 0; i < 8; i++ {
		<-done
	}
}

func TestGroupAndActionStrings(t *testing.T) {
	if GroupDynamicStartup.String() != "DYNAMIC_STARTUP" || Group(0).String() != "Group(0)" {
		t.Errorf("Group strings: %v %v", GroupDynamicStartup, Group(0))
	}
	if len(groupNames) != int(GroupExec) {
		t.Errorf("%d group names for %d groups", len(groupNames), GroupExec)
	}
	for g := GroupExit; g <= GroupExec; g++ {
		mustBuild(t, NewPolicyBuilder().AllowGroup(g))
	}
	if s := ActionErrno(syscall.EPERM).String(); s != "ERRNO(1)" {
		t.Errorf("ActionErrno string %q", s)
	}
	if ActionAllow.String() != "ALLOW" || ActionTrace.String() != "TRACE" || ActionViolation.String() != "VIOLATION" {
		t.Error("action strings")
	}
	if ActionErrno(syscall.EPERM).Errno() != syscall.EPERM || ActionAllow.Errno() != 0 {
		t.Error("Action.Errno")
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}
