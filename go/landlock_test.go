package sbx

import (
	"bytes"
	"context"
	"slices"
	"testing"
)

// Landlock's filesystem rules: procfs is mounted read-write, yet the sandboxee cannot write its
// own /proc/self/comm; a tmpfs of the view stays writable. The result names the ABI and rights.
func TestLandlockFilesystemRules(t *testing.T) {
	c := Command("sh", "-c", "echo x > /proc/self/comm; echo comm=$?; echo y > /tmp/f && cat /tmp/f")
	var out bytes.Buffer
	c.Stdout = &out
	c.Policy = mustBuild(t, withTestMonitor(NewToolPolicyBuilder()))
	res, err := c.Run(context.Background())
	if err != nil || res.Status != StatusOK {
		t.Fatalf("run: %v %+v", err, res)
	}
	if !slices.Contains(res.Fences, "landlock") {
		if res.Landlock != nil {
			t.Fatalf("a Landlock report without the fence: %+v", res.Landlock)
		}
		t.Skip("no Landlock in this kernel")
	}
	l := res.Landlock
	if l == nil || l.ABI < 1 || !slices.Contains(l.FSRights, "write_file") || !slices.Contains(l.FSRights, "execute") ||
		slices.Contains(l.FSRights, "read_file") || !slices.Contains(res.Fences, "landlock_filesystem") {
		t.Fatalf("landlock report: %+v fences %v", l, res.Fences)
	}
	if len(l.NetRights) != 0 {
		t.Fatalf("no allow-list, yet network rights %v", l.NetRights)
	}
	if l.ABI >= 6 && !slices.Equal(l.Scopes, []string{"abstract_unix_socket", "signal"}) {
		t.Fatalf("scopes: %v", l.Scopes)
	}
	if got := out.String(); got != "comm=2\ny\n" {
		t.Fatalf("output %q: /proc/self/comm must be refused (dash exits 2), /tmp writable", got)
	}
}

// AllowSpeculation: the policy builds, runs, and its runs never list the speculation_control
// fence (which a default policy's runs list where the kernel lets a process choose).
func TestAllowSpeculation(t *testing.T) {
	c := Command("true")
	c.Policy = mustBuild(t, withTestMonitor(NewToolPolicyBuilder()).AllowSpeculation())
	res, err := c.Run(context.Background())
	if err != nil || res.Status != StatusOK {
		t.Fatalf("run: %v %+v", err, res)
	}
	if slices.Contains(res.Fences, "speculation_control") {
		t.Fatalf("fences %v", res.Fences)
	}
}
