package sbx

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// cgroup limits: a 256 MiB balloon under a 64 MiB memory limit is OOM-killed and the result
// says so; without a cgroup for this user the start is refused with ErrNotSupported.
func TestCgroupMemoryLimit(t *testing.T) {
	c := Command("python3", "-c", "b = bytearray(256 << 20)")
	c.Limits.Memory = LimitTo(64 << 20)
	res, err := c.Run(context.Background())
	if err != nil {
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "Delegate=yes") || os.Geteuid() == 0 {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	if res.Status != StatusSignaled || res.LimitReached != "memory" || res.Reason != "MEMORY_LIMIT" || res.Cgroup == nil || res.Cgroup.OOMKills < 1 ||
		res.Cgroup.MemoryPeak > 64<<20 {
		t.Fatalf("balloon: %+v %+v", res, res.Cgroup)
	}
}

// The default memory ceiling: root here can make a memory cgroup, so there is one (at least
// 256 MiB, whole MiB) and a run under it has a cgroup; uid 65534 here cannot, so there is none.
func TestDefaultMemoryCeiling(t *testing.T) {
	ceiling, ok := DefaultMemoryCeiling()
	if os.Geteuid() != 0 {
		if ok {
			t.Fatalf("a ceiling (%d) without a memory cgroup to put it in", ceiling)
		}
		return
	}
	if !ok || ceiling < 256<<20 || ceiling%(1<<20) != 0 {
		t.Fatalf("ceiling %d, ok %v", ceiling, ok)
	}
	c := Command("true")
	c.Limits.Memory = LimitTo(ceiling)
	res, err := c.Run(context.Background())
	if err != nil || !res.Success() || res.Cgroup == nil || res.Cgroup.MemoryPeak == 0 {
		t.Fatalf("run under the ceiling: %v %+v", err, res)
	}
	// With a cgroup v2 group (tests/cgroups.rs checks where there is one): the run's CPU time.
	if res.Cgroup.HasCPUTime && (res.Cgroup.CPUTime <= 0 || res.Cgroup.CPUTime > 10*time.Second) {
		t.Fatalf("cgroup CPU time %v", res.Cgroup.CPUTime)
	}
}

// The shared empty network namespace: a run as root; anyone else is refused.
func TestSharedNetworkNamespace(t *testing.T) {
	p, err := withTestMonitor(NewToolPolicyBuilder()).SetNetworkNamespace(NetNsShared).Build()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := Command("true")
	c.Policy = p
	res, err := c.Run(context.Background())
	if os.Geteuid() != 0 {
		if !errors.Is(err, ErrNotSupported) {
			t.Fatalf("not root: %v %+v", err, res)
		}
		return
	}
	if err != nil || res.Status != StatusOK {
		t.Fatalf("root: %v %+v", err, res)
	}
}

// A policy file's [limits] table loads into Limits: the keys it names, defaults for the rest;
// a file without the table leaves Limits as they were; a bad one is an error and changes nothing.
func TestLimitsFromAPolicyFile(t *testing.T) {
	var l Limits
	found, err := l.LoadPolicy("version = 1\n[limits]\nmemory = 67108864\nwalltime = 1.5\nopen_files = 64\n", "f.toml")
	if err != nil || !found {
		t.Fatalf("load: %v %v", found, err)
	}
	if l.Memory.String() != "67108864" || l.OpenFiles.String() != "64" || l.WallTime != 1500*time.Millisecond || l.Pids.String() != "unlimited" {
		t.Fatalf("limits %+v", l)
	}
	before := l
	found, err = l.LoadPolicy("version = 1\nallow = [\"read\"]\n", "g.toml")
	if err != nil || found || l != before {
		t.Fatalf("no table: %v %v %+v", found, err, l)
	}
	_, err = l.LoadPolicy("version = 1\n[limits]\nno_such_limit = 1\n", "h.toml")
	if err == nil || !strings.Contains(err.Error(), "h.toml:3") || l != before {
		t.Fatalf("bad file: %v %+v", err, l)
	}
	if _, err := l.LoadPolicyFile("/nonexistent/p.toml"); err == nil {
		t.Fatal("a missing file loaded")
	}
}
