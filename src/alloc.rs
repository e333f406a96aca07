//! The process allocator: the system allocator for ordinary blocks; on
//! Linux, large blocks are mapped directly, aligned to 2 MiB and backed by
//! transparent huge pages.
//!
//! A study touches tens of MiB of fresh memory (the decoded image, the mask,
//! crops). With 4 KiB pages each MiB costs 256 page faults and zeroings, a
//! large part of a one-study run (on the 2-core CI machine kind, 10 MiB took
//! 3.2 ms in 4 KiB pages and 0.5 ms in huge pages). The system allocator
//! maps large blocks at arbitrary 4 KiB boundaries, so at most their aligned
//! interior could use huge pages; mapping them here, whole huge pages from
//! the first byte, gives every 2 MiB span one fault. Huge pages are a
//! request (`MADV_HUGEPAGE`, honoured when the system's THP mode is
//! `madvise` or `always`); without them the blocks are ordinary pages.
//!
//! Released large blocks are kept (up to 16 blocks, 64 MiB) and handed out
//! again for a block of the same mapped length (cleared in place when it
//! must be zeroed): the same sizes recur for every derived image of a
//! study, and a kept block costs neither page faults nor the kernel's
//! clearing of fresh pages (the larger part of a filter pass otherwise).

use std::alloc::{GlobalAlloc, Layout, System};

pub struct Allocator;

/// Blocks at least this large are mapped directly (Linux).
const LARGE: usize = 1 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// True when a block of `layout` is one of ours (mapped here).
#[inline]
fn is_large(layout: &Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= LARGE && layout.align() <= HUGE_PAGE
}

#[cfg(target_os = "linux")]
mod large {
    use super::HUGE_PAGE;

    /// Mapped length of a block of `size` bytes: whole huge pages.
    pub fn mapped_len(size: usize) -> usize {
        size.next_multiple_of(HUGE_PAGE)
    }

    /// Map `size` bytes (zeroed) at a 2 MiB boundary; null on failure.
    pub unsafe fn map(size: usize) -> *mut u8 {
        let len = mapped_len(size);
        let Some(span) = len.checked_add(HUGE_PAGE) else {
            return std::ptr::null_mut();
        };
        // SAFETY: an anonymous private mapping of `span` bytes; the parts
        // outside the aligned `len` bytes are unmapped again right away.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                span,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return std::ptr::null_mut();
            }
            let start = p as usize;
            let aligned = start.next_multiple_of(HUGE_PAGE);
            if aligned > start {
                libc::munmap(p, aligned - start);
            }
            let tail = aligned + len;
            if start + span > tail {
                libc::munmap(tail as *mut libc::c_void, start + span - tail);
            }
            // Advice only: an error leaves ordinary pages.
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            aligned as *mut u8
        }
    }

    /// Unmap a block returned by [`map`] for `size` bytes.
    pub unsafe fn unmap(ptr: *mut u8, size: usize) {
        // SAFETY: `ptr` and the length are those of a mapping made by `map`.
        unsafe {
            libc::munmap(ptr as *mut libc::c_void, mapped_len(size));
        }
    }

    /// Released blocks kept for reuse, by mapped length (at most
    /// [`CACHE_BLOCKS`] blocks, [`CACHE_BYTES`] in all), the most recently
    /// released ones: sizes in use now recur, older ones may not.
    static CACHE: std::sync::Mutex<Cache> = std::sync::Mutex::new(Cache {
        blocks: [Kept {
            addr: 0,
            len: 0,
            stamp: 0,
        }; CACHE_BLOCKS],
        bytes: 0,
        clock: 0,
    });
    const CACHE_BLOCKS: usize = 16;
    const CACHE_BYTES: usize = 64 << 20;

    #[derive(Clone, Copy)]
    pub struct Kept {
        addr: usize,
        /// Mapped length; 0 for a free slot.
        len: usize,
        /// When it was released (larger is later).
        stamp: u64,
    }

    pub struct Cache {
        blocks: [Kept; CACHE_BLOCKS],
        bytes: usize,
        clock: u64,
    }

    /// A cached block of exactly the mapped length of `size` (its pages
    /// already faulted in, its contents stale), or null.
    pub fn take(size: usize) -> *mut u8 {
        let len = mapped_len(size);
        let Ok(mut c) = CACHE.lock() else {
            return std::ptr::null_mut();
        };
        match c.blocks.iter().position(|k| k.len == len) {
            Some(i) => {
                let k = std::mem::replace(&mut c.blocks[i].len, 0);
                c.bytes -= k;
                c.blocks[i].addr as *mut u8
            }
            None => std::ptr::null_mut(),
        }
    }

    /// Keep the block `ptr` of `size` bytes for [`take`], unmapping the
    /// least recently released blocks to make room; false when the caller
    /// must unmap it (larger than the whole cache).
    pub fn keep(ptr: *mut u8, size: usize) -> bool {
        let len = mapped_len(size);
        if len > CACHE_BYTES {
            return false;
        }
        let Ok(mut c) = CACHE.lock() else {
            return false;
        };
        while c.bytes + len > CACHE_BYTES || c.blocks.iter().all(|k| k.len != 0) {
            let Some(old) = (0..CACHE_BLOCKS)
                .filter(|&i| c.blocks[i].len != 0)
                .min_by_key(|&i| c.blocks[i].stamp)
            else {
                return false;
            };
            let k = std::mem::replace(&mut c.blocks[old].len, 0);
            c.bytes -= k;
            // SAFETY: a whole mapping of `k` bytes made by `map`, no longer
            // handed out.
            unsafe { libc::munmap(c.blocks[old].addr as *mut libc::c_void, k) };
        }
        c.clock += 1;
        let stamp = c.clock;
        let Some(slot) = c.blocks.iter_mut().find(|k| k.len == 0) else {
            return false;
        };
        *slot = Kept {
            addr: ptr as usize,
            len,
            stamp,
        };
        c.bytes += len;
        true
    }
}

