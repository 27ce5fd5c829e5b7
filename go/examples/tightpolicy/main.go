// Command tightpolicy runs an untrusted command under a tight policy and prints the Result.
//
// The policy allows only what a small dynamically linked tool needs to start, read, write and
// exit, and mounts only the program and its shared libraries: no shell, no other files, no
// network, no process creation. Everything else ends the run as a VIOLATION naming the
// syscall.
//
// Usage:
//
//	tightpolicy [-timeout 5s] [PROGRAM [ARGS...]]
//
// Without a program it runs two demonstrations: echo, which fits the policy, and id, which asks
// for the user id and breaks it. The exit status is 0 when every run ended as expected (or,
// with a program, when the program succeeded), 1 otherwise, and 2 on a setup failure.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"sbx"
)

// tightPolicy allows a dynamically linked tool to start, allocate, read, write and exit, and
// shows it nothing but its own binary and libraries.
func tightPolicy(binary string) (*sbx.Policy, error) {
	return sbx.NewPolicyBuilder().
		AllowGroup(
			sbx.GroupDynamicStartup, // the loader: open/mmap the libraries, TLS setup
			sbx.GroupSystemMalloc,   // glibc malloc
			sbx.GroupRead,
			sbx.GroupWrite,
			sbx.GroupExit,
		).
		AddLibrariesForBinary(binary).
		SetHostname("tight").
		Build()
}

// run runs argv under the tight policy and prints what happened; it reports whether the
// outcome was the expected one.
func run(ctx context.Context, argv []string, want sbx.Status) (bool, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return false, err
	}
	policy, err := tightPolicy(path)
	if err != nil {
		return false, fmt.Errorf("building the policy: %w", err)
	}
	defer policy.Close()

	var stdout, stderr bytes.Buffer
	cmd := sbx.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Policy = policy
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.Limits.OpenFiles = sbx.LimitTo(16)
	cmd.Limits.FileSize = sbx.LimitTo(0)
	cmd.Limits.Processes = sbx.LimitTo(1)

	fmt.Printf("$ %s\n", strings.Join(argv, " "))
	res, err := cmd.Run(ctx)
	var setup *sbx.SetupError
	switch {
	case errors.As(err, &setup):
		printResult(res, &stdout, &stderr)
		return false, err
	case err != nil && res == nil:
		return false, err
	}
	printResult(res, &stdout, &stderr)
	if err != nil {
		fmt.Printf("  error:       %v\n", err)
	}
	if e := res.Err(); e != nil {
		fmt.Printf("  as an error: %v\n", e)
	}
	fmt.Println()
	return res.Status == want && (want != sbx.StatusOK || res.Success()), nil
}

func printResult(res *sbx.Result, stdout, stderr *bytes.Buffer) {
	if stdout.Len() > 0 {
		fmt.Printf("  stdout:      %q\n", stdout.String())
	}
	if stderr.Len() > 0 {
		fmt.Printf("  stderr:      %q\n", stderr.String())
	}
	fmt.Printf("  status:      %v\n", res.Status)
	if res.Reason != "" {
		fmt.Printf("  reason:      %s (%d)\n", res.Reason, res.ReasonCode)
	}
	if res.Exited() {
		fmt.Printf("  exit code:   %d\n", res.ExitCode)
	}
	if res.Signal != 0 {
		fmt.Printf("  signal:      %v\n", res.Signal)
	}
	if v := res.Violation; v != nil {
		fmt.Printf("  violation:   %s (nr %d, pid %d)\n", v, v.Nr, v.Pid)
	}
	if res.Message != "" {
		fmt.Printf("  message:     %s\n", res.Message)
	}
	fmt.Printf("  description: %s\n", res.Description)
	fmt.Printf("  wall time:   %v, user %v, sys %v, max RSS %d KiB\n",
		res.WallTime.Round(time.Microsecond), res.Usage.UserTime, res.Usage.SystemTime, res.Usage.MaxRSS/1024)
}

func main() {
	timeout := flag.Duration("timeout", 5*time.Second, "wall-time limit for each run")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [-timeout D] [PROGRAM [ARGS...]]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()

	if err := sbx.CheckVersion(); err != nil {
		fmt.Fprintln(os.Stderr, "tightpolicy:", err)
		os.Exit(2)
	}
	fmt.Printf("libsbx %s\n\n", sbx.Version())

	type demo struct {
		argv []string
		want sbx.Status
	}
	demos := []demo{
		{[]string{"echo", "hello from a tight sandbox"}, sbx.StatusOK},
		{[]string{"id"}, sbx.StatusViolation},
	}
	if flag.NArg() > 0 {
		demos = []demo{{flag.Args(), sbx.StatusOK}}
	}

	status := 0
	for _, d := range demos {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		ok, err := run(ctx, d.argv, d.want)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "tightpolicy:", err)
			os.Exit(2)
		}
		if !ok {
			status = 1
		}
	}
	os.Exit(status)
}
