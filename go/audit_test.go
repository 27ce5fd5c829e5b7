package sbx

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// runIonice runs `ionice -c 3 true` (its ioprio_set is not in the tool policy) under p, which
// it closes at the end of the test.
func runIonice(t *testing.T, p *Policy) *Result {
	t.Helper()
	t.Cleanup(p.Close)
	c := Command("ionice", "-c", "3", "true")
	c.Policy = p
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Audit mode: ionice's ioprio_set is not in the tool policy. Without audit it is a violation;
// audited, the run succeeds and Result.Audited names the call with its count.
func TestAuditListsRefusedCalls(t *testing.T) {
	for _, audit := range []bool{false, true} {
		p, err := withTestMonitor(NewToolPolicyBuilder()).SetAudit(audit).Build()
		if err != nil {
			t.Fatal(err)
		}
		res := runIonice(t, p)
		if !audit {
			if res.Status != StatusViolation || res.Violation.Syscall != "ioprio_set" || res.Audit || res.Audited != nil {
				t.Fatalf("without audit: %+v", res)
			}
			continue
		}
		if res.Status != StatusOK || res.ExitCode != 0 || !res.Audit {
			t.Fatalf("audited: %+v", res)
		}
		found := false
		for _, c := range res.Audited {
			if c.First.Name == "ioprio_set" {
				found = c.Count >= 1 && c.First.Pid > 0 && c.First.Arch != ""
			}
		}
		if !found {
			t.Fatalf("ioprio_set not in Audited: %+v", res.Audited)
		}
	}
}

// Policy files: rules loaded from TOML take effect; a bad file is ErrInvalidPolicy naming the
// place, and adds nothing.
func TestLoadRules(t *testing.T) {
	file := "version = 1\nallow = [\"ioprio_set\"]\n"
	p, err := withTestMonitor(NewToolPolicyBuilder()).LoadRules(file, "extra.toml").Build()
	if err != nil {
		t.Fatal(err)
	}
	if res := runIonice(t, p); res.Status != StatusOK {
		t.Fatalf("ionice under the loaded rule: %+v", res)
	}
	_, err = NewToolPolicyBuilder().LoadRules("version = 1\nallow = [\"no_such_call\"]\n", "bad.toml").Build()
	if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "bad.toml:2:") || !strings.Contains(err.Error(), "no_such_call") {
		t.Fatalf("bad file: %v", err)
	}
}

// A whole policy file makes a builder: a good one builds, a bad one is ErrInvalidPolicy naming
// the place and the key, and a missing file is ErrInvalidArgument naming it.
func TestPolicyBuilderFromString(t *testing.T) {
	file := "version = 1\ndefault = \"errno:EPERM\"\nallow = [\"read\"]\n[namespaces]\nhostname = \"box\"\n[[mount]]\npath = \"/scratch\"\ntype = \"tmpfs\"\n"
	b, err := PolicyBuilderFromString(file, "ok.toml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(); err != nil {
		t.Fatalf("Build: %v", err)
	}
	_, err = PolicyBuilderFromString("version = 1\n[view]\ndev_pts = 1\n", "bad.toml")
	if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "bad.toml:3:11") || !strings.Contains(err.Error(), "dev_pts") {
		t.Fatalf("bad file: %v", err)
	}
	_, err = PolicyBuilderFromFile("/nonexistent-sbx.toml")
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "/nonexistent-sbx.toml") {
		t.Fatalf("missing file: %v", err)
	}
}

// Audited calls keep the values a learned policy conditions on: dash under a policy with no
// rules, audited (a learning run), has its mmap calls listed with their protections in
// Seen.Values (the loader maps its libraries PROT_READ and PROT_READ|PROT_EXEC).
func TestAuditKeepsSeenValues(t *testing.T) {
	const dash = "/usr/bin/dash"
	if _, err := os.Stat(dash); err != nil {
		t.Skip("no dash here")
	}
	p, err := withTestMonitor(NewPolicyBuilder()).SetAudit(true).AddFile(dash).AddLibrariesForBinary(dash).Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	c := Command(dash, "-c", "exit 0")
	c.Policy = p
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Audited {
		if a.First.Name != "mmap" {
			continue
		}
		if a.Seen == nil || a.Seen.Index != 2 || len(a.Seen.Values) == 0 {
			t.Fatalf("mmap without its protection values: %+v", a)
		}
		for _, v := range a.Seen.Values {
			if v == syscall.PROT_READ|syscall.PROT_EXEC {
				return
			}
		}
		t.Fatalf("PROT_READ|PROT_EXEC not among %v", a.Seen.Values)
	}
	t.Fatalf("no audited mmap: %+v", res)
}
