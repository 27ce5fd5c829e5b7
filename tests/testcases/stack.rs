//! The stack trace tests' Rust sandboxee: `stack_levels.rs`'s forbidden call three frames deep.

include!("stack_levels.rs");

fn main() {
    let n = u32::try_from(std::env::args().count()).unwrap_or(0);
    std::process::exit(i32::from(stack_level1(n) == 12345));
}
