package sbx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"sbx"
)

// Run a shell command under the default policy and capture its output.
func ExampleCommand() {
	var out bytes.Buffer
	cmd := sbx.Command("sh", "-c", "echo hello from $(id -u)@$(hostname)")
	cmd.Stdout = &out
	res, err := cmd.Run(context.Background())
	if err != nil {
		fmt.Println("could not run:", err)
		return
	}
	fmt.Print(out.String())
	fmt.Println(res.Status, res.ExitCode)
	// Output:
	// hello from 1000@sandbox
	// OK 0
}

// A tight policy: only what echo needs to start, print and exit, and only echo and its
// libraries in the sandbox's filesystem. Anything else is a violation naming the syscall.
func ExamplePolicyBuilder() {
	echo, err := exec.LookPath("echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	policy, err := sbx.NewPolicyBuilder().
		AllowGroup(sbx.GroupDynamicStartup, sbx.GroupSystemMalloc, sbx.GroupRead, sbx.GroupWrite, sbx.GroupExit).
		AddLibrariesForBinary(echo).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer policy.Close()

	var out bytes.Buffer
	cmd := sbx.Command(echo, "tightly sandboxed")
	cmd.Policy = policy
	cmd.Stdout = &out
	res, err := cmd.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(out.String())
	fmt.Println(res.Status)
	// Output:
	// tightly sandboxed
	// OK
}

// A policy violation ends the run; the Result names the syscall.
func ExampleViolationError() {
	// Creating namespaces is forbidden by libsbx's mandatory rules under every policy.
	res, err := sbx.Command("unshare", "--user", "true").Run(context.Background())
	if err != nil {
		fmt.Println("could not run:", err)
		return
	}
	var v *sbx.ViolationError
	if errors.As(res.Err(), &v) {
		fmt.Println(v.Status, v.Violation.Syscall)
	}
	// Output: VIOLATION unshare
}

// os/exec-style handling of a non-zero exit.
func ExampleExitError() {
	res, err := sbx.Command("sh", "-c", "exit 7").Run(context.Background())
	if err != nil {
		fmt.Println("could not run:", err)
		return
	}
	var exit *sbx.ExitError
	if errors.As(res.Err(), &exit) {
		fmt.Println(exit, "- code", exit.ExitCode)
	}
	// Output: sbx: exit status 7 - code 7
}

// A context deadline becomes the sandbox's wall-time limit.
func ExampleCmd_Run_timeout() {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := sbx.Command("sleep", "10").Run(ctx)
	fmt.Println(errors.Is(err, context.DeadlineExceeded), res.Status)
	// Output: true TIMEOUT
}

// Start, then Kill from anywhere; Wait reports the kill.
func ExampleCmd_Kill() {
	cmd := sbx.Command("sleep", "10")
	if err := cmd.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	time.AfterFunc(50*time.Millisecond, func() { _ = cmd.Kill() })
	res, err := cmd.Wait()
	fmt.Println(res.Status, err)
	// Output: EXTERNAL_KILL <nil>
}

// Errors from building a policy carry a code for errors.Is and detail for errors.As.
func ExampleError() {
	_, err := sbx.NewPolicyBuilder().AllowSyscall("read", "frobnicate").Build()
	fmt.Println(errors.Is(err, sbx.ErrUnknownSyscall))
	var e *sbx.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code == sbx.CodeUnknownSyscall, e.Op, strings.Contains(e.Message, "frobnicate"))
	}
	// Output:
	// true
	// true sbx_policy_builder_build true
}

// A program that is not in the sandbox's filesystem never starts: Run reports a *SetupError.
func ExampleSetupError() {
	res, err := sbx.Command("/opt/not/there").Run(context.Background())
	var setup *sbx.SetupError
	fmt.Println(errors.As(err, &setup), res.Status, res.Reason)
	// Output: true SETUP_ERROR FAILED_SUBPROCESS
}

// Conditions on arguments, compared on the width the kernel reads.
func ExamplePolicyBuilder_AddRule() {
	policy, err := sbx.NewPolicyBuilder().
		AddRule("socket", sbx.ActionAllow, sbx.Arg(0, sbx.Width32).Eq(syscall.AF_UNIX)).
		AddRule("socket", sbx.ActionErrno(syscall.EACCES)).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer policy.Close()
	fmt.Println(policy.AllowsExec(), len(policy.Program()) > 0)
	// Output: false true
}

// The loaded library must be the release the package was compiled against.
func ExampleCheckVersion() {
	if err := sbx.CheckVersion(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sbx.Version() == sbx.HeaderVersion)
	// Output: true
}
