package sbx

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
)

// helperEnv names the environment variable that makes the test binary run as a sandboxee
// (TestMain): its value is the helper's mode.
const helperEnv = "SBX_GO_TEST_HELPER"

// Helper modes.
const (
	// helperSelfSandbox: a sandbox-aware Go program started with SandboxAfterExec. It claims
	// its channel, reads the file mapped as "input", starts a thread, calls SandboxMeHere and
	// then serves the host's commands (see serveHelperCommands).
	helperSelfSandbox = "self-sandbox"
	// helperTrySandbox: like helperSelfSandbox, but with TrySandboxMeHere, reporting its
	// error over comms (a string, "" for none) instead of failing closed.
	helperTrySandbox = "try-sandbox"
	// helperBeforeExec: started with EnableComms under a policy applied before exec: claims
	// its channel and serves the host's commands.
	helperBeforeExec = "before-exec"
	// helperPolicyMessage: started with SandboxAfterExec, receives the first message (the
	// policy) itself instead of applying it, sends its tag (uint32) and payload (bytes) back
	// and exits.
	helperPolicyMessage = "policy-message"
)

// runHelper runs the test binary as a sandboxee; its result is the exit code.
func runHelper(mode string) int {
	c, err := ClientComms()
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: ClientComms:", err)
		return 10
	}
	// A thread that exists before the policy applies and is not the main one (whose tid is
	// the process's pid): TSYNC must confine it too. A goroutine that lands on the main
	// thread keeps it, locked and parked, so the next one gets another thread.
	lockedThread := make(chan func())
	for attempt := 0; ; attempt++ {
		if attempt == 10 {
			fmt.Fprintln(os.Stderr, "helper: cannot lock a goroutine onto a thread other than the main one")
			return 16
		}
		onOther := make(chan bool)
		go func() {
			runtime.LockOSThread() // never unlocked: this goroutine keeps its thread
			if syscall.Gettid() == syscall.Getpid() {
				onOther <- false
				select {}
			}
			onOther <- true
			for f := range lockedThread {
				f()
			}
		}()
		if <-onOther {
			break
		}
	}

	switch mode {
	case helperPolicyMessage:
		tag, data, err := c.RecvTLV()
		if err != nil || c.SendUint32(tag) != nil || c.SendBytes(data) != nil {
			return 17
		}
		return 0
	case helperSelfSandbox, helperTrySandbox:
		input := MappedFile("input")
		if input == nil {
			fmt.Fprintln(os.Stderr, "helper: no mapped file \"input\"")
			return 11
		}
		data, err := io.ReadAll(input)
		input.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper: reading input:", err)
			return 12
		}
		again := MappedFile("input") != nil // each name can be taken once
		if mode == helperSelfSandbox {
			SandboxMeHere(c)
		} else {
			msg := ""
			if err := TrySandboxMeHere(c); err != nil {
				msg = err.Error()
			}
			if c.SendString(msg) != nil || msg != "" {
				return 13
			}
		}
		if c.SendBytes(data) != nil || c.SendBool(again) != nil {
			return 14
		}
	case helperBeforeExec:
	default:
		fmt.Fprintln(os.Stderr, "helper: unknown mode", mode)
		return 15
	}
	return serveHelperCommands(c, lockedThread)
}

// serveHelperCommands answers commands (strings) from the host until "exit" or until the
// channel fails:
//
//	echo       receive bytes, send them back
//	creds      send this process's credentials
//	pipe       create a pipe, write "from the sandboxee" into it, send its read end
//	file       receive a file, send back what it holds
//	open       open /etc/hostname (a violation under the tests' policies)
//	thread-open  the same on a thread other than the main one, started before the policy
//	           applied
//	exit       exit with status 0
func serveHelperCommands(c *Comms, lockedThread chan<- func()) int {
	for {
		cmd, err := c.RecvString()
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper: receiving a command:", err)
			return 20
		}
		switch cmd {
		case "echo":
			b, err := c.RecvBytes()
			if err != nil || c.SendBytes(b) != nil {
				return 21
			}
		case "creds":
			if c.SendCreds() != nil {
				return 22
			}
		case "pipe":
			r, w, err := os.Pipe()
			if err != nil {
				fmt.Fprintln(os.Stderr, "helper: pipe:", err)
				return 23
			}
			_, err = w.WriteString("from the sandboxee")
			w.Close()
			if err != nil || c.SendFile(r) != nil {
				return 24
			}
			r.Close()
		case "file":
			f, err := c.RecvFile()
			if err != nil {
				return 25
			}
			b, err := io.ReadAll(f)
			f.Close()
			if err != nil || c.SendBytes(b) != nil {
				return 26
			}
		case "open":
			f, err := os.Open("/etc/hostname")
			if err == nil {
				f.Close()
			}
			if c.SendString(fmt.Sprint(err)) != nil {
				return 27
			}
		case "thread-open":
			done := make(chan error)
			lockedThread <- func() {
				_, err := os.Open("/etc/hostname")
				done <- err
			}
			if c.SendString(fmt.Sprint(<-done)) != nil {
				return 28
			}
		case "exit":
			return 0
		default:
			fmt.Fprintln(os.Stderr, "helper: unknown command", cmd)
			return 29
		}
	}
}
