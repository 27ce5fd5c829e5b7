package sbx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run runs a Cmd and fails the test on a Run error.
func run(t *testing.T, c *Cmd) *Result {
	t.Helper()
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatalf("Run %v: %v", c.Args, err)
	}
	return res
}

// output runs sh -c script under the default policy and returns stdout and the Result.
func output(t *testing.T, script string, configure ...func(*Cmd)) (string, *Result) {
	t.Helper()
	var out bytes.Buffer
	c := Command("sh", "-c", script)
	c.Stdout = &out
	for _, f := range configure {
		f(c)
	}
	res := run(t, c)
	return out.String(), res
}

func TestRunCapturesStdout(t *testing.T) {
	var out, errOut bytes.Buffer
	c := Command("echo", "hello", "sandbox")
	c.Stdout = &out
	c.Stderr = &errOut
	res := run(t, c)
	if !res.Success() || res.Status != StatusOK || res.ExitCode != 0 || res.Err() != nil {
		t.Fatalf("result %+v", res)
	}
	if got := out.String(); got != "hello sandbox\n" {
		t.Fatalf("stdout %q", got)
	}
	if errOut.Len() != 0 {
		t.Fatalf("stderr %q", errOut.String())
	}
	if res.Pid <= 0 || res.WallTime <= 0 || res.Signal != 0 || res.Violation != nil {
		t.Errorf("result details %+v", res)
	}
	if res.Description != "OK - exit code 0" || res.String() != res.Description {
		t.Errorf("description %q", res.Description)
	}
	if len(res.SetupSteps) == 0 {
		t.Error("no setup latency breakdown")
	}
	var sum time.Duration
	for _, st := range res.SetupSteps {
		if st.Name == "" || st.Took < 0 {
			t.Errorf("setup step %+v", st)
		}
		sum += st.Took
	}
	if sum > res.WallTime {
		t.Errorf("setup steps take %v, more than the whole run's %v", sum, res.WallTime)
	}
	if c.Result() != res || c.Pid() != res.Pid {
		t.Errorf("Cmd.Result/Pid after Wait: %v %d", c.Result(), c.Pid())
	}
	// The host uid it ran as: ours, or for root an id of libsbx's range (never 0).
	if euid := os.Geteuid(); euid != 0 && res.HostUID != int64(euid) {
		t.Errorf("HostUID %d, want our euid %d", res.HostUID, euid)
	} else if euid == 0 && (res.HostUID < 0x70000000 || res.HostUID >= 0x70000000+65536) {
		t.Errorf("HostUID %d outside the root callers' range", res.HostUID)
	}
}

func TestStdinFromReader(t *testing.T) {
	// More than a pipe buffer, so the copy really streams.
	in := strings.Repeat("0123456789abcdef\n", 64*1024)
	var out bytes.Buffer
	c := Command("cat")
	c.Stdin = strings.NewReader(in)
	c.Stdout = &out
	res := run(t, c)
	if !res.Success() {
		t.Fatalf("result %v", res)
	}
	if out.String() != in {
		t.Fatalf("cat returned %d bytes, want %d", out.Len(), len(in))
	}
}

// A sandboxee that exits without reading its input does not make Wait fail or hang.
func TestStdinNotConsumed(t *testing.T) {
	c := Command("true")
	c.Stdin = io.MultiReader(strings.NewReader(strings.Repeat("x", 1<<20)))
	res := run(t, c)
	if !res.Success() {
		t.Fatalf("result %v", res)
	}
}

func TestStdoutAndStderrSameWriter(t *testing.T) {
	var both bytes.Buffer
	c := Command("sh", "-c", "echo 1; echo 2 >&2; echo 3; echo 4 >&2")
	c.Stdout = &both
	c.Stderr = &both
	run(t, c)
	if both.String() != "1\n2\n3\n4\n" {
		t.Fatalf("combined output %q", both.String())
	}
}

