package sbx

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Both monitors run the same sandbox: the result names the monitor among its fences, a
// violation names the syscall, and an unknown monitor value is refused.
func TestMonitors(t *testing.T) {
	for _, m := range []Monitor{MonitorPtrace, MonitorUnotify} {
		t.Run(m.String(), func(t *testing.T) {
			// Not mustBuild: SBX_TEST_MONITOR must not override the monitor under test.
			p, err := NewToolPolicyBuilder().SetMonitor(m).Build()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			var out strings.Builder
			c := Command("sh", "-c", "echo hi; exit 3")
			c.Policy = p
			c.Stdout = &out
			res, err := c.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != StatusOK || res.ExitCode != 3 || out.String() != "hi\n" {
				t.Fatalf("%v, output %q", res, out.String())
			}
			want := m.String() + "_monitor"
			found := false
			for _, f := range res.Fences {
				found = found || f == want
			}
			if !found {
				t.Fatalf("fence %q missing from %v", want, res.Fences)
			}

			v := Command("python3", "-c", "import os; os.sync()")
			v.Policy = p
			res, err = v.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != StatusViolation || res.Violation == nil || res.Violation.Syscall != "sync" {
				t.Fatalf("want a violation naming sync, got %v", res)
			}
		})
	}
	if _, err := NewPolicyBuilder().SetMonitor(Monitor(7)).Build(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Monitor(7): %v", err)
	}
	if _, err := NewPolicyBuilder().SetMonitor(MonitorUnotify).DisableNamespaces().Build(); !errors.Is(err, ErrInvalidPolicy) {
		t.Fatalf("unotify without namespaces: %v", err)
	}
}
