package sbx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recorder is a Notify that records what it saw. Its functions run on libsbx's monitor
// thread, so everything goes through mu.
type recorder struct {
	mu        sync.Mutex
	veto      bool
	answer    TraceAction
	events    []string
	started   []int
	traced    []Syscall
	violation []Syscall
	signals   []syscall.Signal
	finished  []*Result
}

func (r *recorder) note(event string) {
	r.events = append(r.events, event)
}

func (r *recorder) notify() *Notify {
	return &Notify{
		Started: func(pid int) bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.note("started")
			r.started = append(r.started, pid)
			return !r.veto
		},
		Trace: func(call Syscall) TraceAction {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.note("trace")
			r.traced = append(r.traced, call)
			return r.answer
		},
		Violation: func(call Syscall) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.note("violation")
			r.violation = append(r.violation, call)
		},
		Signal: func(pid int, sig syscall.Signal) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.note("signal")
			r.signals = append(r.signals, sig)
		},
		Finished: func(res *Result) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.note("finished")
			r.finished = append(r.finished, res)
		},
	}
}

// tracingPolicy is the default tool policy with personality handed to Notify.Trace.
func tracingPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := withTestMonitor(NewToolPolicyBuilder().TraceSyscall("personality")).Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// setarchCmd runs setarch, which calls personality(2) and then execs /bin/true.
func setarchCmd(t *testing.T, p *Policy, n *Notify) (*Cmd, *bytes.Buffer) {
	t.Helper()
	lookPath(t, "setarch")
	var stderr bytes.Buffer
	c := Command("setarch", "x86_64", "-R", "/bin/true")
	c.Policy = p
	c.Stderr = &stderr
	c.Notify = n
	return c, &stderr
}

// checkEnvsReleased fails the test when a Notify's handle outlives its sandbox.
func checkEnvsReleased(t *testing.T, before int64) {
	t.Helper()
	if n := liveCallbackEnvs.Load(); n != before {
		t.Errorf("%d notify handles alive, want %d: destroy was not called", n, before)
	}
}

func TestNotifyTrace(t *testing.T) {
	p := tracingPolicy(t)
	cases := []struct {
		name       string
		answer     TraceAction
		status     Status
		exitCode   int
		stderrPart string
	}{
		{"allow", TraceAllow, StatusOK, 0, ""},
		{"errno", TraceErrno(syscall.EPERM), StatusOK, 1, "Operation not permitted"},
		{"deny", TraceDeny, StatusViolation, -1, ""},
		{"zero value denies", TraceAction{}, StatusViolation, -1, ""},
		{"errno 0 denies", TraceErrno(0), StatusViolation, -1, ""},
		{"errno 5000 denies", TraceErrno(5000), StatusViolation, -1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := liveCallbackEnvs.Load()
			rec := &recorder{answer: tc.answer}
			c, stderr := setarchCmd(t, p, rec.notify())
			res := run(t, c)
			checkEnvsReleased(t, before)
			if res.Status != tc.status || res.ExitCode != tc.exitCode || !strings.Contains(stderr.String(), tc.stderrPart) {
				t.Fatalf("answer %v: result %v, stderr %q", tc.answer, res, stderr.String())
			}
			// Wait returned: everything the callbacks did is visible without the lock (the
			// race detector checks that claim of the documentation).
			if len(rec.traced) == 0 || rec.traced[0].Name != "personality" || rec.traced[0].Arch != "X86-64" || rec.traced[0].Nr != syscall.SYS_PERSONALITY {
				t.Fatalf("traced %v", rec.traced)
			}
			if len(rec.started) != 1 || rec.started[0] != res.Pid || rec.traced[0].Pid != res.Pid {
				t.Errorf("started %v, traced pid %d, result pid %d", rec.started, rec.traced[0].Pid, res.Pid)
			}
			if len(rec.finished) != 1 || rec.finished[0].Status != res.Status || rec.finished[0].Description != res.Description {
				t.Errorf("finished %v, want once with %v", rec.finished, res)
			}
			if rec.events[0] != "started" || rec.events[len(rec.events)-1] != "finished" {
				t.Errorf("events %v", rec.events)
			}
			if tc.status == StatusViolation {
				if len(rec.violation) != 1 || rec.violation[0] != rec.traced[0] {
					t.Errorf("violation callback saw %v, want %v", rec.violation, rec.traced[0])
				}
				if res.Violation == nil || res.Violation.Syscall != "personality" || res.Violation.Args != rec.traced[0].Args {
					t.Errorf("result violation %v", res.Violation)
				}
			} else if len(rec.violation) != 0 {
				t.Errorf("violation callback saw %v", rec.violation)
			}
		})
	}
}

