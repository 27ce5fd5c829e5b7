// Command crc4 is the Go version of the crc4 example (after sandbox2's): a host runs a
// sandbox-aware Go program under a tight policy, sends it buffers over comms and prints the
// CRC-32 it returns. Then it sends a buffer far larger than the sandboxee's fixed 64-byte
// scratch buffer, which makes the sandboxee crash on a deliberate memory bug; only the
// sandboxee crashes: the host reads the Result, prints it, and goes on.
//
// One binary plays both roles. Run normally it is the host; the host runs the same binary
// with -sandboxee inside the sandbox, with Cmd.SandboxAfterExec set, so the sandboxee starts
// under libsbx's mandatory rules only. It claims its comms channel, reads the file the host
// mapped under the name "input", prepares its scratch buffer, and then calls
// sbx.SandboxMeHere: from there on every thread of it runs under the host's policy (the Go
// runtime's needs, comms, nothing else; no file can be opened).
//
// Protocol, after the sandboxee's first message (the CRC-32 of its mapped input, a uint32),
// repeated: the host sends a byte array; an empty one ends the sandboxee; otherwise it
// answers with the CRC-32 (IEEE, as hash/crc32) as a uint32.
//
// Usage:
//
//	crc4 [-no-crash]
//
// -no-crash ends the sandboxee with an empty buffer instead (the run is then OK with exit
// code 0). The exit status is 0 when everything went as expected, 1 otherwise.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"sbx"
)

func main() {
	sandboxee := flag.Bool("sandboxee", false, "run as the sandboxee (the host starts it so, in the sandbox)")
	noCrash := flag.Bool("no-crash", false, "end the sandboxee normally instead of crashing it")
	flag.Parse()
	if *sandboxee {
		os.Exit(runSandboxee())
	}
	if err := runHost(!*noCrash); err != nil {
		fmt.Println("crc4:", err)
		fmt.Println("crc4: UNEXPECTED")
		os.Exit(1)
	}
	fmt.Println("crc4: as expected")
}

// --- The host --------------------------------------------------------------------------------

// runHost runs the sandboxee and checks every answer.
func runHost(crash bool) error {
	fmt.Println("crc4: libsbx", sbx.Version())
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return err
	}

	// The sandboxee links libsbx.so (unless built with -tags sbxstatic). Built against the
	// build tree it finds it through its rpath; against an installed libsbx that the loader
	// does not know, through LD_LIBRARY_PATH, which the sandboxee then needs as well.
	var libDirs, env []string
	if v := os.Getenv("LD_LIBRARY_PATH"); v != "" {
		for _, d := range filepath.SplitList(v) {
			if filepath.IsAbs(d) {
				libDirs = append(libDirs, d)
			}
		}
		env = append(env, "LD_LIBRARY_PATH="+strings.Join(libDirs, ":"))
	}

	// What the sandboxee does after SandboxMeHere: the Go runtime, comms. Its files are the
	// binary and the libraries it loads, nothing else.
	policy, err := sbx.NewPolicyBuilder().
		AllowGoRuntime().
		AllowSyscall("sendmsg", "recvmsg").
		AddLibrariesForBinary(exe, libDirs...).
		Build()
	if err != nil {
		return err
	}
	defer policy.Close()

	// The sandboxee's input, mapped into it by name; it reads it before SandboxMeHere.
	input, err := os.CreateTemp("", "crc4-input-")
	if err != nil {
		return err
	}
	defer os.Remove(input.Name())
	defer input.Close()
	const inputText = "123456789"
	if _, err := input.WriteString(inputText); err != nil {
		return err
	}
	if _, err := input.Seek(0, io.SeekStart); err != nil {
		return err
	}

	var stderr bytes.Buffer
	cmd := sbx.Command(exe, "-sandboxee")
	cmd.Env = env
	cmd.Policy = policy
	cmd.SandboxAfterExec = true // the sandboxee calls sbx.SandboxMeHere itself
	cmd.NamedFiles = map[string]*os.File{"input": input}
	cmd.Stderr = &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cmd.Start(ctx); err != nil {
		return err
	}
	defer cmd.Close()
	comms, err := cmd.TakeComms()
	if err != nil {
		return err
	}
	defer comms.Close()

	ok := true
	check := func(label string, data []byte, got uint32) {
		want := crc32.ChecksumIEEE(data)
		verdict := "correct"
		if got != want {
			verdict = fmt.Sprintf("WRONG, want %08x", want)
			ok = false
		}
		fmt.Printf("crc4: CRC-32(%s) = %08x (%s)\n", label, got, verdict)
	}
	ask := func(label string, data []byte) error {
		if err := comms.SendBytes(data); err != nil {
			return err
		}
		got, err := comms.RecvUint32()
		if err != nil {
			return err
		}
		check(label, data, got)
		return nil
	}

	got, err := comms.RecvUint32()
	if err != nil {
		return fmt.Errorf("the sandboxee's first answer: %w (its stderr: %q)", err, stderr.String())
	}
	check(fmt.Sprintf("mapped input %q", inputText), []byte(inputText), got)
	for _, s := range []string{inputText, "The quick brown fox jumps over the lazy dog"} {
		if err := ask(fmt.Sprintf("%q", s), []byte(s)); err != nil {
			return err
		}
	}
	if err := ask("64 bytes of 'x'", bytes.Repeat([]byte{'x'}, 64)); err != nil {
		return err
	}

	if crash {
		big := bytes.Repeat([]byte{'A'}, 1<<20)
		fmt.Printf("crc4: sending %d bytes to the sandboxee's 64-byte buffer\n", len(big))
		err := comms.SendBytes(big)
		if err == nil {
			var answer uint32
			if answer, err = comms.RecvUint32(); err == nil {
				return fmt.Errorf("UNEXPECTED answer %08x", answer)
			}
		}
		fmt.Println("crc4: no answer:", err)
		if !errors.Is(err, sbx.ErrCommsClosed) {
			ok = false
		}
	} else if err := comms.SendBytes(nil); err != nil {
		return err
	}

	res, err := cmd.Wait()
	if err != nil {
		return err
	}
	for _, line := range firstLines(stderr.String(), 2) {
		fmt.Println("crc4: sandboxee stderr:", line)
	}
	fmt.Println("crc4: result:", res)
	if crash {
		// The Go runtime turns the fault into a fatal error: "unexpected fault address",
		// exit status 2 (with GOTRACEBACK=crash it dies of SIGABRT instead).
		crashed := res.Status == sbx.StatusSignaled || (res.Status == sbx.StatusOK && res.ExitCode == 2)
		if !crashed {
			ok = false
		}
		fmt.Println("crc4: the sandboxee crashed; the host is still running")
		fmt.Printf("crc4: host check: CRC-32(%q) = %08x\n", inputText, crc32.ChecksumIEEE([]byte(inputText)))
	} else if !res.Success() {
		ok = false
	}
	if !ok {
		return errors.New("a result was not as expected")
	}
	return nil
}

