package sbx

/*
#include <stdlib.h>
#include <sbx.h>
*/
import "C"

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// Comms is one end of a comms channel: a unix stream socket carrying typed messages between
// the host and a sandboxee, wire-compatible with sandbox2's Comms (a header {uint32 tag;
// uint64 length} in native byte order, then the payload; descriptors and credentials travel
// as ancillary data). The same type serves both sides:
//
//   - the host gets its end from Cmd.TakeComms after starting a Cmd with EnableComms or
//     SandboxAfterExec;
//   - the sandboxee gets its end from ClientComms;
//   - CommsPair makes a connected pair in one process, FileComms wraps a socket.
//
// Every value is sent as one message, and the peer must receive it with the matching method:
// SendInt32 with RecvInt32, SendBytes with RecvBytes, SendCustom(tag) with RecvCustom(tag),
// and so on. A message of another type fails the receive with ErrCommsTagMismatch and is
// consumed; the channel stays usable. Receives are defensive against a hostile peer: a length
// above MaxMessageSize is refused before anything is allocated, and descriptors that arrive
// where none were asked for are closed.
//
// Errors are *Error values with CodeComms; errors.Is matches them against ErrComms and the
// sentinel of their CommsCode (ErrCommsClosed when the peer is gone, ...). Failures that
// leave the stream out of step terminate the channel (Terminated reports it).
//
// A Comms may be used from several goroutines, but its calls are serialised: a receive that
// blocks holds up every other call (Close included) until a message arrives, the peer goes
// away or the timeout set with SetTimeout expires. Close it when done; a finalizer does it
// otherwise, but the garbage collector does not see the socket. Closing it makes the peer's
// receives fail with ErrCommsClosed.
type Comms struct {
	mu   sync.Mutex
	_ptr *C.sbx_comms
}

func newComms(p *C.sbx_comms) *Comms {
	c := &Comms{_ptr: p}
	runtime.SetFinalizer(c, (*Comms).Close)
	return c
}

// CommsPair returns a connected pair of channel ends in this process (a unix socketpair with
// SO_PASSCRED on both ends, so each can receive credentials): what one sends, the other
// receives. Mostly for tests, and for handing one end to a sandboxee with SendFile or
// ExtraFiles.
func CommsPair() (*Comms, *Comms, error) {
	if err := CheckVersion(); err != nil {
		return nil, nil, err
	}
	var a, b *C.sbx_comms
	var cerr *C.sbx_error
	st := C.sbx_comms_pair(&a, &b, &cerr)
	if err := statusError("sbx_comms_pair", st, cerr); err != nil {
		return nil, nil, err
	}
	return newComms(a), newComms(b), nil
}

// FileComms returns a channel end on a copy of f, which must be a connected unix stream
// socket. As with net.FileConn, the caller keeps f and closes it when done (the peer sees
// the end of the stream only once both are closed). Socket options are left alone: call
// SetPassCreds(true) if this end must receive credentials.
func FileComms(f *os.File) (*Comms, error) {
	if err := CheckVersion(); err != nil {
		return nil, err
	}
	var out *C.sbx_comms
	var cerr *C.sbx_error
	st := C.sbx_comms_from_fd(fileFd(f), &out, &cerr)
	runtime.KeepAlive(f)
	if err := statusError("sbx_comms_from_fd", st, cerr); err != nil {
		return nil, err
	}
	return newComms(out), nil
}

// ptr returns the C handle; the caller holds c.mu. It panics after Close (callers check
// _ptr first and return an error instead).
func (c *Comms) ptr() *C.sbx_comms {
	maybeGC()
	if c._ptr == nil {
		panic("sbx: Comms used after Close")
	}
	return c._ptr
}

// closedError is what a call on a closed Comms returns.
func closedError(op string) error {
	return &Error{Code: CodeComms, CommsCode: CommsClosed, Op: op, Message: "the Comms was closed"}
}

// call runs one fallible C function with the channel locked.
func (c *Comms) call(op string, f func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c._ptr == nil {
		return closedError(op)
	}
	var cerr *C.sbx_error
	st := f(c.ptr(), &cerr)
	runtime.KeepAlive(c)
	return statusError(op, st, cerr)
}

// Close closes the channel (the peer sees the end of the stream) and frees it. It is
// idempotent and always returns nil; it waits for a call in progress on another goroutine.
// Later calls fail with ErrCommsClosed.
func (c *Comms) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c._ptr == nil {
		return nil
	}
	runtime.SetFinalizer(c, nil)
	C.sbx_comms_free(c._ptr)
	c._ptr = nil
	return nil
}

// Terminate closes the channel's socket but keeps the Comms: every later call fails with
// ErrCommsClosed and the peer sees the end of the stream. Close must still be called.
func (c *Comms) Terminate() error {
	return c.call("sbx_comms_terminate", func(p *C.sbx_comms, _ **C.sbx_error) C.sbx_status {
		return C.sbx_comms_terminate(p)
	})
}