// Without a Trace function, a traced syscall is denied, as without any Notify.
func TestNotifyWithoutTraceDenies(t *testing.T) {
	p := tracingPolicy(t)
	for _, n := range []*Notify{nil, {}} {
		c, _ := setarchCmd(t, p, n)
		res := run(t, c)
		if res.Status != StatusViolation || res.Violation.Syscall != "personality" {
			t.Errorf("Notify %+v: result %v", n, res)
		}
	}
}

func TestNotifyStartedVeto(t *testing.T) {
	before := liveCallbackEnvs.Load()
	rec := &recorder{veto: true, answer: TraceAllow}
	var out bytes.Buffer
	c := Command("echo", "must not run")
	c.Stdout = &out
	c.Notify = rec.notify()
	res, err := c.Run(context.Background())
	var se *SetupError
	if !errors.As(err, &se) || se.Result != res {
		t.Fatalf("Run error %T %v, want *SetupError", err, err)
	}
	if res.Status != StatusSetupError || res.Reason != "FAILED_NOTIFY" || !strings.Contains(err.Error(), "FAILED_NOTIFY") {
		t.Fatalf("result %+v", res)
	}
	if out.Len() != 0 {
		t.Errorf("the vetoed program wrote %q", out.String())
	}
	if len(rec.started) != 1 || len(rec.finished) != 1 || rec.finished[0].Status != StatusSetupError {
		t.Errorf("started %v finished %v", rec.started, rec.finished)
	}
	checkEnvsReleased(t, before)
}

// Signals reach Notify only under the ptrace monitor.
func TestNotifySignal(t *testing.T) {
	rec := &recorder{}
	c := Command("sh", "-c", "kill -USR1 $$")
	c.Policy = mustBuild(t, NewToolPolicyBuilder().SetMonitor(MonitorPtrace))
	c.Notify = rec.notify()
	res := run(t, c)
	if res.Status != StatusSignaled || res.Signal != syscall.SIGUSR1 {
		t.Fatalf("result %v", res)
	}
	if len(rec.signals) == 0 || rec.signals[len(rec.signals)-1] != syscall.SIGUSR1 {
		t.Errorf("signals %v, want SIGUSR1 last", rec.signals)
	}
	if len(rec.finished) != 1 || rec.finished[0].Status != StatusSignaled {
		t.Errorf("finished %v", rec.finished)
	}
}

// Finished is called once, also for a run ended by Kill, and the handle is released.
func TestNotifyFinishedOnceWhenKilled(t *testing.T) {
	before := liveCallbackEnvs.Load()
	rec := &recorder{}
	c := Command("sleep", "60")
	c.Notify = rec.notify()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	res, err := c.Wait()
	if err != nil || res.Status != StatusExternalKill {
		t.Fatalf("%v %v", res, err)
	}
	if len(rec.finished) != 1 || rec.finished[0].Status != StatusExternalKill {
		t.Errorf("finished %v", rec.finished)
	}
	checkEnvsReleased(t, before)
}

// The handle is released however the Cmd ends: Close after Start, a start that fails, a
// Cmd that never starts.
func TestNotifyHandleReleased(t *testing.T) {
	before := liveCallbackEnvs.Load()

	c := Command("sleep", "60")
	c.Notify = &Notify{Finished: func(*Result) {}}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	checkEnvsReleased(t, before)

	c = Command("true")
	c.Dir = "relative/dir" // checked by sbx_sandbox_start
	c.Notify = &Notify{Started: func(int) bool { t.Error("Started called"); return true }}
	if err := c.Start(context.Background()); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Start with a relative Dir: %v", err)
	}
	checkEnvsReleased(t, before)

	c = Command("true")
	c.Path = "" // Start fails before any sandbox exists
	c.Notify = &Notify{}
	if err := c.Start(context.Background()); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Start with an empty Path: %v", err)
	}
	checkEnvsReleased(t, before)
}

// A Notify function may end the run with Kill and ask for its Pid.
func TestNotifyMayKill(t *testing.T) {
	p := tracingPolicy(t)
	var c *Cmd
	var pid int
	c, _ = setarchCmd(t, p, &Notify{Trace: func(Syscall) TraceAction {
		pid = c.Pid()
		if err := c.Kill(); err != nil {
			t.Error(err)
		}
		return TraceAllow
	}})
	res := run(t, c)
	if res.Status != StatusExternalKill || pid != res.Pid {
		t.Fatalf("result %v, Pid in the callback %d", res, pid)
	}
}

