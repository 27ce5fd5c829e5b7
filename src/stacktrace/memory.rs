//! The sandboxee's memory, read a page at a time through `process_vm_readv` and kept for the
//! rest of the trace (an unwind reads a few words per frame, mostly from the same pages).

use super::limits;
use crate::sys::remote::read_memory;
use std::collections::HashMap;

const PAGE: u64 = 4096;
const PAGE_BYTES: usize = 4096;

/// A stopped task's memory.
pub(super) struct Memory {
    tid: libc::pid_t,
    /// Page address -> its bytes, or `None` when it could not be read.
    pages: HashMap<u64, Option<Box<[u8]>>>,
}

impl Memory {
    pub(super) fn new(tid: libc::pid_t) -> Memory {
        Memory {
            tid,
            pages: HashMap::new(),
        }
    }

    fn page(&mut self, page: u64) -> Option<&[u8]> {
        if !self.pages.contains_key(&page) {
            if self.pages.len() >= limits::MAX_PAGES {
                return None;
            }
            let bytes = read_memory(self.tid, page, PAGE_BYTES)
                .ok()
                .map(Vec::into_boxed_slice);
            self.pages.insert(page, bytes);
        }
        self.pages.get(&page)?.as_deref()
    }

    /// The little-endian 64-bit word at `addr` (both architectures we unwind are little-endian).
    pub(super) fn read_u64(&mut self, addr: u64) -> Option<u64> {
        let mut word = [0u8; 8];
        for (i, b) in word.iter_mut().enumerate() {
            let a = addr.checked_add(i as u64)?;
            let page = a & !(PAGE - 1);
            let at = usize::try_from(a - page).ok()?;
            *b = *self.page(page)?.get(at)?;
        }
        Some(u64::from_le_bytes(word))
    }

    /// Whether the page limit was what refused a read.
    pub(super) fn exhausted(&self) -> bool {
        self.pages.len() >= limits::MAX_PAGES
    }
}
