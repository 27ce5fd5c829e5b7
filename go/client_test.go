package sbx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// These tests run the test binary itself as a sandbox-aware Go sandboxee (TestMain dispatches
// on helperEnv; see helper_sandboxee_test.go), so the sandboxee side of the package (ClientComms,
// MappedFile, SandboxMeHere) runs for real, in a Go program with many threads, built with
// -race when the suite is.

// testBinary returns the running test binary's path; the sandbox mounts it and its libraries.
func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot find the test binary: %v", err)
	}
	return exe
}

// selfSandboxPolicy is what the helper may do once it called SandboxMeHere: the Go runtime,
// comms, and its ids (SendCreds). Nothing opens files.
func selfSandboxPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := NewPolicyBuilder().
		AllowGoRuntime().
		AllowGroup(GroupGetIds).
		AllowSyscall("sendmsg", "recvmsg").
		AddLibrariesForBinary(testBinary(t)).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// beforeExecPolicy lets the helper start as an ordinary dynamically linked program: the
// default tool policy plus the test binary and its libraries.
func beforeExecPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := NewToolPolicyBuilder().AddLibrariesForBinary(testBinary(t)).Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// helperCmd returns a Cmd that runs the test binary as a sandboxee in mode, with "input"
// mapped to a file holding input.
func helperCmd(t *testing.T, mode string, p *Policy, input string) (*Cmd, *bytes.Buffer) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "input")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString(input); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	c := Command(testBinary(t))
	// GORACE: a -race binary otherwise sleeps a second before a clean exit.
	c.Env = []string{helperEnv + "=" + mode, "GORACE=atexit_sleep_ms=0"}
	c.Policy = p
	c.Stderr = &stderr
	c.NamedFiles = map[string]*os.File{"input": f}
	c.Limits.WallTime = 60 * time.Second
	return c, &stderr
}

// startHelper starts c and takes its comms.
func startHelper(t *testing.T, c *Cmd) *Comms {
	t.Helper()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	comms, err := c.TakeComms()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { comms.Close() })
	must(t, "SetTimeout", comms.SetTimeout(30*time.Second))
	return comms
}

// failRun ends a started run and waits for it (so its stderr is complete and no longer
// written), then fails the test with the message and that stderr.
func failRun(t *testing.T, c *Cmd, stderr *bytes.Buffer, format string, args ...any) {
	t.Helper()
	_ = c.Kill()
	res, err := c.Wait()
	t.Fatalf(format+"\n(run: %v, %v; sandboxee stderr: %q)", append(args, res, err, stderr.String())...)
}

// command sends a helper command.
func command(t *testing.T, c *Comms, cmd string) {
	t.Helper()
	must(t, "send command "+cmd, c.SendString(cmd))
}

// A Go sandboxee started with SandboxAfterExec reads its mapped input while unconfined,
// calls SandboxMeHere, and then runs under the host's policy on every thread, also one it
// started before; it talks over comms, sends creds and a descriptor it created.
func TestSandboxMeHereInGoSandboxee(t *testing.T) {
	var violations []Syscall
	c, stderr := helperCmd(t, helperSelfSandbox, selfSandboxPolicy(t), "the mapped input")
	c.SandboxAfterExec = true
	c.Notify = &Notify{Violation: func(call Syscall) { violations = append(violations, call) }}
	comms := startHelper(t, c)

	if got, err := comms.RecvBytes(); err != nil || string(got) != "the mapped input" {
		failRun(t, c, stderr, "mapped input: %q %v", got, err)
	}
	if again, err := comms.RecvBool(); err != nil || again {
		t.Fatalf("MappedFile a second time: %v %v", again, err)
	}

	command(t, comms, "echo")
	must(t, "SendBytes", comms.SendBytes([]byte("ping")))
	if got, err := comms.RecvBytes(); err != nil || string(got) != "ping" {
		t.Fatalf("echo: %q %v", got, err)
	}

	command(t, comms, "creds")
	creds, err := comms.RecvCreds()
	if err != nil || creds.Pid != c.Pid() {
		t.Fatalf("creds %+v %v, sandboxee pid %d", creds, err, c.Pid())
	}

	// A descriptor created by the sandboxee, after its policy applied.
	command(t, comms, "pipe")
	r, err := comms.RecvFile()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != "from the sandboxee" {
		t.Fatalf("pipe from the sandboxee: %q %v", got, err)
	}

	// A descriptor from the host.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pw.WriteString("from the host")
	pw.Close()
	command(t, comms, "file")
	must(t, "SendFile", comms.SendFile(pr))
	pr.Close()
	if got, err := comms.RecvBytes(); err != nil || string(got) != "from the host" {
		t.Fatalf("file from the host: %q %v", got, err)
	}

	// openat is not in the policy, also not for the thread started before SandboxMeHere.
	command(t, comms, "thread-open")
	if _, err := comms.RecvString(); !errors.Is(err, ErrCommsClosed) {
		t.Fatalf("the open on the earlier thread went through: %v", err)
	}
	res, err := c.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusViolation || res.Violation.Syscall != "openat" {
		t.Fatalf("result %v (stderr %q)", res, stderr.String())
	}
	if res.Violation.Pid == res.Pid {
		t.Errorf("the violation came from the main thread (%d), not the other one", res.Pid)
	}
	if len(violations) != 1 || violations[0].Name != "openat" {
		t.Errorf("Notify.Violation saw %v", violations)
	}
	checkUnconfined(t)
}