func TestStdioAsFiles(t *testing.T) {
	dir := t.TempDir()
	in, err := os.CreateTemp(dir, "in")
	if err != nil {
		t.Fatal(err)
	}
	in.WriteString("from a file\n")
	in.Seek(0, io.SeekStart)
	defer in.Close()
	out, err := os.CreateTemp(dir, "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	c := Command("sh", "-c", "cat; echo to-stderr >&2")
	c.Stdin = in
	c.Stdout = out
	c.Stderr = out
	run(t, c)
	data, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "from a file\nto-stderr\n" {
		t.Fatalf("file contents %q", data)
	}
}

func TestNilStdioIsDevNull(t *testing.T) {
	out, res := output(t, `read line; echo "[$line]"; ls -l /proc/self/fd/0 | sed 's/.*-> //'; echo bye >&2`)
	if !res.Success() {
		t.Fatalf("result %v", res)
	}
	if out != "[]\n/dev/null\n" {
		t.Fatalf("output %q", out)
	}
}

func TestExtraFiles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := Command("sh", "-c", "echo extra >&4; exec 4>&-; ls /proc/self/fd | wc -l")
	var out bytes.Buffer
	c.Stdout = &out
	c.ExtraFiles = []*os.File{nil, w} // fd 3 closed, fd 4 = w
	res := run(t, c)
	w.Close()
	if !res.Success() {
		t.Fatalf("result %v", res)
	}
	got, _ := io.ReadAll(r)
	if string(got) != "extra\n" {
		t.Fatalf("fd 4 got %q", got)
	}
	// ls sees 0, 1, 2 and its own directory fd: nothing else leaked in.
	if strings.TrimSpace(out.String()) != "4" {
		t.Fatalf("sandboxee has %q descriptors open", out.String())
	}
}

func TestExitCode(t *testing.T) {
	_, res := output(t, "exit 3")
	if res.Status != StatusOK || res.ExitCode != 3 || res.Success() || !res.Exited() {
		t.Fatalf("result %+v", res)
	}
	var ee *ExitError
	if err := res.Err(); !errors.As(err, &ee) || ee.ExitCode != 3 || err.Error() != "sbx: exit status 3" {
		t.Fatalf("Err() = %v", err)
	}
}

func TestSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGSEGV} {
		_, res := output(t, "kill -"+strconv.Itoa(int(sig))+" $$")
		if res.Status != StatusSignaled || res.Signal != sig || res.ExitCode != -1 {
			t.Errorf("%v: result %+v", sig, res)
			continue
		}
		var ee *ExitError
		if err := res.Err(); !errors.As(err, &ee) || err.Error() != "sbx: signal: "+sig.String() {
			t.Errorf("%v: Err() = %v", sig, err)
		}
	}
}

func TestViolationNamesTheSyscall(t *testing.T) {
	// Creating a user namespace is forbidden by libsbx's mandatory rules, whatever the policy.
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) not installed")
	}
	c := Command("unshare", "-U", "true")
	res := run(t, c)
	if res.Status != StatusViolation || res.Violation == nil {
		t.Fatalf("result %+v", res)
	}
	v := res.Violation
	if v.Syscall != "unshare" || v.Arch == "" || v.Pid <= 0 || v.Args[0]&syscall.CLONE_NEWUSER == 0 {
		t.Fatalf("violation %+v", v)
	}
	if res.Reason != "VIOLATION_SYSCALL" {
		t.Errorf("reason %q", res.Reason)
	}
	var ve *ViolationError
	err := res.Err()
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "unshare(") {
		t.Fatalf("Err() = %v", err)
	}
}

