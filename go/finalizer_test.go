package sbx

import (
	"context"
	"runtime"
	"testing"
)

// Objects dropped without Close are released by their finalizers without crashing, also while
// other objects are in use (with -tags sbxgcstress a GC runs before every C call as well).
func TestFinalizersUnderChurn(t *testing.T) {
	t.Logf("gc stress mode: %v", gcStress)
	keep, err := NewToolPolicyBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	for i := 0; i < 50; i++ {
		NewPolicyBuilder().AllowGroup(GroupRead) // dropped unbuilt
		if _, err := NewPolicyBuilder().AllowSyscall("read").Build(); err != nil {
			t.Fatal(err) // the Policy is dropped unclosed
		}
		if i%10 == 0 {
			// A policy dropped right after Start: the sandbox keeps its own reference.
			p, err := NewToolPolicyBuilder().Build()
			if err != nil {
				t.Fatal(err)
			}
			c := Command("true")
			c.Policy = p
			if err := c.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			c.Policy = nil // now only the sandbox's own C reference remains
			runtime.GC()
			if res, err := c.Wait(); err != nil || !res.Success() {
				t.Fatalf("%v %v", res, err)
			}
		}
		runtime.GC()
		if keep.Disassemble() == "" {
			t.Fatal("the kept policy lost its program")
		}
	}
}