// TrySandboxMeHere succeeds the same way, and the sandboxee can exit normally.
func TestTrySandboxMeHere(t *testing.T) {
	c, stderr := helperCmd(t, helperTrySandbox, selfSandboxPolicy(t), "in")
	c.SandboxAfterExec = true
	comms := startHelper(t, c)
	if msg, err := comms.RecvString(); err != nil || msg != "" {
		failRun(t, c, stderr, "TrySandboxMeHere: %q %v", msg, err)
	}
	if got, err := comms.RecvBytes(); err != nil || string(got) != "in" {
		t.Fatalf("input %q %v", got, err)
	}
	if _, err := comms.RecvBool(); err != nil {
		t.Fatal(err)
	}
	command(t, comms, "open")
	if _, err := comms.RecvString(); !errors.Is(err, ErrCommsClosed) {
		t.Fatalf("open went through: %v", err)
	}
	res, err := c.Wait()
	if err != nil || res.Status != StatusViolation || res.Violation.Syscall != "openat" {
		t.Fatalf("%v %v", res, err)
	}
}

// A program sandboxed before exec that gets comms (EnableComms) talks to its host the same
// way; and since its first message is no policy, TrySandboxMeHere fails without applying
// anything while SandboxMeHere fails closed.
func TestEnableCommsBeforeExec(t *testing.T) {
	p := beforeExecPolicy(t)
	t.Run("comms", func(t *testing.T) {
		c, stderr := helperCmd(t, helperBeforeExec, p, "")
		c.EnableComms = true
		comms := startHelper(t, c)
		command(t, comms, "echo")
		must(t, "SendBytes", comms.SendBytes([]byte("before exec")))
		if got, err := comms.RecvBytes(); err != nil || string(got) != "before exec" {
			failRun(t, c, stderr, "echo: %q %v", got, err)
		}
		command(t, comms, "exit")
		res, err := c.Wait()
		if err != nil || !res.Success() {
			t.Fatalf("%v %v (stderr %q)", res, err, stderr.String())
		}
		// The host's end may outlive the sandbox: the sandboxee is gone.
		if _, err := comms.RecvString(); !errors.Is(err, ErrCommsClosed) {
			t.Errorf("receive after the end: %v", err)
		}
	})
	t.Run("TrySandboxMeHere without a policy", func(t *testing.T) {
		c, stderr := helperCmd(t, helperTrySandbox, p, "")
		c.EnableComms = true
		comms := startHelper(t, c)
		command(t, comms, "not a policy")
		msg, err := comms.RecvString()
		if err != nil || !strings.Contains(msg, "policy") {
			failRun(t, c, stderr, "TrySandboxMeHere reported %q, %v", msg, err)
		}
		res, err := c.Wait()
		if err != nil || res.Status != StatusOK || res.ExitCode != 13 {
			t.Fatalf("%v %v", res, err)
		}
	})
	t.Run("SandboxMeHere fails closed", func(t *testing.T) {
		c, stderr := helperCmd(t, helperSelfSandbox, p, "")
		c.EnableComms = true
		comms := startHelper(t, c)
		command(t, comms, "not a policy")
		if _, err := comms.RecvBytes(); !errors.Is(err, ErrCommsClosed) {
			t.Fatalf("the sandboxee went on: %v", err)
		}
		res, err := c.Wait()
		if err != nil || res.Status != StatusOK || res.ExitCode != 127 || !strings.Contains(stderr.String(), "sandbox_me_here") {
			t.Fatalf("%v %v (stderr %q)", res, err, stderr.String())
		}
	})
}