// tightPolicy allows what a small dynamically linked tool needs to print and exit, and mounts
// only the binary and its libraries.
func tightPolicy(t *testing.T, binary string) *Policy {
	t.Helper()
	// No GroupTime: libsbx's own child must not need clock_gettime after the filter is in.
	return mustBuild(t, NewPolicyBuilder().
		AllowGroup(GroupDynamicStartup, GroupSystemMalloc, GroupExit, GroupRead, GroupWrite).
		AddLibrariesForBinary(binary))
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

func TestTightPolicy(t *testing.T) {
	echo := lookPath(t, "echo")
	var out bytes.Buffer
	c := Command(echo, "tight")
	c.Policy = tightPolicy(t, echo)
	c.Stdout = &out
	if res := run(t, c); !res.Success() || out.String() != "tight\n" {
		t.Fatalf("echo under a tight policy: %v, output %q", res, out.String())
	}

	// id asks for its uid, which the tight policy does not allow.
	id := lookPath(t, "id")
	c = Command(id)
	c.Policy = tightPolicy(t, id)
	res := run(t, c)
	if res.Status != StatusViolation || res.Violation == nil || !strings.HasPrefix(res.Violation.Syscall, "get") {
		t.Fatalf("id under a tight policy: %+v", res)
	}
}

func TestErrnoRule(t *testing.T) {
	// A deny-list policy without namespaces: the host's filesystem, uname failing with EPERM.
	p := mustBuild(t, NewPolicyBuilder().
		SetDefaultAction(ActionAllow).
		ErrnoSyscall("uname", syscall.EPERM).
		DisableNamespaces())
	out, res := output(t, "uname -s 2>&1 || echo failed:$?", func(c *Cmd) { c.Policy = p })
	if !res.Success() || !strings.Contains(out, "failed:") || !strings.Contains(out, "not permitted") {
		t.Fatalf("uname under an errno rule: %v, %q", res, out)
	}
}

func TestEnvIsEmptyByDefault(t *testing.T) {
	out, res := output(t, "env")
	if !res.Success() {
		t.Fatalf("result %v", res)
	}
	// sh itself sets PWD (and maybe SHLVL, OLDPWD, _): nothing from the host may appear.
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, _, _ := strings.Cut(line, "=")
		switch k {
		case "", "PWD", "SHLVL", "OLDPWD", "_":
		default:
			t.Errorf("unexpected variable %q in an empty environment", line)
		}
	}
	out, _ = output(t, `echo "$GREETING"`, func(c *Cmd) { c.Env = []string{"GREETING=hi there", "PATH=/usr/bin:/bin"} })
	if out != "hi there\n" {
		t.Fatalf("Env not passed: %q", out)
	}
}

func TestDir(t *testing.T) {
	out, res := output(t, "pwd", func(c *Cmd) { c.Dir = "/usr" })
	if !res.Success() || out != "/usr\n" {
		t.Fatalf("Dir /usr: %v %q", res, out)
	}
}

func TestHostIsolation(t *testing.T) {
	out, res := output(t, "id -u; hostname; ls /")
	if !res.Success() {
		t.Fatalf("result %v", res)
	}
	lines := strings.Split(out, "\n")
	if lines[0] != "1000" {
		t.Errorf("uid inside the sandbox %q, want 1000", lines[0])
	}
	if lines[1] == "" {
		t.Errorf("no hostname")
	}
	if h, _ := os.Hostname(); h != "sandbox" && lines[1] == h {
		t.Errorf("the sandbox sees the host's hostname %q", h)
	}
	if strings.Contains(out, "\nhome\n") || strings.Contains(out, "\nroot\n") {
		t.Errorf("the sandbox sees the host's root: %q", out)
	}
}

func TestLimits(t *testing.T) {
	out, res := output(t, "ulimit -n; ulimit -v; ulimit -c", func(c *Cmd) {
		c.Limits.OpenFiles = LimitTo(64)
		c.Limits.AddressSpace = Unlimited
		c.Limits.Core = LimitTo(0)
	})
	if !res.Success() || out != "64\nunlimited\n0\n" {
		t.Fatalf("limits: %v %q", res, out)
	}

	// FileSize 0 forbids writing: the shell is killed by SIGXFSZ or reports the failure.
	out, res = output(t, "echo x > /tmp/f && echo written", func(c *Cmd) { c.Limits.FileSize = LimitTo(0) })
	if res.Success() && strings.Contains(out, "written") {
		t.Fatalf("a write under FileSize 0 succeeded: %v %q", res, out)
	}
}

