package sbx

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pair returns a connected CommsPair, closed when the test ends.
func pair(t *testing.T) (*Comms, *Comms) {
	t.Helper()
	a, b, err := CommsPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// must fails the test on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestCommsRoundTripEveryType(t *testing.T) {
	a, b := pair(t)
	check := func(what string, sent, got any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if sent != got {
			t.Fatalf("%s: sent %v, received %v", what, sent, got)
		}
	}
	for _, v := range []bool{true, false} {
		must(t, "SendBool", a.SendBool(v))
		got, err := b.RecvBool()
		check("bool", v, got, err)
	}
	for _, v := range []int8{math.MinInt8, -1, 0, math.MaxInt8} {
		must(t, "SendInt8", a.SendInt8(v))
		got, err := b.RecvInt8()
		check("int8", v, got, err)
	}
	for _, v := range []uint8{0, 1, math.MaxUint8} {
		must(t, "SendUint8", a.SendUint8(v))
		got, err := b.RecvUint8()
		check("uint8", v, got, err)
	}
	for _, v := range []int16{math.MinInt16, -1, math.MaxInt16} {
		must(t, "SendInt16", a.SendInt16(v))
		got, err := b.RecvInt16()
		check("int16", v, got, err)
	}
	for _, v := range []uint16{0, math.MaxUint16} {
		must(t, "SendUint16", a.SendUint16(v))
		got, err := b.RecvUint16()
		check("uint16", v, got, err)
	}
	for _, v := range []int32{math.MinInt32, -1, math.MaxInt32} {
		must(t, "SendInt32", a.SendInt32(v))
		got, err := b.RecvInt32()
		check("int32", v, got, err)
	}
	for _, v := range []uint32{0, 0xcbf43926, math.MaxUint32} {
		must(t, "SendUint32", a.SendUint32(v))
		got, err := b.RecvUint32()
		check("uint32", v, got, err)
	}
	for _, v := range []int64{math.MinInt64, -1, math.MaxInt64} {
		must(t, "SendInt64", a.SendInt64(v))
		got, err := b.RecvInt64()
		check("int64", v, got, err)
	}
	for _, v := range []uint64{0, math.MaxUint64} {
		must(t, "SendUint64", a.SendUint64(v))
		got, err := b.RecvUint64()
		check("uint64", v, got, err)
	}
	for _, v := range []string{"", "hello", "héllo wörld ✓", strings.Repeat("x", 1<<16)} {
		must(t, "SendString", a.SendString(v))
		got, err := b.RecvString()
		check("string", v, got, err)
	}
	for _, v := range [][]byte{{}, {0}, []byte("with\x00nul"), bytes.Repeat([]byte{0xab}, 1<<20)} {
		// 1 MiB is more than the socket buffer: send while the peer receives.
		errc := make(chan error, 1)
		go func() { errc <- a.SendBytes(v) }()
		got, err := b.RecvBytes()
		must(t, "SendBytes", <-errc)
		if err != nil || got == nil || !bytes.Equal(got, v) {
			t.Fatalf("bytes of %d: received %d bytes, %v", len(v), len(got), err)
		}
	}
	must(t, "SendBarrier", a.SendBarrier())
	must(t, "RecvBarrier", b.RecvBarrier())

	must(t, "SendCustom", a.SendCustom(42, []byte("payload")))
	got, err := b.RecvCustom(42)
	check("custom", "payload", string(got), err)
	must(t, "SendCustom empty", a.SendCustom(MaxCustomTag, nil))
	got, err = b.RecvCustom(MaxCustomTag)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty custom: %v %v", got, err)
	}

	// Raw messages: any tag, libsbx's own range included; RecvTLV takes any message.
	must(t, "SendTLV", a.SendTLV(0x80000123, []byte{1, 2, 3}))
	tag, data, err := b.RecvTLV()
	if err != nil || tag != 0x80000123 || !bytes.Equal(data, []byte{1, 2, 3}) {
		t.Fatalf("RecvTLV: %#x %v %v", tag, data, err)
	}
	must(t, "SendUint32", a.SendUint32(7))
	tag, data, err = b.RecvTLV() // a typed message is a TLV too
	if err != nil || tag == 0 || len(data) != 4 {
		t.Fatalf("RecvTLV of a uint32: %#x %v %v", tag, data, err)
	}

	// Both directions.
	must(t, "SendString back", b.SendString("pong"))
	s, err := a.RecvString()
	check("string back", "pong", s, err)
}