// Terminated reports whether the channel was terminated, by Terminate, Close, or a failure
// that left the stream out of step (a truncated message, an oversized one, a reset).
func (c *Comms) Terminated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c._ptr == nil {
		return true
	}
	t := bool(C.sbx_comms_is_terminated(c.ptr()))
	runtime.KeepAlive(c)
	return t
}

// Fd returns the socket's descriptor number, to poll for input between calls, or -1 once
// the channel is terminated or closed. It stays owned by the Comms: do not close it, read
// from it or write to it.
func (c *Comms) Fd() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c._ptr == nil {
		return -1
	}
	fd := int(C.sbx_comms_fd(c.ptr()))
	runtime.KeepAlive(c)
	return fd
}

// SetMaxMessageSize sets the largest payload this end accepts (default 64 MiB; at most the
// wire format's 2^31-1 bytes). A longer incoming message fails with ErrCommsTooLarge, before
// anything is allocated, and terminates the channel. Sends are not limited by it.
func (c *Comms) SetMaxMessageSize(n uint64) error {
	return c.call("sbx_comms_set_max_message_size", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_set_max_message_size(p, C.uint64_t(n), cerr)
	})
}

// MaxMessageSize returns the largest payload this end accepts (0 once closed).
func (c *Comms) MaxMessageSize() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c._ptr == nil {
		return 0
	}
	n := uint64(C.sbx_comms_max_message_size(c.ptr()))
	runtime.KeepAlive(c)
	return n
}

// SetTimeout bounds each later blocking send and receive to d (rounded up to milliseconds);
// 0, the default, blocks for ever. An expired timeout fails the call with ErrCommsTimeout;
// the channel stays usable if no byte of the message had moved yet, else it is terminated.
// A negative d fails with ErrInvalidArgument.
func (c *Comms) SetTimeout(d time.Duration) error {
	const op = "sbx_comms_set_timeout_ms"
	if d < 0 {
		return &Error{Code: CodeInvalidArgument, Op: op, Message: "negative timeout " + d.String()}
	}
	ms := uint64((d + time.Millisecond - 1) / time.Millisecond)
	if d > 0 && ms == 0 {
		ms = 1
	}
	return c.call(op, func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_set_timeout_ms(p, C.uint64_t(ms), cerr)
	})
}

// SetPassCreds turns SO_PASSCRED on or off for this end; RecvCreds needs it on (CommsPair
// and the channels of Cmd and ClientComms have it on).
func (c *Comms) SetPassCreds(on bool) error {
	return c.call("sbx_comms_set_pass_creds", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_set_pass_creds(p, C.bool(on), cerr)
	})
}

// Creds are process credentials as the kernel reports them (struct ucred), translated into
// the receiver's pid and user namespaces.
type Creds struct {
	// Pid is the process id; 0 when the sender is not visible in the receiver's pid
	// namespace (a host looking at its sandboxee sees its host pid; a sandboxee looking at
	// its host sees 0).
	Pid int
	// Uid is the user id (the overflow uid, 65534, when it is not mapped).
	Uid uint32
	// Gid is the group id (the overflow gid when it is not mapped).
	Gid uint32
}

func goCreds(c C.sbx_creds) Creds {
	return Creds{Pid: int(c.pid), Uid: uint32(c.uid), Gid: uint32(c.gid)}
}

// PeerCreds returns the credentials of the process that created the peer's socket
// (SO_PEERCRED); for a sandboxee's channel that is the host process.
func (c *Comms) PeerCreds() (Creds, error) {
	var cr C.sbx_creds
	err := c.call("sbx_comms_peer_creds", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_peer_creds(p, &cr, cerr)
	})
	return goCreds(cr), err
}

// bytesPtr returns b's first byte for C, or NULL for an empty b. b is Go memory without Go
// pointers, which C reads only during the call.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// takeBytes copies a buffer libsbx allocated into Go memory and frees it. The result is
// never nil.
func takeBytes(data *C.uint8_t, n C.size_t) []byte {
	defer C.sbx_bytes_free(data)
	out := make([]byte, int(n))
	if n > 0 {
		copy(out, unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n)))
	}
	return out
}

// SendTLV sends one message with any tag, libsbx's and sandbox2's own included, and data as
// its payload: the raw wire format, for talking to peers with protocols of their own. Use
// SendCustom for messages of your own.
func (c *Comms) SendTLV(tag uint32, data []byte) error {
	return c.call("sbx_comms_send_tlv", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_tlv(p, C.uint32_t(tag), bytesPtr(data), C.size_t(len(data)), cerr)
	})
}

