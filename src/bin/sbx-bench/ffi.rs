//! (g) The cost of the C ABI's handle check (registry lookup and reference) per call.

use crate::stats::{median, progress, Table};
use std::time::Instant;

/// (g) A C ABI call that checks a handle (a registry lookup, a reference taken and given back)
/// against one that takes no handle; both cross the same panic boundary.
#[allow(clippy::many_single_char_names)] // t: the table; the others: short-lived locals of the measuring loops
pub(crate) fn section_g(t: &mut Table) {
    use sbx::ffi::policy::sbx_policy;
    use sbx::ffi::policy_builder::sbx_policy_builder;
    progress("(g) C ABI handle checks");
    t.section(
        "(g) C ABI call cost (ns/call, median of 5 x 1M)",
        "  ns/call",
    );
    let mut policy: *const sbx_policy = std::ptr::null();
    let b = sbx_policy_builder::sbx_policy_builder_new();
    if sbx_policy_builder::sbx_policy_builder_build(b, &mut policy, std::ptr::null_mut())
        != sbx::ffi::status::sbx_status::Ok
    {
        t.note("building a policy through the C ABI failed; section skipped");
        return;
    }
    let time = |f: &dyn Fn() -> bool| {
        let mut v = Vec::new();
        for _ in 0..5 {
            let n = 1_000_000u32;
            let t0 = Instant::now();
            let mut k = 0u32;
            for _ in 0..n {
                k += u32::from(std::hint::black_box(f()));
            }
            std::hint::black_box(k);
            v.push(t0.elapsed().as_nanos() as f64 / f64::from(n));
        }
        median(v)
    };
    let bare = time(&|| !sbx::ffi::error::sbx_status_message(std::hint::black_box(0)).is_null());
    let checked = time(&|| sbx_policy::sbx_policy_allows_exec(std::hint::black_box(policy)));
    t.row("sbx_status_message (no handle)", &format!("{bare:>9.1}"));
    t.row(
        "sbx_policy_allows_exec (checked handle)",
        &format!("{checked:>9.1}"),
    );
    t.note(&format!(
        "the handle check costs ~{:.1} ns per call",
        checked - bare
    ));
    sbx_policy::sbx_policy_free(policy);
}
