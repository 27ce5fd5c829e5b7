//! The ELF reader (`mounts::elf::parse`) on hostile files: the program a user asks to run may
//! be anything, and its headers decide which libraries get bound into the sandbox.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sbx::mounts::elf::parse(data);
});
