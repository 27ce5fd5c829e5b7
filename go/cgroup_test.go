package sbx

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
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
	if res.Status != StatusSignaled || res.LimitReached != "memory" || res.Cgroup == nil || res.Cgroup.OOMKills < 1 ||
		res.Cgroup.MemoryPeak > 64<<20 {
		t.Fatalf("balloon: %+v %+v", res, res.Cgroup)
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
