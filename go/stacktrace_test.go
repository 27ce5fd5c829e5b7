package sbx

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The tool policy with stack traces `on`, under the test monitor or user-notify.
func stackTracePolicy(t *testing.T, on, unotify bool) *Policy {
	t.Helper()
	b := withTestMonitor(NewToolPolicyBuilder()).SetStackTraces(on)
	if unotify {
		b.SetMonitor(MonitorUnotify)
	}
	p, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Stack traces: ionice's ioprio_set (not in the tool policy) is made through libc's syscall();
// with stack traces on, the result names that frame and ionice's own module; off, none.
func TestStackTraceOnViolation(t *testing.T) {
	// Under the test monitor (auto: ptrace, with stack traces) and under user-notify, which
	// attaches to the violating thread on demand.
	for _, mode := range []string{"off", "on", "unotify"} {
		on := mode != "off"
		res := runIonice(t, stackTracePolicy(t, on, mode == "unotify"))
		if res.Status != StatusViolation || res.Violation.Syscall != "ioprio_set" {
			t.Fatalf("stack traces %v: %+v", on, res)
		}
		if !on {
			if res.StackTrace != nil {
				t.Fatalf("a trace without stack traces: %+v", res.StackTrace)
			}
			continue
		}
		st := res.StackTrace
		if st == nil || st.Thread != res.Violation.Pid {
			t.Fatalf("no trace of thread %d: %+v", res.Violation.Pid, st)
		}
		if len(st.Frames) < 2 || st.Frames[0].Symbol != "syscall" || st.Frames[0].FoundBy != "registers" ||
			st.Frames[0].PC != res.Violation.IP || !strings.Contains(st.Frames[0].Module, "libc.so") {
			t.Fatalf("frames: %+v", st)
		}
		ionice := false
		for _, f := range st.Frames[1:] {
			ionice = ionice || strings.HasSuffix(f.Module, "/ionice")
		}
		if !ionice {
			t.Fatalf("no frame in ionice: %+v", st)
		}
	}
}

// A cancelled context (Cmd.Kill) with stack traces on: the result holds the main thread's
// stack just before the kill, sleep(1) in libc's nanosleep called from its own module.
func TestStackTraceOnCancel(t *testing.T) {
	for _, mode := range []string{"test monitor", "unotify"} {
		p := stackTracePolicy(t, true, mode == "unotify")
		t.Cleanup(p.Close)
		ctx, cancel := context.WithCancel(context.Background())
		c := Command("sleep", "10")
		c.Policy = p
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(300*time.Millisecond, cancel)
		res, err := c.Wait()
		if !errors.Is(err, context.Canceled) || res.Status != StatusExternalKill {
			t.Fatalf("%s: %v, %+v", mode, err, res)
		}
		st := res.StackTrace
		if st == nil || st.Thread != res.Pid || len(st.Frames) < 2 {
			t.Fatalf("%s: no trace of the main thread %d: %+v", mode, res.Pid, st)
		}
		sleeping, own := false, false
		for _, f := range st.Frames {
			sleeping = sleeping || strings.Contains(f.Symbol, "nanosleep")
			own = own || strings.HasSuffix(f.Module, "/sleep")
		}
		if !sleeping || !own {
			t.Fatalf("%s: frames: %+v", mode, st)
		}
	}
}