#[cfg(not(target_os = "linux"))]
mod large {
    pub fn mapped_len(size: usize) -> usize {
        size
    }
    pub unsafe fn map(_: usize) -> *mut u8 {
        unreachable!("large blocks are mapped directly on Linux only")
    }
    pub unsafe fn unmap(_: *mut u8, _: usize) {
        unreachable!("large blocks are mapped directly on Linux only")
    }
    pub fn take(_: usize) -> *mut u8 {
        unreachable!("large blocks are mapped directly on Linux only")
    }
    pub fn keep(_: *mut u8, _: usize) -> bool {
        unreachable!("large blocks are mapped directly on Linux only")
    }
}

// SAFETY: ordinary blocks are forwarded to `System`; large ones (decided by
// the layout, which Rust passes unchanged to `dealloc` and `realloc`) are
// whole anonymous mappings, zero-filled, aligned to 2 MiB (≥ any alignment
// accepted by `is_large`), released with the same length.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            // A released block of the same mapped length first: its pages
            // need no new faults and zeroing (the contents are not promised).
            let p = large::take(layout.size());
            if !p.is_null() {
                return p;
            }
            // SAFETY: see the impl comment.
            unsafe { large::map(layout.size()) }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            // Clearing a kept block in place is cheaper than the faults and
            // the kernel's clearing of a fresh one.
            let p = large::take(layout.size());
            if !p.is_null() {
                // SAFETY: `p` is a whole block of at least `layout.size()` bytes.
                unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
                return p;
            }
            // SAFETY: fresh anonymous mappings are zero-filled.
            unsafe { large::map(layout.size()) }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(&layout) {
            if large::keep(ptr, layout.size()) {
                return;
            }
            // SAFETY: a large layout means `ptr` came from `large::map`.
            unsafe { large::unmap(ptr, layout.size()) }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `new_size` with the old alignment is a valid layout (the
        // caller's contract for `realloc`).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (is_large(&layout), is_large(&new_layout)) {
            // SAFETY: forwarded unchanged.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) if large::mapped_len(new_size) == large::mapped_len(layout.size()) => ptr,
            _ => {
                // SAFETY: a new block, the overlapping bytes copied, the old
                // block released as it was allocated.
                unsafe {
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_blocks_are_reused_and_zeroed_when_asked() {
        let a = Allocator;
        // An odd size of its own: no other test's blocks share its length.
        let l = Layout::from_size_align((13 << 20) + 77, 8).unwrap();
        unsafe {
            let p = a.alloc(l);
            std::ptr::write_bytes(p, 0xAB, l.size());
            a.dealloc(p, l);
            let q = a.alloc_zeroed(l);
            if cfg!(target_os = "linux") {
                assert_eq!(q, p, "the released block is handed out again");
            }
            assert!(std::slice::from_raw_parts(q, l.size())
                .iter()
                .all(|&b| b == 0));
            a.dealloc(q, l);
        }
    }

    #[test]
    fn large_blocks_are_aligned_zeroed_and_resizable() {
        let a = Allocator;
        unsafe {
            let l = Layout::from_size_align(3 << 20, 8).unwrap();
            let p = a.alloc_zeroed(l);
            assert!(!p.is_null());
            if cfg!(target_os = "linux") {
                assert_eq!(p as usize % HUGE_PAGE, 0);
            }
            assert!(std::slice::from_raw_parts(p, l.size())
                .iter()
                .all(|&b| b == 0));
            *p.add(12345) = 7;
            // Grow across the large/ordinary boundary both ways.
            let q = a.realloc(p, l, 9 << 20);
            assert_eq!(*q.add(12345), 7);
            let l9 = Layout::from_size_align(9 << 20, 8).unwrap();
            let r = a.realloc(q, l9, 1000);
            assert_eq!(*r.add(999), 0);
            let l1 = Layout::from_size_align(1000, 8).unwrap();
            *r.add(10) = 3;
            let s = a.realloc(r, l1, 2 << 20);
            assert_eq!(*s.add(10), 3);
            a.dealloc(s, Layout::from_size_align(2 << 20, 8).unwrap());
        }
    }
}
