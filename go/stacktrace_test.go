package sbx

import (
	"os"
	"strings"
	"testing"
)

// Stack traces: ionice's ioprio_set (not in the tool policy) is made through libc's syscall();
// with stack traces on, the result names that frame and ionice's own module; off, none.
func TestStackTraceOnViolation(t *testing.T) {
	for _, on := range []bool{false, true} {
		p, err := withTestMonitor(NewToolPolicyBuilder()).SetStackTraces(on).Build()
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
		if os.Getenv("SBX_TEST_MONITOR") == "unotify" {
			if len(st.Frames) != 0 || !strings.Contains(st.Error, "ptrace monitor") {
				t.Fatalf("under user-notify: %+v", st)
			}
			continue
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