func TestWallTimeLimit(t *testing.T) {
	c := Command("sleep", "10")
	c.Limits.WallTime = 200 * time.Millisecond
	start := time.Now()
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusTimeout || time.Since(start) > 5*time.Second {
		t.Fatalf("result %v after %v", res, time.Since(start))
	}
	var ee *ExitError
	if !errors.As(res.Err(), &ee) {
		t.Fatalf("Err() = %v", res.Err())
	}
}

func TestContextTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c := Command("sleep", "10")
	start := time.Now()
	res, err := c.Run(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run error %v, want context.DeadlineExceeded", err)
	}
	if res == nil || res.Status != StatusTimeout {
		t.Fatalf("result %v", res)
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
}

func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := Command("sleep", "10")
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Pid() <= 0 {
		t.Errorf("Pid %d after Start", c.Pid())
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := c.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait error %v, want context.Canceled", err)
	}
	if res.Status != StatusExternalKill {
		t.Fatalf("result %v", res)
	}
}

// A context that ends after the run does not turn a good result into an error.
func TestContextOutlivedIsNoError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Command("true").Run(ctx)
	if err != nil || !res.Success() {
		t.Fatalf("%v %v", res, err)
	}
}

func TestContextDoneBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := Command("true")
	if err := c.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a done context: %v", err)
	}
	if c.Pid() != 0 {
		t.Fatal("a process was started")
	}
	mustPanic(t, "nil context", func() { _ = Command("true").Start(nil) }) //nolint:staticcheck
}

