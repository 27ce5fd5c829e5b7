//! The registry behind every C handle: a slab of slots that are never freed, so any value a C
//! caller passes back (a live handle, a freed one, one of another type, garbage) is checked
//! before anything is dereferenced.
//!
//! A handle is not an address: it encodes `kind << 32 | generation << 20 | index`. The index
//! picks a slot (lock-free lookup in fixed chunks); the slot's state word holds the kind, the
//! generation, a live bit, an exclusive-borrow bit and the number of references (the owner's and
//! every call in progress). A freed slot keeps its generation until it is reused with the next
//! one, so a stale handle is refused until its slot has been reused 4096 times. Handle values
//! stay below 2^36, far from any address a Go heap uses (cgo's pointer checks never see them as
//! Go pointers).
//!
//! Why references are counted: `sbx_sandbox_free` on one thread while another is inside
//! `sbx_sandbox_wait` must not free the sandbox under the waiter. `free` only drops the owner's
//! reference; the value is dropped by whoever releases the last one.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

const INDEX_BITS: u32 = 20;
const GEN_BITS: u32 = 12;
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;
const CHUNKS: usize = 1 << (INDEX_BITS - CHUNK_BITS);
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;

// The state word: references in bits 0..32, then flags, generation and kind.
const REFS_MASK: u64 = 0xffff_ffff;
const LIVE: u64 = 1 << 32;
const EXCLUSIVE: u64 = 1 << 33;
const GEN_SHIFT: u32 = 40;
const KIND_SHIFT: u32 = 56;

/// Why a handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a handle this library gave out (garbage, or never allocated).
    Unknown,
    /// A handle of another type.
    WrongType(u8),
    /// Freed, or consumed by a call that took it over.
    Dead,
    /// In use by another thread in a way that excludes this use.
    Busy,
    /// Every slot is taken.
    Full,
}

struct Slot {
    state: AtomicU64,
    value: AtomicPtr<()>,
}

#[allow(clippy::declare_interior_mutable_const)] // an initialiser for the static array only
const NO_CHUNK: AtomicPtr<[Slot; CHUNK]> = AtomicPtr::new(std::ptr::null_mut());
static TABLE: [AtomicPtr<[Slot; CHUNK]>; CHUNKS] = [NO_CHUNK; CHUNKS];
/// Slots handed out so far (index 0 is never used: a handle is never 0).
static NEXT: AtomicU32 = AtomicU32::new(1);
static FREE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn slot(index: u32) -> Option<&'static Slot> {
    let i = index as usize;
    let chunk = TABLE.get(i >> CHUNK_BITS)?.load(Ordering::Acquire);
    // SAFETY: chunks are leaked boxes, published with Release after initialisation and never
    // freed; `i & (CHUNK - 1)` is in bounds.
    unsafe { chunk.as_ref() }.map(|c| &c[i & (CHUNK - 1)])
}

fn new_chunk() -> *mut [Slot; CHUNK] {
    let slots: Box<[Slot; CHUNK]> = Box::new(std::array::from_fn(|_| Slot {
        state: AtomicU64::new(0),
        value: AtomicPtr::new(std::ptr::null_mut()),
    }));
    Box::into_raw(slots)
}

fn encode(kind: u8, gen: u64, index: u32) -> u64 {
    (u64::from(kind) << 32) | ((gen & GEN_MASK) << INDEX_BITS) | u64::from(index)
}

/// The parts of a handle value: (kind, generation, index).
fn decode(handle: usize) -> Option<(u8, u64, u32)> {
    let h = handle as u64;
    let index = u32::try_from(h & INDEX_MASK).ok()?;
    let gen = (h >> INDEX_BITS) & GEN_MASK;
    let kind = u8::try_from(h >> 32).ok().filter(|k| (1..16).contains(k))?;
    (index != 0).then_some((kind, gen, index))
}

