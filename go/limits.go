package sbx

// #include <stdlib.h>
// #include <sbx.h>
import "C"

import (
	"math"
	"strconv"
	"time"
	"unsafe"
)

// Limit is the setting of one resource limit. The zero Limit keeps libsbx's default; use
// LimitTo for a value and Unlimited to remove the limit.
type Limit struct {
	set       bool
	unlimited bool
	value     uint64
}

// LimitTo returns a Limit of v (bytes, seconds or a count, as the field says). Zero is a value
// like any other: LimitTo(0) for FileSize forbids writing files.
func LimitTo(v uint64) Limit { return Limit{set: true, value: v} }

// Unlimited removes a limit (RLIM_INFINITY).
var Unlimited = Limit{set: true, unlimited: true}

// IsDefault reports whether the Limit keeps libsbx's default (the zero Limit).
func (l Limit) IsDefault() bool { return !l.set }

// String returns "default", "unlimited" or the value.
func (l Limit) String() string {
	switch {
	case !l.set:
		return "default"
	case l.unlimited:
		return "unlimited"
	}
	return strconv.FormatUint(l.value, 10)
}

// NoWallTime, as Limits.WallTime, disables the wall-time limit (a context deadline still
// applies).
const NoWallTime time.Duration = -1

// Limits are the sandboxee's resource limits. The zero value keeps sandbox2's defaults, noted
// on each field. A limit above the host's own hard limit is lowered to it.
type Limits struct {
	// AddressSpace is RLIMIT_AS in bytes (default unlimited).
	AddressSpace Limit
	// CPUTime is RLIMIT_CPU in seconds (default 1024).
	CPUTime Limit
	// FileSize is RLIMIT_FSIZE, the largest file the sandboxee may write, in bytes (default
	// 8 GiB).
	FileSize Limit
	// OpenFiles is RLIMIT_NOFILE (default 1024; at least 3).
	OpenFiles Limit
	// Processes caps the processes and threads alive in the sandbox at once: RLIMIT_NPROC,
	// also enforced by the monitor (default unlimited; at least 1).
	Processes Limit
	// Core is RLIMIT_CORE in bytes (default 0: no core dumps).
	Core Limit
	// Memory caps the memory of the whole sandbox in bytes, swap included, as a cgroup of its
	// own (default none; at least 1 MiB). Beyond it the kernel's OOM killer ends a process and
	// Result.LimitReached says "memory". The cgroup limits need root or a delegated cgroup;
	// without one Start fails with ErrNotSupported naming what to delegate.
	Memory Limit
	// Pids caps the processes and threads alive in the whole sandbox at once, as a cgroup
	// (default none); forks beyond fail with EAGAIN.
	Pids Limit
	// CPUMillicores caps the CPU share of the whole sandbox in thousandths of a CPU (500: half
	// of one; 10 to 4096000), as a cgroup CFS quota (default none).
	CPUMillicores Limit
	// WallTime is the wall-time limit, enforced by the monitor; the run then ends with
	// StatusTimeout. Zero keeps the default (120 s); NoWallTime (any negative value) disables
	// it. A context deadline passed to Start or Run lowers it to the time left.
	WallTime time.Duration
}

// DefaultMemoryCeiling is the memory ceiling sbx-run applies when no memory limit is asked
// for: a quarter of the memory this process may use (the host's RAM, or its own cgroup's
// limit when lower), at least 256 MiB. ok is false where this process cannot make a memory
// cgroup. Set Limits.Memory to it to protect the host the same way: a Cmd has no memory limit
// unless asked.
func DefaultMemoryCeiling() (bytes uint64, ok bool) {
	var b C.uint64_t
	if !C.sbx_default_memory_ceiling(&b) {
		return 0, false
	}
	return uint64(b), true
}