// RecvTLV receives the next message whatever its tag, and returns the tag and the payload.
// Descriptors that came with it are closed.
func (c *Comms) RecvTLV() (tag uint32, data []byte, err error) {
	var t C.uint32_t
	var p *C.uint8_t
	var n C.size_t
	err = c.call("sbx_comms_recv_tlv", func(cp *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_tlv(cp, &t, &p, &n, cerr)
	})
	if err != nil {
		return 0, nil, err
	}
	return uint32(t), takeBytes(p, n), nil
}

// MaxCustomTag is the largest tag SendCustom and RecvCustom accept; higher tags are reserved
// for libsbx's and sandbox2's own messages.
const MaxCustomTag = 0x7fffffff

// SendCustom sends a message of the program's own: tag (at most MaxCustomTag, else
// ErrCommsBadCustomTag) and data as its payload. The peer receives it with RecvCustom(tag).
func (c *Comms) SendCustom(tag uint32, data []byte) error {
	return c.call("sbx_comms_send_custom", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_custom(p, C.uint32_t(tag), bytesPtr(data), C.size_t(len(data)), cerr)
	})
}

// RecvCustom receives a message of the program's own that must carry tag (at most
// MaxCustomTag) and returns its payload. Another tag fails with ErrCommsTagMismatch (the
// message is consumed).
func (c *Comms) RecvCustom(tag uint32) ([]byte, error) {
	var p *C.uint8_t
	var n C.size_t
	err := c.call("sbx_comms_recv_custom", func(cp *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_custom(cp, C.uint32_t(tag), &p, &n, cerr)
	})
	if err != nil {
		return nil, err
	}
	return takeBytes(p, n), nil
}

// SendBool sends a bool.
func (c *Comms) SendBool(v bool) error {
	return c.call("sbx_comms_send_bool", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_bool(p, C.bool(v), cerr)
	})
}

// RecvBool receives a bool.
func (c *Comms) RecvBool() (bool, error) {
	var v C.bool
	err := c.call("sbx_comms_recv_bool", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_bool(p, &v, cerr)
	})
	return bool(v), err
}

// SendInt8 sends an int8.
func (c *Comms) SendInt8(v int8) error {
	return c.call("sbx_comms_send_int8", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_int8(p, C.int8_t(v), cerr)
	})
}

// RecvInt8 receives an int8.
func (c *Comms) RecvInt8() (int8, error) {
	var v C.int8_t
	err := c.call("sbx_comms_recv_int8", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_int8(p, &v, cerr)
	})
	return int8(v), err
}

// SendUint8 sends a uint8.
func (c *Comms) SendUint8(v uint8) error {
	return c.call("sbx_comms_send_uint8", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_uint8(p, C.uint8_t(v), cerr)
	})
}

// RecvUint8 receives a uint8.
func (c *Comms) RecvUint8() (uint8, error) {
	var v C.uint8_t
	err := c.call("sbx_comms_recv_uint8", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_uint8(p, &v, cerr)
	})
	return uint8(v), err
}

// SendInt16 sends an int16.
func (c *Comms) SendInt16(v int16) error {
	return c.call("sbx_comms_send_int16", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_int16(p, C.int16_t(v), cerr)
	})
}

// RecvInt16 receives an int16.
func (c *Comms) RecvInt16() (int16, error) {
	var v C.int16_t
	err := c.call("sbx_comms_recv_int16", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_int16(p, &v, cerr)
	})
	return int16(v), err
}

// SendUint16 sends a uint16.
func (c *Comms) SendUint16(v uint16) error {
	return c.call("sbx_comms_send_uint16", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_uint16(p, C.uint16_t(v), cerr)
	})
}

// RecvUint16 receives a uint16.
func (c *Comms) RecvUint16() (uint16, error) {
	var v C.uint16_t
	err := c.call("sbx_comms_recv_uint16", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_uint16(p, &v, cerr)
	})
	return uint16(v), err
}

// SendInt32 sends an int32.
func (c *Comms) SendInt32(v int32) error {
	return c.call("sbx_comms_send_int32", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_int32(p, C.int32_t(v), cerr)
	})
}

// RecvInt32 receives an int32.
func (c *Comms) RecvInt32() (int32, error) {
	var v C.int32_t
	err := c.call("sbx_comms_recv_int32", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_int32(p, &v, cerr)
	})
	return int32(v), err
}

// SendUint32 sends a uint32.
func (c *Comms) SendUint32(v uint32) error {
	return c.call("sbx_comms_send_uint32", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_uint32(p, C.uint32_t(v), cerr)
	})
}

// RecvUint32 receives a uint32.
func (c *Comms) RecvUint32() (uint32, error) {
	var v C.uint32_t
	err := c.call("sbx_comms_recv_uint32", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_uint32(p, &v, cerr)
	})
	return uint32(v), err
}