func TestCommsFilePassing(t *testing.T) {
	a, b := pair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	must(t, "SendFile", a.SendFile(w))
	w.Close() // the peer holds its own copy now
	wb, err := b.RecvFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wb.WriteString("through a passed descriptor"); err != nil {
		t.Fatal(err)
	}
	wb.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "through a passed descriptor" {
		t.Fatalf("read %q %v", got, err)
	}

	// Received descriptors are close-on-exec.
	must(t, "SendFile", a.SendFile(r))
	rb, err := b.RecvFile()
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	if flags, err := fcntl(int(rb.Fd()), syscall.F_GETFD); err != nil || flags&syscall.FD_CLOEXEC == 0 {
		t.Errorf("received descriptor flags %d, %v: want FD_CLOEXEC", flags, err)
	}

	// A nil or closed file is rejected before anything is sent.
	closed, _ := os.Open(os.DevNull)
	closed.Close()
	for _, f := range []*os.File{nil, closed} {
		if err := a.SendFile(f); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("SendFile(%v): %v", f, err)
		}
	}
	// A message without a descriptor where one is expected: consumed, channel usable.
	must(t, "SendInt32", a.SendInt32(1))
	if _, err := b.RecvFile(); !errors.Is(err, ErrComms) {
		t.Errorf("RecvFile of an int32: %v", err)
	}
	must(t, "SendBool", a.SendBool(true))
	if v, err := b.RecvBool(); err != nil || !v {
		t.Fatalf("channel unusable after a refused descriptor message: %v %v", v, err)
	}
}

func fcntl(fd, cmd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func TestCommsCreds(t *testing.T) {
	a, b := pair(t)
	want := Creds{Pid: os.Getpid(), Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
	must(t, "SendCreds", a.SendCreds())
	got, err := b.RecvCreds()
	if err != nil || got != want {
		t.Fatalf("RecvCreds = %+v, %v; want %+v", got, err, want)
	}
	peer, err := b.PeerCreds()
	if err != nil || peer != want {
		t.Fatalf("PeerCreds = %+v, %v; want %+v", peer, err, want)
	}
	// Without SO_PASSCRED on the receiving end there are no credentials; consumed.
	must(t, "SetPassCreds", b.SetPassCreds(false))
	must(t, "SendCreds", a.SendCreds())
	if _, err := b.RecvCreds(); !errors.Is(err, ErrCommsNoCredentials) {
		t.Fatalf("RecvCreds without SO_PASSCRED: %v", err)
	}
	must(t, "SetPassCreds", b.SetPassCreds(true))
	must(t, "SendCreds", a.SendCreds())
	if _, err := b.RecvCreds(); err != nil {
		t.Fatal(err)
	}
}

// A message of another type fails the receive with ErrCommsTagMismatch, is consumed, and
// leaves the channel usable; the error is an *Error with CodeComms and the CommsCode.
func TestCommsTagMismatch(t *testing.T) {
	a, b := pair(t)
	must(t, "SendInt32", a.SendInt32(5))
	_, err := b.RecvString()
	var e *Error
	if !errors.Is(err, ErrCommsTagMismatch) || !errors.Is(err, ErrComms) || !errors.As(err, &e) {
		t.Fatalf("RecvString of an int32: %v", err)
	}
	if e.Code != CodeComms || e.CommsCode != CommsTagMismatch || e.Op != "sbx_comms_recv_string" || e.Message == "" {
		t.Fatalf("error %#v", e)
	}
	if errors.Is(err, ErrCommsClosed) || errors.Is(err, ErrInvalidArgument) {
		t.Error("a tag mismatch matches other sentinels")
	}
	if !errors.Is(err, &Error{Code: CodeComms, CommsCode: CommsTagMismatch}) || errors.Is(err, &Error{Code: CodeComms, CommsCode: CommsClosed}) {
		t.Error("matching against an *Error should compare the CommsCode")
	}
	if b.Terminated() {
		t.Fatal("a tag mismatch terminated the channel")
	}
	must(t, "SendCustom", a.SendCustom(7, []byte("x")))
	if _, err := b.RecvCustom(8); !errors.Is(err, ErrCommsTagMismatch) {
		t.Fatalf("RecvCustom(8) of tag 7: %v", err)
	}
	must(t, "SendUint64", a.SendUint64(9))
	if v, err := b.RecvUint64(); err != nil || v != 9 {
		t.Fatalf("after mismatches: %v %v", v, err)
	}
}

func TestCommsBadValues(t *testing.T) {
	a, b := pair(t)
	for _, tag := range []uint32{MaxCustomTag + 1, math.MaxUint32} {
		if err := a.SendCustom(tag, nil); !errors.Is(err, ErrCommsBadCustomTag) {
			t.Errorf("SendCustom(%#x): %v", tag, err)
		}
		if _, err := b.RecvCustom(tag); !errors.Is(err, ErrCommsBadCustomTag) {
			t.Errorf("RecvCustom(%#x): %v", tag, err)
		}
	}
	for _, s := range []string{"nul\x00inside", "\xff not utf-8"} {
		if err := a.SendString(s); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("SendString(%q): %v", s, err)
		}
	}
	if err := a.SetTimeout(-time.Second); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("SetTimeout(-1s): %v", err)
	}
	// A bool byte other than 0 or 1, sent raw with the tag a bool travels with.
	must(t, "SendBool", a.SendBool(true))
	tag, _, err := b.RecvTLV()
	must(t, "RecvTLV", err)
	must(t, "SendTLV", a.SendTLV(tag, []byte{2}))
	if _, err := b.RecvBool(); !errors.Is(err, ErrCommsInvalidValue) {
		t.Errorf("RecvBool of 2: %v", err)
	}
	must(t, "SendTLV", a.SendTLV(tag, []byte{1, 0}))
	if _, err := b.RecvBool(); !errors.Is(err, ErrCommsBadLength) {
		t.Errorf("RecvBool of 2 bytes: %v", err)
	}
	if b.Terminated() {
		t.Fatal("bad values terminated the channel")
	}
}