func TestKill(t *testing.T) {
	c := Command("sleep", "10")
	if err := c.Kill(); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Kill before Start: %v", err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(50 * time.Millisecond)
		if err := c.Kill(); err != nil {
			t.Errorf("Kill: %v", err)
		}
	}()
	res, err := c.Wait()
	<-done
	if err != nil || res.Status != StatusExternalKill {
		t.Fatalf("after Kill: %v %v", res, err)
	}
	if err := c.Kill(); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Kill after Wait: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	closed, _ := os.CreateTemp(t.TempDir(), "closed")
	closed.Close()
	cases := []struct {
		name string
		cmd  func() *Cmd
		want error
	}{
		{"empty path", func() *Cmd { return Command("") }, ErrInvalidArgument},
		{"NUL in path", func() *Cmd { return Command("/bin/t\x00rue") }, ErrInvalidArgument},
		{"NUL in argument", func() *Cmd { return Command("true", "a\x00b") }, ErrInvalidArgument},
		{"NUL in environment", func() *Cmd { c := Command("true"); c.Env = []string{"A=\x00"}; return c }, ErrInvalidArgument},
		{"environment entry without =", func() *Cmd { c := Command("true"); c.Env = []string{"NOEQUALS"}; return c }, ErrInvalidArgument},
		{"relative Dir", func() *Cmd { c := Command("true"); c.Dir = "tmp"; return c }, ErrInvalidArgument},
		{"closed stdin file", func() *Cmd { c := Command("true"); c.Stdin = closed; return c }, ErrInvalidArgument},
		{"closed extra file", func() *Cmd { c := Command("true"); c.ExtraFiles = []*os.File{closed}; return c }, ErrInvalidArgument},
		{"too few open files", func() *Cmd { c := Command("true"); c.Limits.OpenFiles = LimitTo(1); return c }, ErrInvalidArgument},
		{"limit too large", func() *Cmd { c := Command("true"); c.Limits.CPUTime = LimitTo(math.MaxUint64); return c }, ErrInvalidArgument},
	}
	for _, c := range cases {
		cmd := c.cmd()
		res, err := cmd.Run(context.Background())
		if res != nil || !errors.Is(err, c.want) {
			t.Errorf("%s: Run = %v, %v; want %v", c.name, res, err, c.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Op == "" || e.Message == "" {
			t.Errorf("%s: error detail %#v", c.name, e)
		}
		if cmd.Pid() != 0 {
			t.Errorf("%s: a process was started", c.name)
		}
	}
}

func TestMissingBinaryIsSetupError(t *testing.T) {
	for _, path := range []string{"/no/such/program", "no-such-program-in-path"} {
		res, err := Command(path).Run(context.Background())
		var se *SetupError
		if !errors.As(err, &se) {
			t.Fatalf("%s: Run error %T %v, want *SetupError", path, err, err)
		}
		if res == nil || res.Status != StatusSetupError || se.Result != res || res.Reason == "" || !strings.Contains(res.Message, path) {
			t.Fatalf("%s: result %+v", path, res)
		}
		if !errors.As(res.Err(), &se) {
			t.Fatalf("%s: Result.Err() = %v", path, res.Err())
		}
		// The errno of the failed step: a missing program is ENOENT, so fs.ErrNotExist.
		if res.SetupErrno != syscall.ENOENT || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ENOENT) {
			t.Errorf("%s: SetupErrno %v, errors.Is(err, fs.ErrNotExist) = %v", path, res.SetupErrno, errors.Is(err, fs.ErrNotExist))
		}
		// The failed step is named; a run that never started had no fence.
		if path == "/no/such/program" && (res.FailedStep != "exec" || len(res.Fences) != 0) {
			t.Errorf("%s: FailedStep %q, Fences %v", path, res.FailedStep, res.Fences)
		}
	}
	// A setup failure without a failed system call unwraps to nothing.
	c := Command("true")
	c.Notify = &Notify{Started: func(int) bool { return false }}
	_, err := c.Run(context.Background())
	var se *SetupError
	if !errors.As(err, &se) || se.SetupErrno != 0 || se.Unwrap() != nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("vetoed run: %v (SetupErrno %v)", err, se.SetupErrno)
	}
}

func TestResultListsFences(t *testing.T) {
	res, err := Command("/bin/true").Run(context.Background())
	if err != nil || !res.Success() {
		t.Fatalf("run: %v %+v", err, res)
	}
	has := func(list []string, name string) bool {
		for _, x := range list {
			if x == name {
				return true
			}
		}
		return false
	}
	for _, f := range []string{"seccomp", "rlimits"} {
		if !has(res.Fences, f) {
			t.Errorf("fence %q missing from %v", f, res.Fences)
		}
	}
	if !has(res.Fences, "ptrace_monitor") && !has(res.Fences, "unotify_monitor") {
		t.Errorf("no monitor fence in %v", res.Fences)
	}
	if len(res.Degraded) != 0 || res.FailedStep != "" || res.SetupHint != "" {
		t.Errorf("Degraded %v, FailedStep %q, SetupHint %q", res.Degraded, res.FailedStep, res.SetupHint)
	}
	p, err := withTestMonitor(NewPolicyBuilder().AllowNoPrivateProc()).Build()
	if err != nil {
		t.Fatalf("AllowNoPrivateProc: %v", err)
	}
	p.Close()
}

func TestMisuse(t *testing.T) {
	c := Command("true")
	if _, err := c.Wait(); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Wait before Start: %v", err)
	}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("second Start: %v", err)
	}
	if _, err := c.Wait(); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("second Wait: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestClosedPolicy(t *testing.T) {
	p, err := NewToolPolicyBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	c := Command("true")
	c.Policy = p
	if _, err := c.Run(context.Background()); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Run with a closed policy: %v", err)
	}
}

