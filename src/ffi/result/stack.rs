//! A violation's (or crash's) stack trace (`sbx_stack_frame`), when the policy asked for one
//! (`sbx_policy_builder_set_stack_traces`).

use super::{cstring, sbx_result};
use crate::ffi::handle::{cstr_ptr, ref_from_ptr, static_cstr, write_out};
use crate::ffi::panic::boundary;
use crate::StackTrace;
use std::ffi::{c_char, CString};

/// One frame of a violation's stack trace (`sbx_result_stack_frame`), innermost first. The
/// strings belong to the result; a string that is not known is NULL.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sbx_stack_frame {
    /// The instruction pointer: the call's own for frame 0, the return address for the others.
    pub pc: u64,
    /// The mapped file the frame lies in, as /proc/PID/maps names it (`"[vdso]"`); NULL for
    /// anonymous memory.
    pub module: *const c_char,
    /// The frame's address in the module's own terms (what `addr2line -e MODULE` takes; the
    /// file offset when the module could not be read): the call instruction for frames past
    /// the first (the return address minus one).
    pub module_offset: u64,
    /// The function, demangled (Rust, C++); NULL without a symbol.
    pub symbol: *const c_char,
    /// `pc`'s distance from the start of `symbol`.
    pub symbol_offset: u64,
    /// The source file, where the module has DWARF line tables; NULL otherwise.
    pub file: *const c_char,
    /// The source line with `file` (0 when unknown).
    pub line: u32,
    /// How many more times this same frame follows (a recursion folded into one frame).
    pub repeats: u32,
    /// `"registers"` (frame 0), `"cfi"` or `"frame_pointer"`: how the frame was found.
    pub found_by: *const c_char,
}

/// A trace with its strings as C strings: per frame module, symbol, file.
pub(crate) struct StackHandle {
    trace: StackTrace,
    strings: Vec<[Option<CString>; 3]>,
    error: Option<CString>,
}

impl StackHandle {
    pub(crate) fn new(trace: StackTrace) -> StackHandle {
        let c = |s: &Option<String>| s.as_deref().map(cstring);
        StackHandle {
            strings: trace
                .frames
                .iter()
                .map(|f| [c(&f.module), c(&f.symbol), c(&f.file)])
                .collect(),
            error: c(&trace.error),
            trace,
        }
    }
}

fn opt_ptr(s: Option<&CString>) -> *const c_char {
    s.map_or(std::ptr::null(), |s| cstr_ptr(s))
}

/// `f` of the result's stack trace; `none` without one and for NULL.
fn with_stack<T>(result: *const sbx_result, none: T, f: impl FnOnce(&StackHandle) -> T) -> T {
    match ref_from_ptr(result) {
        Some(h) => h.stack.as_ref().map_or(none, f),
        None => none,
    }
}

impl sbx_result {
    /// Returns whether the result has a stack trace (a violation, under the ptrace monitor a
    /// crash signal the program did not handle, a timeout or a kill (`sbx_sandbox_kill`: the
    /// main thread's), under a policy with stack traces on) and writes the host thread id it
    /// is of to `*thread_out` (which may be NULL).
    /// False for NULL and for any other run.
    #[no_mangle]
    pub extern "C" fn sbx_result_stack_trace(
        result: *const sbx_result,
        thread_out: *mut i32,
    ) -> bool {
        boundary(|| {
            with_stack(result, false, |s| {
                write_out(thread_out, s.trace.thread);
                true
            })
        })
    }

    /// Returns how many frames the stack trace has (at most 200; 0 without a trace, when the
    /// trace could not be taken, and for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_stack_frame_count(result: *const sbx_result) -> usize {
        boundary(|| with_stack(result, 0, |s| s.trace.frames.len()))
    }

    /// Reads frame `index` (0 the innermost) into `*frame_out`, whose strings belong to
    /// `result`. Returns false, writing nothing, when an argument is NULL or `index` is out of
    /// range.
    #[no_mangle]
    pub extern "C" fn sbx_result_stack_frame(
        result: *const sbx_result,
        index: usize,
        frame_out: *mut sbx_stack_frame,
    ) -> bool {
        boundary(|| with_stack(result, false, |s| frame(s, index, frame_out)))
    }

    /// Returns why the stack trace stopped before the outermost frame or has no frame at all
    /// (a limit, unreadable memory, no unwind information, "cannot attach to thread"),
    /// owned by `result`; NULL when it reached the end of the stack, without a trace and for
    /// NULL.
    #[no_mangle]
    pub extern "C" fn sbx_result_stack_trace_error(result: *const sbx_result) -> *const c_char {
        boundary(|| with_stack(result, std::ptr::null(), |s| opt_ptr(s.error.as_ref())))
    }

    /// Returns whether the stack trace stopped at its frame, step or time limit (false without
    /// a trace and for NULL).
    #[no_mangle]
    pub extern "C" fn sbx_result_stack_trace_truncated(result: *const sbx_result) -> bool {
        boundary(|| with_stack(result, false, |s| s.trace.truncated))
    }
}

/// `sbx_result_stack_frame` of a trace.
fn frame(s: &StackHandle, index: usize, frame_out: *mut sbx_stack_frame) -> bool {
    let (Some(f), Some([module, symbol, file])) = (s.trace.frames.get(index), s.strings.get(index))
    else {
        return false;
    };
    if frame_out.is_null() {
        return false;
    }
    write_out(
        frame_out,
        sbx_stack_frame {
            pc: f.pc,
            module: opt_ptr(module.as_ref()),
            module_offset: f.module_offset,
            symbol: opt_ptr(symbol.as_ref()),
            symbol_offset: f.symbol_offset,
            file: opt_ptr(file.as_ref()),
            line: f.line.unwrap_or(0),
            repeats: f.repeats,
            found_by: match f.found_by {
                "registers" => static_cstr("registers\0"),
                "cfi" => static_cstr("cfi\0"),
                _ => static_cstr("frame_pointer\0"),
            },
        },
    );
    true
}
