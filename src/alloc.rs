//! The process allocator: the system allocator, with large blocks backed by
//! transparent huge pages on Linux.
//!
//! A study touches tens of MiB of fresh memory (the decoded image, the mask,
//! crops). With 4 KiB pages that is ~10⁴ page faults, a large part of a
//! one-study run; asking for huge pages (`MADV_HUGEPAGE`, honoured when the
//! system's THP mode is `madvise` or `always`) turns each 2 MiB span into one
//! fault. Small blocks are untouched.

use std::alloc::{GlobalAlloc, Layout, System};

pub struct Allocator;

/// Blocks at least this large get the huge-page advice.
const HUGE_MIN: usize = HUGE_PAGE;
const HUGE_PAGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
fn advise(ptr: *mut u8, size: usize) {
    // Only whole, aligned 2 MiB spans inside the block can be huge pages.
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize + size) & !(HUGE_PAGE - 1);
    if end > start {
        // SAFETY: the range lies inside a block we own; madvise only
        // changes how its pages are backed and never fails destructively
        // (an error just leaves normal pages).
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_: *mut u8, _: usize) {}

// SAFETY: every call is forwarded to `System`; `advise` does not touch the
// memory's contents.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if layout.size() >= HUGE_MIN && !p.is_null() {
            advise(p, layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if layout.size() >= HUGE_MIN && !p.is_null() {
            advise(p, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if new_size >= HUGE_MIN && !p.is_null() {
            advise(p, new_size);
        }
        p
    }
}
