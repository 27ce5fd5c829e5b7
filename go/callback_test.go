package sbx

import (
	"errors"
	"sync"
	"testing"
)

func TestCallbackHandleRoundTrip(t *testing.T) {
	type notify struct{ name string }
	v := &notify{"n"}
	env, h := newCallbackEnv(v)
	defer releaseCallbackEnv(h)
	got := callbackEnvFrom(uintptr(h))
	if got != env || got.value != v {
		t.Fatalf("handle resolved to %#v", got)
	}
}

func TestCallbackPanicIsRecoveredAndRethrown(t *testing.T) {
	env, h := newCallbackEnv(nil)
	defer releaseCallbackEnv(h)
	boom := errors.New("boom")

	calls := 0
	if !env.invoke(func() { calls++ }) {
		t.Fatal("a normal callback reported failure")
	}
	// Callbacks run on libsbx's monitor thread; a panic must not escape invoke.
	var wg sync.WaitGroup
	wg.Add(1)
	var ok bool
	go func() {
		defer wg.Done()
		ok = env.invoke(func() { panic(boom) })
	}()
	wg.Wait()
	if ok {
		t.Fatal("a panicking callback reported success")
	}
	if env.invoke(func() { calls++ }) {
		t.Fatal("callbacks after a panic should not run")
	}
	if calls != 1 {
		t.Fatalf("calls = %d, want 1", calls)
	}

	defer func() {
		if r := recover(); r != boom {
			t.Fatalf("rethrow raised %v, want the original value", r)
		}
	}()
	env.rethrow()
	t.Fatal("rethrow did not panic")
}

func TestCallbackRethrowWithoutPanic(t *testing.T) {
	env, h := newCallbackEnv(nil)
	defer releaseCallbackEnv(h)
	env.invoke(func() {})
	env.rethrow() // must not panic
}

func TestCallbackBadHandlePanics(t *testing.T) {
	_, h := newCallbackEnv(nil)
	other := newHandleTo(t, 42)
	defer releaseCallbackEnv(h)
	defer func() {
		if recover() == nil {
			t.Fatal("resolving a foreign handle should panic")
		}
	}()
	callbackEnvFrom(other)
}