func TestTakeCommsMisuse(t *testing.T) {
	c := Command("true")
	if _, err := c.TakeComms(); !errors.Is(err, ErrInvalidState) {
		t.Errorf("TakeComms before Start: %v", err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TakeComms(); !errors.Is(err, ErrInvalidState) {
		t.Errorf("TakeComms without EnableComms: %v", err)
	}
	c.Wait()
	if _, err := c.TakeComms(); !errors.Is(err, ErrInvalidState) {
		t.Errorf("TakeComms after Wait: %v", err)
	}

	c = Command("sleep", "60")
	c.EnableComms = true
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	comms, err := c.TakeComms()
	if err != nil {
		t.Fatal(err)
	}
	defer comms.Close()
	if _, err := c.TakeComms(); !errors.Is(err, ErrInvalidState) {
		t.Errorf("TakeComms twice: %v", err)
	}
	// sleep never uses its channel; ending the run ends the channel.
	c.Kill()
	c.Wait()
	if _, err := comms.RecvBool(); !errors.Is(err, ErrCommsClosed) {
		t.Errorf("receive after the end: %v", err)
	}
}

func TestNamedFilesBadInput(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	closed, _ := os.Open(os.DevNull)
	closed.Close()
	for name, files := range map[string]map[string]*os.File{
		"nil file":    {"input": nil},
		"closed file": {"input": closed},
		"bad name":    {"no spaces allowed": f},
		"empty name":  {"": f},
		"NUL in name": {"a\x00b": f},
	} {
		c := Command("true")
		c.NamedFiles = files
		if err := c.Start(context.Background()); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: Start = %v, want ErrInvalidArgument", name, err)
			if err == nil {
				c.Wait()
			}
		}
	}
}

// Named files get descriptors after ExtraFiles, in the order of their names; the sandboxee
// finds them in SBX_FD_MAPPINGS.
func TestNamedFilesNumbering(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, _ := output(t, `echo "$SBX_FD_MAPPINGS"; ls /proc/self/fd`, func(c *Cmd) {
		c.ExtraFiles = []*os.File{f}
		c.NamedFiles = map[string]*os.File{"b": f, "a": f}
	})
	lines := strings.SplitN(out, "\n", 2)
	if lines[0] != "a=4,b=5" {
		t.Errorf("SBX_FD_MAPPINGS = %q, want a=4,b=5", lines[0])
	}
}

// Outside a sandbox there is no channel and no mapped file.
func TestClientOutsideASandbox(t *testing.T) {
	if _, err := ClientComms(); !errors.Is(err, ErrCommsInvalidFd) {
		t.Errorf("ClientComms: %v", err)
	}
	for _, name := range []string{"input", "", "a\x00b"} {
		if f := MappedFile(name); f != nil {
			t.Errorf("MappedFile(%q) = %v", name, f)
			f.Close()
		}
	}
	if err := TrySandboxMeHere(nil); !errors.Is(err, ErrNullParameter) {
		t.Errorf("TrySandboxMeHere(nil): %v", err)
	}
	checkUnconfined(t)
}

// With SandboxAfterExec, the channel's first message is the policy: exactly the Policy's
// compiled program, which the sandboxee side decodes as SandboxMeHere would.
func TestPolicyMessageIsTheProgram(t *testing.T) {
	p := selfSandboxPolicy(t)
	c, _ := helperCmd(t, helperPolicyMessage, p, "")
	c.SandboxAfterExec = true
	comms := startHelper(t, c)
	tag, err := comms.RecvUint32()
	must(t, "RecvUint32", err)
	data, err := comms.RecvBytes()
	must(t, "RecvBytes", err)
	res, err := c.Wait()
	if err != nil || !res.Success() {
		t.Fatalf("%v %v", res, err)
	}
	prog, err := decodePolicy(tag, data)
	if err != nil {
		t.Fatal(err)
	}
	want := p.Program()
	if len(prog) != len(want) {
		t.Fatalf("decoded %d instructions, the policy has %d", len(prog), len(want))
	}
	for i := range want {
		if prog[i] != want[i] {
			t.Fatalf("instruction %d: %+v, want %+v", i, prog[i], want[i])
		}
	}
	if tag <= MaxCustomTag {
		t.Errorf("policy tag %#x is in the custom range", tag)
	}

	// What SandboxMeHere refuses, without applying anything.
	for name, bad := range map[string]struct {
		tag  uint32
		data []byte
	}{
		"another tag":      {tag + 1, data},
		"empty":            {tag, nil},
		"partial":          {tag, data[:len(data)-1]},
		"over 4096 insns":  {tag, make([]byte, 8*4097)},
		"a custom message": {1, data},
	} {
		if _, err := decodePolicy(bad.tag, bad.data); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The policy decoder on arbitrary bytes, through the C ABI: never a crash, and a success
// always accounts for every byte. Seeds run with go test; go test -fuzz=FuzzDecodePolicy
// explores.
func FuzzDecodePolicy(f *testing.F) {
	// libsbx's policy tag (src/client.rs POLICY_TAG; sbx.h does not name it).
	const policyTag = 0x80000401
	f.Add(uint32(policyTag), []byte{6, 0, 0, 0, 0, 0, 0xff, 0x7f}) // ret ALLOW
	f.Add(uint32(policyTag), []byte{})
	f.Add(uint32(policyTag), make([]byte, 7))
	f.Add(uint32(1), make([]byte, 8))
	f.Fuzz(func(t *testing.T, tag uint32, data []byte) {
		prog, err := decodePolicy(tag, data)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if tag != policyTag || len(prog)*8 != len(data) || len(prog) == 0 || len(prog) > 4096 {
			t.Fatalf("accepted tag %#x with %d bytes as %d instructions", tag, len(data), len(prog))
		}
	})
}