/// Registers `value` (a raw pointer the caller owns from now on through the slot) as a new live
/// handle of `kind`, with one reference: the owner's.
pub(crate) fn register(kind: u8, value: *mut ()) -> Result<usize, Refusal> {
    let index = {
        let mut free = FREE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = free.pop() {
            i
        } else {
            let i = NEXT.load(Ordering::Relaxed);
            if u64::from(i) > INDEX_MASK {
                return Err(Refusal::Full);
            }
            let c = &TABLE[(i as usize) >> CHUNK_BITS];
            if c.load(Ordering::Acquire).is_null() {
                c.store(new_chunk(), Ordering::Release);
            }
            NEXT.store(i + 1, Ordering::Relaxed);
            i
        }
    };
    let s = slot(index).ok_or(Refusal::Full)?;
    let gen = ((s.state.load(Ordering::Acquire) >> GEN_SHIFT) + 1) & GEN_MASK;
    s.value.store(value, Ordering::Relaxed);
    s.state.store(
        (u64::from(kind) << KIND_SHIFT) | (gen << GEN_SHIFT) | LIVE | 1,
        Ordering::Release,
    );
    usize::try_from(encode(kind, gen, index)).map_err(|_| Refusal::Full)
}

/// A checked slot of a live handle: what a lookup found.
pub(crate) struct Found {
    slot: &'static Slot,
    index: u32,
}

/// Finds the slot of `handle`, which must claim `handle_kind` and stand on a slot of one of
/// `slot_kinds` (a view handle names its own kind and stands on its parent's slot). Returns the
/// slot, its kind, and the identity bits its state word must keep.
fn find(handle: usize, handle_kind: u8, slot_kinds: &[u8]) -> Result<(Found, u8, u64), Refusal> {
    let (kind, gen, index) = decode(handle).ok_or(Refusal::Unknown)?;
    if kind != handle_kind {
        return Err(Refusal::WrongType(kind));
    }
    if index >= NEXT.load(Ordering::Acquire) {
        return Err(Refusal::Unknown);
    }
    let s = slot(index).ok_or(Refusal::Unknown)?;
    let w = s.state.load(Ordering::Acquire);
    let slot_kind = (w >> KIND_SHIFT) as u8;
    if (w >> GEN_SHIFT) & GEN_MASK != gen || w & LIVE == 0 {
        return Err(Refusal::Dead);
    }
    if !slot_kinds.contains(&slot_kind) {
        // The same bits name a live handle of another type: this one is gone.
        return Err(Refusal::Dead);
    }
    let expect = (u64::from(slot_kind) << KIND_SHIFT) | (gen << GEN_SHIFT);
    Ok((Found { slot: s, index }, slot_kind, expect))
}

/// The identity bits (kind and generation) of a state word.
fn identity(w: u64) -> u64 {
    w & !(REFS_MASK | LIVE | EXCLUSIVE)
}

/// Takes one more reference for a call: shared, or `exclusive` (no other call may be inside).
pub(crate) fn acquire(
    handle: usize,
    handle_kind: u8,
    slot_kinds: &[u8],
    exclusive: bool,
) -> Result<(Found, u8, *mut ()), Refusal> {
    let (found, slot_kind, expect) = find(handle, handle_kind, slot_kinds)?;
    let s = found.slot;
    let mut w = s.state.load(Ordering::Acquire);
    loop {
        if identity(w) != expect || w & LIVE == 0 {
            return Err(Refusal::Dead);
        }
        if w & EXCLUSIVE != 0 || (exclusive && w & REFS_MASK != 1) {
            return Err(Refusal::Busy);
        }
        if w & REFS_MASK == REFS_MASK {
            return Err(Refusal::Busy);
        }
        let new = (w + 1) | if exclusive { EXCLUSIVE } else { 0 };
        match s
            .state
            .compare_exchange_weak(w, new, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return Ok((found, slot_kind, s.value.load(Ordering::Acquire))),
            Err(cur) => w = cur,
        }
    }
}

