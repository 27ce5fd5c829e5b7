package sbx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// readTaskField reads one field (such as "Seccomp") of /proc/self/task/*/status for every
// thread of the test process, keyed by thread id.
func readTaskField(field string) (map[string]string, error) {
	dirs, err := filepath.Glob("/proc/self/task/*")
	if err != nil || len(dirs) == 0 {
		return nil, fmt.Errorf("cannot list /proc/self/task: %v", err)
	}
	out := make(map[string]string, len(dirs))
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "status"))
		if err != nil {
			continue // the thread ended meanwhile
		}
		if v, ok := statusField(string(data), field); ok {
			out[filepath.Base(d)] = v
		}
	}
	return out, nil
}

// statusField finds "Field:\tvalue" in a /proc status file.
func statusField(status, field string) (string, bool) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// baseline is the test process's own confinement before any sandbox ran (package variables
// are initialized before any test runs): normally Seccomp 0 and NoNewPrivs 0.
var baseline = func() map[string]string {
	m := map[string]string{}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return m
	}
	for _, f := range []string{"Seccomp", "NoNewPrivs"} {
		if v, ok := statusField(string(data), f); ok {
			m[f] = v
		}
	}
	return m
}()

// hostConfinementChange describes how /proc/self/status or one of the process's threads
// differs from the baseline in Seccomp or NoNewPrivs ("" when nothing does). libsbx must
// confine only its child, never the Go process.
func hostConfinementChange() string {
	var problems []string
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err.Error()
	}
	for _, field := range []string{"Seccomp", "NoNewPrivs"} {
		want := baseline[field]
		if want == "" {
			return "no " + field + " in /proc/self/status"
		}
		if v, _ := statusField(string(data), field); v != want {
			problems = append(problems, fmt.Sprintf("/proc/self/status %s: %s (was %s before any sandbox)", field, v, want))
		}
		tasks, err := readTaskField(field)
		if err != nil {
			return err.Error()
		}
		for tid, v := range tasks {
			if v != want {
				problems = append(problems, fmt.Sprintf("thread %s has %s: %s (was %s before any sandbox)", tid, field, v, want))
			}
		}
	}
	return strings.Join(problems, "; ")
}

// checkUnconfined asserts that the Go process still has "Seccomp: 0" (or whatever it had
// before any sandbox) on every thread, libsbx's monitor threads included.
func checkUnconfined(t *testing.T) {
	t.Helper()
	if baseline["Seccomp"] != "0" {
		t.Logf("the test process was confined before any sandbox ran (Seccomp: %s); checking that it did not change", baseline["Seccomp"])
	}
	if msg := hostConfinementChange(); msg != "" {
		t.Error(msg)
	}
}

// Many goroutines start sandboxes at the same moment, while another goroutine watches every
// thread of the Go process for a seccomp filter or no_new_privs.
func TestConcurrentRunsLeaveHostUnconfined(t *testing.T) {
	const n = 64
	checkUnconfined(t)

	var (
		start   = make(chan struct{})
		done    = make(chan struct{})
		wg      sync.WaitGroup
		watchWG sync.WaitGroup
	)
	watchWG.Add(1)
	go func() {
		defer watchWG.Done()
		<-start
		for {
			select {
			case <-done:
				return
			default:
			}
			if msg := hostConfinementChange(); msg != "" {
				t.Errorf("during the runs: %s", msg)
				return
			}
		}
	}()

	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var out bytes.Buffer
			c := Command("sh", "-c", `echo "run $1"; exit $(($1 % 7))`, "sh", strconv.Itoa(i))
			c.Stdout = &out
			<-start
			res, err := c.Run(context.Background())
			switch {
			case err != nil:
				errs <- fmt.Errorf("run %d: %v", i, err)
			case res.Status != StatusOK || res.ExitCode != i%7:
				errs <- fmt.Errorf("run %d: %v", i, res)
			case out.String() != fmt.Sprintf("run %d\n", i):
				errs <- fmt.Errorf("run %d: output %q", i, out.String())
			}
		}(i)
	}
	close(start)
	wg.Wait()
	close(done)
	watchWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkUnconfined(t)
}

// prSetNoNewPrivs is PR_SET_NO_NEW_PRIVS (linux/prctl.h), which package syscall lacks.
const prSetNoNewPrivs = 38

// The checker must see a filter on any single thread, or the test above proves nothing:
// confine one locked thread (no_new_privs and an allow-everything filter), look, and let the
// thread die with its goroutine.
func TestCheckerSeesAConfinedThread(t *testing.T) {
	type seen struct {
		tid          string
		seccomp, nnp string
		noticed      bool
		err          error
	}
	ch := make(chan seen)
	confine := func() {
		runtime.LockOSThread()
		if syscall.Gettid() == syscall.Getpid() {
			// Go never ends the main thread, which /proc/self/status describes; use another.
			runtime.UnlockOSThread()
			ch <- seen{}
			return
		}
		// Never unlocked from here on: the thread exits with this goroutine.
		s := seen{tid: strconv.Itoa(syscall.Gettid())}
		if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
			s.err = e
		}
		allow := []syscall.SockFilter{{Code: 0x06 /* BPF_RET|BPF_K */, K: SeccompRetAllow}}
		prog := syscall.SockFprog{Len: 1, Filter: &allow[0]}
		if s.err == nil {
			if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_SECCOMP, 2 /* SECCOMP_MODE_FILTER */, uintptr(unsafe.Pointer(&prog)), 0, 0, 0); e != 0 {
				s.err = e
			}
		}
		runtime.KeepAlive(allow)
		seccomp, _ := readTaskField("Seccomp")
		nnp, _ := readTaskField("NoNewPrivs")
		s.seccomp, s.nnp = seccomp[s.tid], nnp[s.tid]
		s.noticed = hostConfinementChange() != ""
		ch <- s
	}
	var s seen
	for attempt := 0; attempt < 100 && s.tid == ""; attempt++ {
		go confine()
		s = <-ch
	}
	if s.tid == "" {
		t.Skip("could not get a goroutine onto a thread other than the main one")
	}
	if s.err != nil {
		t.Skipf("cannot confine a thread here: %v", s.err)
	}
	if s.seccomp != "2" || s.nnp != "1" {
		t.Errorf("confined thread %s read as Seccomp %q, NoNewPrivs %q", s.tid, s.seccomp, s.nnp)
	}
	if !s.noticed {
		t.Error("hostConfinementChange does not notice the confined thread")
	}
	// Wait for the thread to be gone so later checks see only the process's own threads.
	deadline := time.Now().Add(10 * time.Second)
	for hostConfinementChange() != "" {
		if time.Now().After(deadline) {
			t.Fatalf("thread %s did not exit: %s", s.tid, hostConfinementChange())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