// The sandbox holds its own reference: closing the Policy after Start is fine.
func TestPolicyClosedAfterStart(t *testing.T) {
	p, err := NewToolPolicyBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := Command("sh", "-c", "sleep 0.1; echo still running")
	c.Policy = p
	c.Stdout = &out
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Close()
	res, err := c.Wait()
	if err != nil || !res.Success() || out.String() != "still running\n" {
		t.Fatalf("%v %v %q", res, err, out.String())
	}
}

func processGone(pid int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		// A zombie waiting for its reaper counts as gone too.
		if f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestCloseKillsAbandonedCmd(t *testing.T) {
	c := Command("sleep", "30")
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	if pid <= 0 {
		t.Fatalf("pid %d", pid)
	}
	c.Close()
	c.Close() // idempotent
	if !processGone(pid, 5*time.Second) {
		t.Fatalf("pid %d still runs after Close", pid)
	}
	if err := c.Kill(); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Kill after Close: %v", err)
	}
	if _, err := c.Wait(); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Wait after Close: %v", err)
	}
}

// Close with a live context and pipes, then Wait: no panic, no hang.
func TestCloseWithContextAndPipes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	c := Command("sh", "-c", "echo started; sleep 30")
	c.Stdout = &out
	c.Stdin = strings.NewReader("input")
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.Wait(); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Wait after Close: %v", err)
	}
	c.Close()
}

func TestFinalizerKillsAbandonedCmd(t *testing.T) {
	pid := func() int {
		c := Command("sleep", "30")
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return c.Pid()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		runtime_GC()
		if processGone(pid, 50*time.Millisecond) {
			return
		}
	}
	t.Fatalf("pid %d of an unreachable Cmd still runs", pid)
}

// Waiting goroutines are parked on the sandboxes' completion fds, not blocked in cgo calls
// that each hold an OS thread: 128 sandboxes waited for at once add no threads per sandbox.
// Counted in a process of its own, where no other test's threads come and go.
func TestWaitHoldsNoThread(t *testing.T) {
	if os.Getenv("SBX_WAIT_THREADS_HELPER") != "" {
		waitHoldsNoThread(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWaitHoldsNoThread$", "-test.v")
	cmd.Env = append(os.Environ(), "SBX_WAIT_THREADS_HELPER=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "threads while") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "threads while") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

func waitHoldsNoThread(t *testing.T) {
	const n = 256
	threads := func() int {
		d, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		return len(d)
	}
	// The default policy (monitor auto), or the ptrace monitor under SBX_TEST_MONITOR=ptrace.
	var pol *Policy
	if os.Getenv("SBX_TEST_MONITOR") == "ptrace" {
		p, err := withTestMonitor(NewToolPolicyBuilder()).Build()
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pol = p
	}
	cmds := make([]*Cmd, n)
	for i := range cmds {
		cmds[i] = Command("sleep", "30")
		cmds[i].Policy = pol
		if err := cmds[i].Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	before := threads()
	results := make(chan *Result, n)
	for _, c := range cmds {
		go func(c *Cmd) {
			res, _ := c.Wait()
			results <- res
		}(c)
	}
	time.Sleep(500 * time.Millisecond) // every goroutine is in Wait by now
	during := threads()
	for _, c := range cmds {
		_ = c.Kill()
	}
	for i := 0; i < n; i++ {
		select {
		case res := <-results:
			if res == nil || res.Status != StatusExternalKill {
				t.Errorf("result %v", res)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d waits returned", i, n)
		}
	}
	// Threads the process already had (earlier tests' idle runtime threads included) may be
	// reused; what must not happen is a thread per waiting goroutine.
	if during-before > 8 {
		t.Fatalf("%d threads while %d goroutines wait, %d before (GOMAXPROCS %d)", during, n, before, runtime.GOMAXPROCS(0))
	}
	t.Logf("%d threads while %d goroutines wait, %d before (GOMAXPROCS %d)", during, n, before, runtime.GOMAXPROCS(0))
}