// Start copies the Notify: changing it afterwards does not affect the run.
func TestNotifyIsCopied(t *testing.T) {
	p := tracingPolicy(t)
	n := &Notify{Trace: func(Syscall) TraceAction { return TraceAllow }}
	c, _ := setarchCmd(t, p, n)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.Trace = func(Syscall) TraceAction { return TraceDeny }
	res, err := c.Wait()
	if err != nil || !res.Success() {
		t.Fatalf("%v %v", res, err)
	}
}

// A panic in a Notify function does not crash the process from the monitor thread: the run
// gets the safe answer, later functions are not called, and Wait re-raises the panic in the
// caller's goroutine after releasing the sandbox.
func TestNotifyPanicIsRethrownByWait(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name   string
		notify func(*[]string) *Notify
		want   Status
		reason string
	}{
		{"Trace", func(calls *[]string) *Notify {
			return &Notify{
				Trace:     func(Syscall) TraceAction { *calls = append(*calls, "trace"); panic(boom) },
				Violation: func(Syscall) { *calls = append(*calls, "violation") },
				Finished:  func(*Result) { *calls = append(*calls, "finished") },
			}
		}, StatusViolation, "VIOLATION_SYSCALL"},
		{"Started", func(calls *[]string) *Notify {
			return &Notify{
				Started:  func(int) bool { *calls = append(*calls, "started"); panic(boom) },
				Finished: func(*Result) { *calls = append(*calls, "finished") },
			}
		}, StatusSetupError, "FAILED_NOTIFY"},
	}
	p := tracingPolicy(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := liveCallbackEnvs.Load()
			var calls []string // only the monitor thread writes it, and Wait orders that
			c, _ := setarchCmd(t, p, tc.notify(&calls))
			if err := c.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got any
			func() {
				defer func() { got = recover() }()
				c.Wait()
			}()
			if got != boom {
				t.Fatalf("Wait raised %v, want the callback's panic value", got)
			}
			if len(calls) != 1 {
				t.Errorf("calls %v: nothing after the panicking one should run", calls)
			}
			// The result is kept for inspection after recovering.
			if res := c.Result(); res == nil || res.Status != tc.want || res.Reason != tc.reason {
				t.Errorf("Cmd.Result() after the panic: %v", res)
			}
			checkEnvsReleased(t, before)
			if c.Pid() == 0 {
				t.Error("no pid")
			}
			if !processGone(c.Pid(), 5*time.Second) {
				t.Error("the sandboxee outlived the panic")
			}
		})
	}
}

// Many goroutines run sandboxes with Notify at once (under -race in scripts/test-go.sh).
func TestNotifyConcurrent(t *testing.T) {
	lookPath(t, "setarch")
	p := tracingPolicy(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var mu sync.Mutex
	total := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			answer := TraceAllow
			if i%2 == 1 {
				answer = TraceErrno(syscall.EPERM)
			}
			count := 0
			c := Command("setarch", "x86_64", "-R", "/bin/true")
			c.Policy = p
			c.Notify = &Notify{Trace: func(Syscall) TraceAction {
				count++ // only this run's monitor thread writes it
				mu.Lock()
				total++
				mu.Unlock()
				return answer
			}}
			res, err := c.Run(context.Background())
			switch {
			case err != nil:
				errs <- err
			case res.Status != StatusOK || res.ExitCode != i%2:
				errs <- fmt.Errorf("run %d (%v): %v", i, answer, res)
			case count == 0:
				errs <- fmt.Errorf("run %d: no trace callback", i)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if total < n {
		t.Errorf("%d trace callbacks for %d runs", total, n)
	}
	checkUnconfined(t)
}

func TestTraceActionString(t *testing.T) {
	for a, want := range map[TraceAction]string{
		TraceAllow: "ALLOW", TraceDeny: "DENY", {}: "DENY", TraceErrno(syscall.EACCES): "ERRNO(13)",
	} {
		if a.String() != want {
			t.Errorf("%#v.String() = %q, want %q", a, a.String(), want)
		}
	}
	if TraceErrno(syscall.EPERM).Errno() != syscall.EPERM || TraceAllow.Errno() != 0 {
		t.Error("TraceAction.Errno")
	}
	call := Syscall{Arch: "X86-64", Name: "personality", Args: [6]uint64{0xffffffff}}
	if got := call.String(); got != "[X86-64] personality(0xffffffff, 0x0, 0x0, 0x0, 0x0, 0x0)" {
		t.Errorf("Syscall.String() = %q", got)
	}
}
