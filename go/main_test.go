package sbx

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests, then checks once more that no thread of the test process ended up
// with a seccomp filter or no_new_privs after every sandbox of the suite.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		t := &testing.T{}
		_ = t
		if msg := hostConfinementChange(); msg != "" {
			fmt.Fprintln(os.Stderr, "FAIL: after all tests:", msg)
			code = 1
		}
	}
	os.Exit(code)
}
