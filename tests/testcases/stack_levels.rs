// The three levels of the stack trace tests' Rust sandboxees (included by stack.rs and by
// tests/stacktrace.rs): a forbidden call (getppid, through std) three frames deep, in functions
// that are never inlined.

#[inline(never)]
fn stack_level3(x: u32) -> u32 {
    std::hint::black_box(std::os::unix::process::parent_id()).wrapping_add(x)
}

#[inline(never)]
fn stack_level2(x: u32) -> u32 {
    std::hint::black_box(stack_level3(x + 1)).wrapping_mul(3)
}

#[inline(never)]
fn stack_level1(x: u32) -> u32 {
    std::hint::black_box(stack_level2(x + 2)).wrapping_sub(7)
}
