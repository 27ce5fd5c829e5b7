package sbx

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests, then checks once more that no thread of the test process ended up
// with a seccomp filter or no_new_privs after every sandbox of the suite.
//
// With SBX_GO_TEST_HELPER set, the binary is not the test suite but a sandboxee of one of
// its tests (see helper_sandboxee_test.go), run inside a sandbox.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	code := m.Run()
	if code == 0 {
		if msg := hostConfinementChange(); msg != "" {
			fmt.Fprintln(os.Stderr, "FAIL: after all tests:", msg)
			code = 1
		}
	}
	os.Exit(code)
}