func firstLines(s string, n int) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}

// --- The sandboxee ---------------------------------------------------------------------------

// runSandboxee is the program inside the sandbox; its result is the exit code (2 is what the
// Go runtime exits with when it crashes, so other failures use other codes).
func runSandboxee() int {
	// Still unconfined here, but for libsbx's mandatory rules: the place to open files, load
	// data and allocate.
	comms, err := sbx.ClientComms()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crc4 sandboxee:", err)
		return 3
	}
	in := sbx.MappedFile("input")
	if in == nil {
		fmt.Fprintln(os.Stderr, "crc4 sandboxee: no file mapped as \"input\"")
		return 3
	}
	input, err := io.ReadAll(in)
	in.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crc4 sandboxee: reading the input:", err)
		return 3
	}
	scratch, err := newScratch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crc4 sandboxee: scratch buffer:", err)
		return 3
	}

	// From here on the host's policy holds for every thread (or the process has exited).
	sbx.SandboxMeHere(comms)

	if err := comms.SendUint32(crc32.ChecksumIEEE(input)); err != nil {
		return 4
	}
	for {
		data, err := comms.RecvBytes()
		if err != nil {
			return 4
		}
		if len(data) == 0 {
			return 0
		}
		if err := comms.SendUint32(checksum(scratch, data)); err != nil {
			return 4
		}
	}
}

// newScratch returns the 64-byte scratch buffer checksum works in. It ends exactly where a
// page ends, and the next page is made inaccessible (a guard page, as hardened allocators
// place them), so a write past its end faults at once rather than silently corrupting
// memory of the Go runtime, which is what an unchecked write in Go usually does.
func newScratch() ([]byte, error) {
	page := os.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, err
	}
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		return nil, err
	}
	return mem[page-64 : page : page], nil
}

// checksum returns the CRC-32 of data, computed in the scratch buffer.
func checksum(scratch, data []byte) uint32 {
	// BUG (deliberate): the copy goes through a raw pointer, and nothing checks that data
	// fits into the 64 bytes of scratch. Longer input runs into the guard page: SIGSEGV.
	dst := unsafe.Pointer(unsafe.SliceData(scratch))
	for i, b := range data {
		*(*byte)(unsafe.Add(dst, i)) = b
	}
	return crc32.ChecksumIEEE(unsafe.Slice((*byte)(dst), len(data)))
}