// SendInt64 sends an int64.
func (c *Comms) SendInt64(v int64) error {
	return c.call("sbx_comms_send_int64", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_int64(p, C.int64_t(v), cerr)
	})
}

// RecvInt64 receives an int64.
func (c *Comms) RecvInt64() (int64, error) {
	var v C.int64_t
	err := c.call("sbx_comms_recv_int64", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_int64(p, &v, cerr)
	})
	return int64(v), err
}

// SendUint64 sends a uint64.
func (c *Comms) SendUint64(v uint64) error {
	return c.call("sbx_comms_send_uint64", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_uint64(p, C.uint64_t(v), cerr)
	})
}

// RecvUint64 receives a uint64.
func (c *Comms) RecvUint64() (uint64, error) {
	var v C.uint64_t
	err := c.call("sbx_comms_recv_uint64", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_uint64(p, &v, cerr)
	})
	return uint64(v), err
}

// SendString sends s, which must be valid UTF-8 without NUL bytes (else ErrInvalidArgument,
// and nothing is sent); use SendBytes for other data.
func (c *Comms) SendString(s string) error {
	const op = "sbx_comms_send_string"
	cs, err := cString(op, "string", s)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return c.call(op, func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_string(p, cs, cerr)
	})
}

// RecvString receives a string. One that is not valid UTF-8 fails with
// ErrCommsInvalidValue (the message is consumed).
func (c *Comms) RecvString() (string, error) {
	var s *C.char
	var n C.size_t
	err := c.call("sbx_comms_recv_string", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_string(p, &s, &n, cerr)
	})
	if err != nil {
		return "", err
	}
	defer C.sbx_string_free(s)
	return string(unsafe.Slice((*byte)(unsafe.Pointer(s)), int(n))), nil
}

// SendBytes sends data as a byte array (empty is fine).
func (c *Comms) SendBytes(data []byte) error {
	return c.call("sbx_comms_send_bytes", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_bytes(p, bytesPtr(data), C.size_t(len(data)), cerr)
	})
}

// RecvBytes receives a byte array; the result is never nil on success, also when empty.
func (c *Comms) RecvBytes() ([]byte, error) {
	var p *C.uint8_t
	var n C.size_t
	err := c.call("sbx_comms_recv_bytes", func(cp *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_bytes(cp, &p, &n, cerr)
	})
	if err != nil {
		return nil, err
	}
	return takeBytes(p, n), nil
}

// SendBarrier sends a barrier, an empty message the peer waits for with RecvBarrier.
func (c *Comms) SendBarrier() error {
	return c.call("sbx_comms_send_barrier", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_barrier(p, cerr)
	})
}

// RecvBarrier waits for a barrier from the peer.
func (c *Comms) RecvBarrier() error {
	return c.call("sbx_comms_recv_barrier", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_barrier(p, cerr)
	})
}

// SendFile sends a copy of f's descriptor (SCM_RIGHTS): a file, a pipe end, a socket, a
// memfd. The caller keeps f and closes it when done. A nil or closed f fails with
// ErrInvalidArgument.
func (c *Comms) SendFile(f *os.File) error {
	fd := fileFd(f)
	err := c.call("sbx_comms_send_fd", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_fd(p, fd, cerr)
	})
	runtime.KeepAlive(f)
	return err
}

// RecvFile receives a descriptor the peer sent with SendFile (or sbx_comms_send_fd) as an
// *os.File, which the caller closes; it is close-on-exec. A message with no descriptor or
// several fails with ErrCommsFdCount, and whatever it carried is closed.
func (c *Comms) RecvFile() (*os.File, error) {
	var fd C.int32_t
	err := c.call("sbx_comms_recv_fd", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_fd(p, &fd, cerr)
	})
	if err != nil {
		return nil, err
	}
	if fd < 0 || int64(fd) > math.MaxInt32 {
		return nil, &Error{Code: CodeComms, CommsCode: CommsFdCount, Op: "sbx_comms_recv_fd", Message: "no descriptor received"}
	}
	return os.NewFile(uintptr(fd), "sbx-comms-fd-"+strconv.Itoa(int(fd))), nil
}

// SendCreds sends this process's credentials (pid, uid, gid); the kernel checks them and
// translates them into the receiver's namespaces.
func (c *Comms) SendCreds() error {
	return c.call("sbx_comms_send_creds", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_send_creds(p, cerr)
	})
}

// RecvCreds receives the peer's credentials, as the kernel attached them. This end needs
// SO_PASSCRED (see SetPassCreds), else it fails with ErrCommsNoCredentials.
func (c *Comms) RecvCreds() (Creds, error) {
	var cr C.sbx_creds
	err := c.call("sbx_comms_recv_creds", func(p *C.sbx_comms, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_comms_recv_creds(p, &cr, cerr)
	})
	if err != nil {
		return Creds{}, err
	}
	return goCreds(cr), nil
}
