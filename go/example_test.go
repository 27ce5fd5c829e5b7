package sbx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
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

// A program that is not in the sandbox's filesystem never starts: Run reports a *SetupError,
// which unwraps to the errno of the failed step.
func ExampleSetupError() {
	res, err := sbx.Command("/opt/not/there").Run(context.Background())
	var setup *sbx.SetupError
	fmt.Println(errors.As(err, &setup), res.Status, res.Reason)
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output:
	// true SETUP_ERROR FAILED_SUBPROCESS
	// true
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

// A trace rule hands a syscall to Notify.Trace, which decides it on the monitor thread: here
// personality(2), which setarch calls before running its program, fails with EPERM.
func ExampleNotify() {
	policy, err := sbx.NewToolPolicyBuilder().TraceSyscall("personality").Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer policy.Close()

	var mu sync.Mutex // the functions run on another thread
	traced := map[string]bool{}
	cmd := sbx.Command("setarch", "x86_64", "-R", "true")
	cmd.Policy = policy
	cmd.Notify = &sbx.Notify{
		Trace: func(call sbx.Syscall) sbx.TraceAction {
			mu.Lock()
			defer mu.Unlock()
			traced[call.Name] = true
			return sbx.TraceErrno(syscall.EPERM)
		},
	}
	res, err := cmd.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(traced["personality"], res.Status, res.ExitCode)
	// Output: true OK 1
}

// The two ends of a comms channel in one process: typed values, descriptors, and a message
// of the wrong type.
func ExampleCommsPair() {
	host, sandboxee, err := sbx.CommsPair()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer host.Close()
	defer sandboxee.Close()

	_ = host.SendString("checksum this")
	_ = host.SendBytes([]byte("123456789"))
	what, _ := sandboxee.RecvString()
	data, _ := sandboxee.RecvBytes()
	_ = sandboxee.SendUint32(crc32.ChecksumIEEE(data))
	sum, _ := host.RecvUint32()
	fmt.Printf("%s: %08x\n", what, sum)

	r, w, _ := os.Pipe()
	_ = host.SendFile(w)
	w.Close()
	wOther, _ := sandboxee.RecvFile()
	_, _ = wOther.WriteString("through a passed descriptor\n")
	wOther.Close()
	_, _ = io.Copy(os.Stdout, r)

	_ = host.SendInt32(7)
	_, err = sandboxee.RecvString()
	fmt.Println(errors.Is(err, sbx.ErrCommsTagMismatch), sandboxee.Terminated())
	// Output:
	// checksum this: cbf43926
	// through a passed descriptor
	// true false
}

// A sandbox-aware Go program and its host: the host starts the program (here the running
// binary itself, with a flag) with SandboxAfterExec and a named file; the program reads that
// file while still unconfined, calls SandboxMeHere, and answers over comms under the policy.
// See go/examples/crc4 for the whole program.
func Example_sandboxAware() {
	if len(os.Args) > 1 && os.Args[1] == "-sandboxee" {
		// The sandboxee.
		comms, err := sbx.ClientComms()
		if err != nil {
			os.Exit(3)
		}
		config, _ := io.ReadAll(sbx.MappedFile("config")) // before the policy: files are fine
		sbx.SandboxMeHere(comms)                          // from here on: the host's policy
		_ = comms.SendBytes(config)
		os.Exit(0)
	}

	// The host.
	exe, _ := os.Executable()
	policy, err := sbx.NewPolicyBuilder().
		AllowGoRuntime().                   // the Go runtime after SandboxMeHere
		AllowSyscall("sendmsg", "recvmsg"). // comms
		AddLibrariesForBinary(exe).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer policy.Close()
	config, _ := os.Open("/etc/hostname")
	defer config.Close()

	cmd := sbx.Command(exe, "-sandboxee")
	cmd.Policy = policy
	cmd.SandboxAfterExec = true
	cmd.NamedFiles = map[string]*os.File{"config": config}
	if err := cmd.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	comms, err := cmd.TakeComms()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer comms.Close()
	data, err := comms.RecvBytes()
	fmt.Printf("%q %v\n", data, err)
	res, err := cmd.Wait()
	fmt.Println(res, err)
}