// rlimits lists the Limit fields (rlimits and cgroup limits) with their C identifiers.
func (l *Limits) rlimits() []struct {
	id    C.uint32_t
	limit *Limit
} {
	return []struct {
		id    C.uint32_t
		limit *Limit
	}{
		{C.SBX_LIMIT_ADDRESS_SPACE, &l.AddressSpace},
		{C.SBX_LIMIT_CPU_SECONDS, &l.CPUTime},
		{C.SBX_LIMIT_FILE_SIZE, &l.FileSize},
		{C.SBX_LIMIT_OPEN_FILES, &l.OpenFiles},
		{C.SBX_LIMIT_PROCESSES, &l.Processes},
		{C.SBX_LIMIT_CORE, &l.Core},
		{C.SBX_LIMIT_CGROUP_MEMORY, &l.Memory},
		{C.SBX_LIMIT_CGROUP_PIDS, &l.Pids},
		{C.SBX_LIMIT_CGROUP_CPU_MILLICORES, &l.CPUMillicores},
	}
}

// wallTimeMillis converts a positive duration to whole milliseconds, rounding up so a
// sub-millisecond limit does not become 0 (which would disable it).
func wallTimeMillis(d time.Duration) int64 {
	if d <= 0 {
		return 1
	}
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	if ms <= 0 {
		ms = math.MaxInt64
	}
	return ms
}

// LoadPolicy sets l from a policy file's [limits] table (walltime, the rlimits, memory, pids,
// cpus; keys the table leaves out take their defaults), as sbx-run --policy applies them; origin
// names the file in errors. found is false, and l unchanged, when the file has no [limits]
// table. The whole file is checked: a bad file is an error and changes nothing.
func (l *Limits) LoadPolicy(text, origin string) (found bool, err error) {
	const op = "sbx_executor_load_limits"
	ct, err := cString(op, "text", text)
	if err != nil {
		return false, err
	}
	defer C.free(unsafe.Pointer(ct))
	co, err := cString(op, "origin", origin)
	if err != nil {
		return false, err
	}
	defer C.free(unsafe.Pointer(co))
	return l.loadInto(op, func(e *C.sbx_executor, f *C.bool, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_executor_load_limits(e, ct, co, f, cerr)
	})
}

// LoadPolicyFile is LoadPolicy with the file at path (errors name it).
func (l *Limits) LoadPolicyFile(path string) (found bool, err error) {
	const op = "sbx_executor_load_limits_file"
	cp, err := cString(op, "path", path)
	if err != nil {
		return false, err
	}
	defer C.free(unsafe.Pointer(cp))
	return l.loadInto(op, func(e *C.sbx_executor, f *C.bool, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_executor_load_limits_file(e, cp, f, cerr)
	})
}

// loadInto loads a file's limits into a scratch C executor, then reads every limit back.
func (l *Limits) loadInto(op string, load func(e *C.sbx_executor, f *C.bool, cerr **C.sbx_error) C.sbx_status) (bool, error) {
	if err := CheckVersion(); err != nil {
		return false, err
	}
	root, err := cString("sbx_executor_new", "path", "/")
	if err != nil {
		return false, err
	}
	defer C.free(unsafe.Pointer(root))
	e := &executor{}
	var cerr *C.sbx_error
	if err := statusError("sbx_executor_new", C.sbx_executor_new(root, &e.p, &cerr), cerr); err != nil {
		return false, err
	}
	defer e.free()
	var found C.bool
	if err := e.call(op, func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
		return load(p, &found, cerr)
	}); err != nil || !bool(found) {
		return false, err
	}
	get := func(id C.uint32_t) (Limit, error) {
		var limited C.bool
		var v C.uint64_t
		err := e.call("sbx_executor_get_limit", func(p *C.sbx_executor, cerr **C.sbx_error) C.sbx_status {
			return C.sbx_executor_get_limit(p, id, &limited, &v, cerr)
		})
		switch {
		case err != nil:
			return Limit{}, err
		case !bool(limited):
			return Unlimited, nil
		}
		return LimitTo(uint64(v)), nil
	}
	var out Limits
	for _, f := range out.rlimits() {
		v, err := get(f.id)
		if err != nil {
			return false, err
		}
		*f.limit = v
	}
	wall, err := get(C.SBX_LIMIT_WALL_TIME_MS)
	if err != nil {
		return false, err
	}
	if wall.unlimited {
		out.WallTime = NoWallTime
	} else {
		out.WallTime = time.Duration(wall.value) * time.Millisecond
	}
	*l = out
	return true, nil
}