/// Gives back a reference taken by [`acquire`]; when it was the last one of a dead handle, the
/// value comes back for the caller to drop, and the slot is reused.
pub(crate) fn release(found: &Found, exclusive: bool) -> Option<*mut ()> {
    let s = found.slot;
    let mut w = s.state.load(Ordering::Acquire);
    loop {
        let mut new = w - 1;
        if exclusive {
            new &= !EXCLUSIVE;
        }
        match s
            .state
            .compare_exchange_weak(w, new, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                if new & REFS_MASK != 0 || new & LIVE != 0 {
                    return None;
                }
                // Out of the slot before it can be reused.
                let value = s.value.swap(std::ptr::null_mut(), Ordering::AcqRel);
                FREE.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(found.index);
                return Some(value);
            }
            Err(cur) => w = cur,
        }
    }
}

/// Ends a live handle: `take` (consuming calls) requires that no call is inside and hands the
/// value back; otherwise (free) the owner's reference is dropped, and the value with it unless
/// a call is still inside (that call's release drops it). Returns the value to drop now, if any.
pub(crate) fn kill(handle: usize, kind: u8, take: bool) -> Result<Option<*mut ()>, Refusal> {
    let (found, _, expect) = find(handle, kind, &[kind])?;
    let s = found.slot;
    let mut w = s.state.load(Ordering::Acquire);
    loop {
        if identity(w) != expect || w & LIVE == 0 {
            return Err(Refusal::Dead);
        }
        if take && (w & REFS_MASK != 1 || w & EXCLUSIVE != 0) {
            return Err(Refusal::Busy);
        }
        let new = (w & !LIVE) - 1;
        match s
            .state
            .compare_exchange_weak(w, new, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                if new & REFS_MASK != 0 {
                    return Ok(None);
                }
                let value = s.value.swap(std::ptr::null_mut(), Ordering::AcqRel);
                FREE.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(found.index);
                return Ok(Some(value));
            }
            Err(cur) => w = cur,
        }
    }
}

/// The same slot as `handle` under another handle kind (a view of it).
pub(crate) fn rekind(handle: usize, kind: u8) -> usize {
    let h = handle as u64 & ((1 << 32) - 1);
    usize::try_from(h | (u64::from(kind) << 32)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_wrong_and_garbage_handles_are_refused() {
        let v = Box::into_raw(Box::new(7u32)).cast::<()>();
        let h = register(3, v).unwrap();
        assert!(h < 1 << 36);
        let (f, _, p) = acquire(h, 3, &[3], false).unwrap();
        assert_eq!(p, v);
        assert!(release(&f, false).is_none());
        assert_eq!(
            acquire(h, 4, &[4], false).err(),
            Some(Refusal::WrongType(3))
        );
        assert_eq!(
            acquire(0x1234_5678_9abc, 3, &[3], false).err(),
            Some(Refusal::Unknown)
        );
        // An exclusive borrow excludes others.
        let (f, _, _) = acquire(h, 3, &[3], true).unwrap();
        assert_eq!(acquire(h, 3, &[3], false).err(), Some(Refusal::Busy));
        assert!(release(&f, true).is_none());
        // Free while a call is inside: the call's release drops it.
        let (f, _, _) = acquire(h, 3, &[3], false).unwrap();
        assert_eq!(kill(h, 3, false), Ok(None));
        assert_eq!(acquire(h, 3, &[3], false).err(), Some(Refusal::Dead));
        assert_eq!(kill(h, 3, false), Err(Refusal::Dead));
        let last = release(&f, false).expect("the last reference");
        // SAFETY: the value registered above, released by its last reference.
        drop(unsafe { Box::from_raw(last.cast::<u32>()) });
        // The slot is reused under a new generation: the old handle stays refused.
        let h2 = register(3, std::ptr::null_mut()).unwrap();
        assert_ne!(h, h2);
        assert_eq!(acquire(h, 3, &[3], false).err(), Some(Refusal::Dead));
        assert_eq!(kill(h2, 3, true), Ok(Some(std::ptr::null_mut())));
    }
}
