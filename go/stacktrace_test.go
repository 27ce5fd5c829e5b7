package sbx

import (
	"strings"
	"testing"
)

// Stack traces: ionice's ioprio_set (not in the tool policy) is made through libc's syscall();
// with stack traces on, the result names that frame and ionice's own module; off, none.
func TestStackTraceOnViolation(t *testing.T) {
	// Under the test monitor (auto: ptrace, with stack traces) and under user-notify, which
	// attaches to the violating thread on demand.
	for _, mode := range []string{"off", "on", "unotify"} {
		on := mode != "off"
		b := withTestMonitor(NewToolPolicyBuilder()).SetStackTraces(on)
		if mode == "unotify" {
			b.SetMonitor(MonitorUnotify)
		}
		p, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		res := runIonice(t, p)
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