func TestCommsClosedPeer(t *testing.T) {
	a, b := pair(t)
	must(t, "SendInt32", a.SendInt32(1))
	a.Close()
	// What was sent before the close still arrives, then the end of the stream.
	if v, err := b.RecvInt32(); err != nil || v != 1 {
		t.Fatalf("RecvInt32 = %v, %v", v, err)
	}
	_, err := b.RecvInt32()
	var e *Error
	if !errors.Is(err, ErrCommsClosed) || !errors.As(err, &e) || e.CommsCode != CommsClosed {
		t.Fatalf("receive from a closed peer: %v", err)
	}
	if !b.Terminated() {
		t.Error("the channel is not terminated after the peer left")
	}
	if err := b.SendInt32(2); !errors.Is(err, ErrCommsClosed) {
		t.Errorf("send after termination: %v", err)
	}
}

// Close is idempotent; later calls fail with ErrCommsClosed instead of panicking.
func TestCommsUseAfterClose(t *testing.T) {
	a, b := pair(t)
	must(t, "Close", a.Close())
	must(t, "Close again", a.Close())
	if err := a.SendBool(true); !errors.Is(err, ErrCommsClosed) {
		t.Errorf("SendBool after Close: %v", err)
	}
	if _, err := a.RecvBytes(); !errors.Is(err, ErrCommsClosed) {
		t.Errorf("RecvBytes after Close: %v", err)
	}
	if !a.Terminated() || a.Fd() != -1 || a.MaxMessageSize() != 0 {
		t.Errorf("after Close: Terminated %v Fd %d MaxMessageSize %d", a.Terminated(), a.Fd(), a.MaxMessageSize())
	}
	if err := TrySandboxMeHere(a); !errors.Is(err, ErrCommsClosed) {
		t.Errorf("TrySandboxMeHere with a closed Comms: %v", err)
	}
	if _, err := b.RecvBool(); !errors.Is(err, ErrCommsClosed) {
		t.Errorf("the peer of a closed Comms: %v", err)
	}
}

