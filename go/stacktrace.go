package sbx

// #include <sbx.h>
import "C"

// StackTrace is the offending thread's stack at a violation (or, under the ptrace monitor, at
// an unhandled crash signal), or the main thread's just before a timeout's or a kill's
// SIGKILL, when the policy asked for it (PolicyBuilder.SetStackTraces).
type StackTrace struct {
	// Thread is the host thread id of the thread walked.
	Thread int
	// Frames are the frames, innermost (the call itself) first; at most 200, a recursion
	// folded into one frame with Repeats.
	Frames []StackFrame
	// Truncated is true when the walk stopped at its frame, step or time limit.
	Truncated bool
	// Error says why the walk stopped before the outermost frame or found no frame at all (a
	// limit, unreadable memory, no unwind information, "cannot attach to thread");
	// empty when it reached the end of the stack.
	Error string
}

// StackFrame is one frame of a StackTrace.
type StackFrame struct {
	// PC is the instruction pointer: the call's own for frame 0, the return address for the
	// others.
	PC uint64
	// Module is the mapped file the frame lies in, as /proc/PID/maps names it ("[vdso]"); empty
	// for anonymous memory.
	Module string
	// ModuleOffset is the frame's address in the module's own terms (what addr2line -e MODULE
	// takes; the file offset when the module could not be read): the call instruction for
	// frames past the first.
	ModuleOffset uint64
	// Symbol is the function, demangled (Rust, C++); empty without a symbol.
	Symbol string
	// SymbolOffset is PC's distance from the start of Symbol.
	SymbolOffset uint64
	// File and Line are the source position, where the module has DWARF line tables.
	File string
	Line int
	// Repeats is how many more times this same frame follows (recursion).
	Repeats int
	// FoundBy is "registers" (frame 0), "cfi" or "frame_pointer".
	FoundBy string
}

// SetStackTraces turns stack traces on or off: a violation's Result.StackTrace then holds the
// offending thread's frames (module, function, file:line where the program has debug info), a
// timeout's or a kill's the main thread's. MonitorAuto then picks ptrace, which sees crash
// signals too; under MonitorUnotify the monitor attaches on demand (no crash traces). Off by
// default; off, nothing changes.
func (b *PolicyBuilder) SetStackTraces(on bool) *PolicyBuilder {
	return b.call("sbx_policy_builder_set_stack_traces", func(p *C.sbx_policy_builder, cerr **C.sbx_error) C.sbx_status {
		return C.sbx_policy_builder_set_stack_traces(p, C.bool(on), cerr)
	})
}

// stackTrace copies a result's stack trace into Go memory; nil when it has none.
func stackTrace(r *C.sbx_result) *StackTrace {
	var thread C.int32_t
	if !C.sbx_result_stack_trace(r, &thread) {
		return nil
	}
	t := &StackTrace{
		Thread:    int(thread),
		Truncated: bool(C.sbx_result_stack_trace_truncated(r)),
		Error:     goStringOrEmpty(C.sbx_result_stack_trace_error(r)),
	}
	n := int(C.sbx_result_stack_frame_count(r))
	t.Frames = make([]StackFrame, 0, n)
	for i := 0; i < n; i++ {
		var f C.sbx_stack_frame
		if !C.sbx_result_stack_frame(r, C.size_t(i), &f) {
			continue
		}
		t.Frames = append(t.Frames, StackFrame{
			PC:           uint64(f.pc),
			Module:       goStringOrEmpty(f.module),
			ModuleOffset: uint64(f.module_offset),
			Symbol:       goStringOrEmpty(f.symbol),
			SymbolOffset: uint64(f.symbol_offset),
			File:         goStringOrEmpty(f.file),
			Line:         int(f.line),
			Repeats:      int(f.repeats),
			FoundBy:      goStringOrEmpty(f.found_by),
		})
	}
	return t
}