func TestCommsTerminate(t *testing.T) {
	a, b := pair(t)
	if a.Fd() < 0 || a.Terminated() {
		t.Fatalf("fresh channel: Fd %d, Terminated %v", a.Fd(), a.Terminated())
	}
	must(t, "Terminate", a.Terminate())
	if !a.Terminated() || a.Fd() != -1 {
		t.Errorf("after Terminate: Terminated %v, Fd %d", a.Terminated(), a.Fd())
	}
	if err := a.SendBool(true); !errors.Is(err, ErrCommsClosed) {
		t.Errorf("send after Terminate: %v", err)
	}
	if _, err := b.RecvBool(); !errors.Is(err, ErrCommsClosed) {
		t.Errorf("the peer after Terminate: %v", err)
	}
}

func TestCommsTimeout(t *testing.T) {
	_, b := pair(t)
	must(t, "SetTimeout", b.SetTimeout(50*time.Millisecond))
	start := time.Now()
	_, err := b.RecvInt32()
	if !errors.Is(err, ErrCommsTimeout) {
		t.Fatalf("RecvInt32 with nothing to receive: %v", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 10*time.Second {
		t.Errorf("timed out after %v", d)
	}
	if b.Terminated() {
		t.Error("a timeout before any byte terminated the channel")
	}
	must(t, "SetTimeout 0", b.SetTimeout(0))
}

// An announced length above the receiver's maximum is refused before allocating, and
// terminates the channel.
func TestCommsMaxMessageSize(t *testing.T) {
	a, b := pair(t)
	if b.MaxMessageSize() == 0 {
		t.Fatal("no default maximum")
	}
	must(t, "SetMaxMessageSize", b.SetMaxMessageSize(16))
	if b.MaxMessageSize() != 16 {
		t.Fatalf("MaxMessageSize = %d", b.MaxMessageSize())
	}
	must(t, "SendBytes", a.SendBytes(make([]byte, 16)))
	if got, err := b.RecvBytes(); err != nil || len(got) != 16 {
		t.Fatalf("16 bytes: %v", err)
	}
	must(t, "SendBytes", a.SendBytes(make([]byte, 17)))
	if _, err := b.RecvBytes(); !errors.Is(err, ErrCommsTooLarge) {
		t.Fatalf("17 bytes: %v", err)
	}
	if !b.Terminated() {
		t.Error("an oversized message did not terminate the channel")
	}
}

func TestFileComms(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fa, fb := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	a, err := FileComms(fa)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := FileComms(fb)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fa.Close() // FileComms made its own copies
	fb.Close()
	must(t, "SendString", a.SendString("over a wrapped socket"))
	if s, err := b.RecvString(); err != nil || s != "over a wrapped socket" {
		t.Fatalf("%q %v", s, err)
	}
	// No file, or a closed one: no channel.
	if _, err := FileComms(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("FileComms(nil): %v", err)
	}
	if _, err := FileComms(fa); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("FileComms of a closed file: %v", err)
	}
}

// Calls from several goroutines on one end are serialised by the Comms, so the C object is
// never used concurrently (the race detector cannot see C memory; this test shows there is
// no crash and no lost or mixed message).
func TestCommsConcurrentUse(t *testing.T) {
	a, b := pair(t)
	const senders, each = 8, 200
	var wg sync.WaitGroup
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if err := a.SendUint64(uint64(i)<<32 | uint64(j)); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	next := make([]uint64, senders)
	for n := 0; n < senders*each; n++ {
		v, err := b.RecvUint64()
		if err != nil {
			t.Fatal(err)
		}
		i, j := v>>32, v&0xffffffff
		if i >= senders || j != next[i] {
			t.Fatalf("message %#x out of order (want %d from sender %d)", v, next[i%senders], i)
		}
		next[i]++
	}
	wg.Wait()
}

// A Comms dropped without Close is closed by its finalizer: the peer sees the end.
func TestCommsFinalizer(t *testing.T) {
	a, b, err := CommsPair()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	must(t, "SendInt32", a.SendInt32(3))
	a = nil // dropped unclosed
	runtime.GC()
	must(t, "SetTimeout", b.SetTimeout(10*time.Second))
	if v, err := b.RecvInt32(); err != nil || v != 3 {
		t.Fatalf("RecvInt32 = %v, %v", v, err)
	}
	for i := 0; ; i++ {
		_, err := b.RecvInt32()
		if errors.Is(err, ErrCommsClosed) {
			break
		}
		if !errors.Is(err, ErrCommsTimeout) || i == 5 {
			t.Fatalf("the dropped peer was not closed: %v", err)
		}
		runtime.GC()
	}
}
