//! The tools' memory allocator: a bump allocator over a fixed arena in
//! .bss, with musl's malloc behind it for whatever does not fit.
//!
//! Why: a tool lives for well under a millisecond before its exec, and
//! allocates a few hundred small blocks in that time (its argv, the paths
//! it builds, the files it reads). musl's allocator (mallocng) pays for
//! each with its slot and group bookkeeping and gets its memory by brk and
//! mmap, a syscall each; `perf` put it at about 30% of cgctl's own user
//! time. Here an allocation is an aligned add on one atomic word,
//! and the arena's pages come from the kernel's zero page as they are
//! touched, with no syscall at all.
//!
//! - Freeing the most recent block gives its memory back (an allocate-and-
//!   drop loop, a supervisor's trace line, reuses the same bytes); any
//!   other free inside the arena is a no-op. So a tool that allocates and
//!   frees without end (unshare-rs --init reaping for months) can at worst
//!   fill the arena, and then goes on with musl's malloc: the cost is
//!   bounded by [`ARENA`], never a leak that grows.
//! - Growing the most recent block is done in place (a `String` built by
//!   pushes, a file read into a `Vec`).
//! - Lock-free: the helpers that share the tool's memory until its exec
//!   (clone with CLONE_VM, chain::outside) may allocate at the same time
//!   as it does; every change of the bump word is a compare-and-swap. A
//!   forked child has its own copy of the arena and of the word.
//! - Blocks from musl's malloc (outside the arena) go back to it.
//!
//! Each tool's main.rs installs it: `#[global_allocator] static ALLOC:
//! chain::arena::Arena = chain::arena::Arena;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The arena's size: what a tool needs many times over (measured before
/// the exec of the headline chain's steps: cgctl 19 KB, pivot 6.6 KB,
/// seccompctl --default 3.7 KB, unshare-rs 1.9 KB), while untouched pages
/// cost nothing.
pub const ARENA: usize = 1 << 20;

#[repr(C, align(4096))]
struct Memory(UnsafeCell<[u8; ARENA]>);

// SAFETY: the bytes are only handed out through `Arena`, whose bump word
// gives each range to one owner.
unsafe impl Sync for Memory {}

static MEMORY: Memory = Memory(UnsafeCell::new([0; ARENA]));
/// The offset of the first free byte.
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// The end of the highest block ever handed out: the bytes above it were
/// never written, so they still hold .bss's zeros.
static HIGH: AtomicUsize = AtomicUsize::new(0);

pub struct Arena;

fn base() -> usize {
    MEMORY.0.get() as usize
}

/// The block's offset in the arena, if it is in it.
fn offset_of(ptr: *mut u8) -> Option<usize> {
    let p = ptr as usize;
    (p >= base() && p < base() + ARENA).then(|| p - base())
}

/// Takes `size` bytes aligned to `align` from the arena, or None when
/// they do not fit. Also returns how many of its first bytes may have been
/// written before (the rest are zero).
fn bump(size: usize, align: usize) -> Option<(*mut u8, usize)> {
    // Acquire: pairs with dealloc's Release, so that a block freed and
    // handed out again is seen with its owner's raise of HIGH.
    let mut next = NEXT.load(Ordering::Acquire);
    loop {
        let start = (base() + next).checked_add(align - 1)? & !(align - 1);
        let off = start - base();
        let end = off.checked_add(size)?;
        if end > ARENA {
            return None;
        }
        match NEXT.compare_exchange_weak(next, end, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                let high = HIGH.fetch_max(end, Ordering::AcqRel);
                return Some((start as *mut u8, high.saturating_sub(off).min(size)));
            }
            Err(now) => next = now,
        }
    }
}

// SAFETY: every block handed out is `size` bytes aligned to `align`, owned
// by one caller (the bump word moves past it atomically) until it is
// freed; blocks outside the arena are musl's, and go back to it.
//
// Not inlined: with LTO, every allocation site would get its own copy of
// the compare-and-swap loop (+57 KB of cgctl's text), for no measurable
// gain over one call.
unsafe impl GlobalAlloc for Arena {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match bump(layout.size(), layout.align()) {
            Some((p, _)) => p,
            // SAFETY: the caller's layout, passed on.
            None => unsafe { System.alloc(layout) },
        }
    }

    /// Only bytes that were handed out before are cleared: a fresh block
    /// is .bss never touched, so a `vec![0; 32 * 1024]` receive buffer
    /// costs no page until the kernel writes into it (the default
    /// alloc_zeroed wrote every page, a fault each).
    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match bump(layout.size(), layout.align()) {
            Some((p, dirty)) => {
                // SAFETY: the block is ours and at least `dirty` bytes long.
                unsafe { std::ptr::write_bytes(p, 0, dirty) };
                p
            }
            // SAFETY: the caller's layout, passed on.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match offset_of(ptr) {
            // The most recent block: its bytes are free again. (Another
            // one: a no-op, and the CAS fails when someone allocated since.)
            Some(off) => {
                let _ = NEXT.compare_exchange(
                    off + layout.size(),
                    off,
                    Ordering::Release,
                    Ordering::Relaxed,
                );
            }
            // SAFETY: a block System.alloc returned with this layout.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(off) = offset_of(ptr) else {
            // SAFETY: a block System.alloc returned with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        // The most recent block grows (or shrinks) where it is.
        if let Some(end) = off.checked_add(new_size)
            && end <= ARENA
            && NEXT
                .compare_exchange(
                    off + layout.size(),
                    end,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            // The grown bytes may be written from now on.
            HIGH.fetch_max(end, Ordering::AcqRel);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the same alignment as the block's, which the caller's
        // layout guarantees valid, and a non-zero size.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as in alloc.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are at least layout.size() long and
            // distinct (the old one is still allocated).
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
            // SAFETY: the old block, with its layout.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The tests use the arena directly (the test binary keeps the system
    // allocator), one at a time: they share the one arena.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn blocks_are_aligned_distinct_and_reused_when_last() {
        let _one = SERIAL.lock().unwrap();
        let a = Arena;
        unsafe {
            let l8 = Layout::from_size_align(24, 8).unwrap();
            let l64 = Layout::from_size_align(100, 64).unwrap();
            let p = a.alloc(l8);
            let q = a.alloc(l64);
            assert_eq!(q as usize % 64, 0);
            assert!(q as usize >= p as usize + 24);
            p.write_bytes(0xaa, 24);
            q.write_bytes(0xbb, 100);
            assert_eq!(*p.add(23), 0xaa);
            // q is the most recent: freed, its bytes come back.
            a.dealloc(q, l64);
            let r = a.alloc(l64);
            assert_eq!(r, q);
            // p is not the most recent: its free is a no-op.
            a.dealloc(p, l8);
            let s = a.alloc(l8);
            assert!(s as usize > r as usize);
            a.dealloc(s, l8);
            a.dealloc(r, l64);
        }
    }

    #[test]
    fn the_last_block_grows_in_place_and_others_move_with_their_bytes() {
        let _one = SERIAL.lock().unwrap();
        let a = Arena;
        unsafe {
            let l = Layout::from_size_align(16, 8).unwrap();
            let p = a.alloc(l);
            p.write_bytes(7, 16);
            let grown = a.realloc(p, l, 4096);
            assert_eq!(grown, p, "the most recent block grows where it is");
            let l2 = Layout::from_size_align(4096, 8).unwrap();
            let other = a.alloc(l);
            let moved = a.realloc(grown, l2, 8192);
            assert_ne!(moved, grown);
            assert!(
                (0..16).all(|i| *moved.add(i) == 7),
                "the bytes moved with the block"
            );
            assert!(offset_of(moved).is_some());
            let _ = other;
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_also_where_a_freed_block_was_written() {
        let _one = SERIAL.lock().unwrap();
        let a = Arena;
        unsafe {
            let small = Layout::from_size_align(100, 8).unwrap();
            let big = Layout::from_size_align(3 * 4096, 8).unwrap();
            let p = a.alloc(small);
            p.write_bytes(0xff, 100);
            a.dealloc(p, small);
            // The same bytes again, now longer than what was written.
            let z = a.alloc_zeroed(big);
            assert_eq!(z, p);
            assert!((0..3 * 4096).all(|i| *z.add(i) == 0), "a byte is not zero");
            z.write_bytes(0xee, 3 * 4096);
            a.dealloc(z, big);
            let again = a.alloc_zeroed(big);
            assert_eq!(again, z);
            assert!(
                (0..3 * 4096).all(|i| *again.add(i) == 0),
                "a byte is not zero"
            );
            // Grown in place, then freed: the grown bytes count as written.
            let g = a.realloc(again, big, 5 * 4096);
            assert_eq!(g, again);
            g.write_bytes(0xdd, 5 * 4096);
            let big5 = Layout::from_size_align(5 * 4096, 8).unwrap();
            a.dealloc(g, big5);
            let z5 = a.alloc_zeroed(big5);
            assert!(
                (0..5 * 4096).all(|i| *z5.add(i) == 0),
                "a grown byte is not zero"
            );
            a.dealloc(z5, big5);
        }
    }

    #[test]
    fn what_does_not_fit_comes_from_the_system_and_goes_back_there() {
        let _one = SERIAL.lock().unwrap();
        let a = Arena;
        unsafe {
            let big = Layout::from_size_align(ARENA + 1, 8).unwrap();
            let p = a.alloc(big);
            assert!(!p.is_null());
            assert!(offset_of(p).is_none());
            p.write_bytes(1, ARENA + 1);
            let q = a.realloc(p, big, ARENA + 4096);
            assert!(offset_of(q).is_none());
            a.dealloc(q, Layout::from_size_align(ARENA + 4096, 8).unwrap());
        }
    }

    #[test]
    fn concurrent_allocations_never_overlap() {
        let _one = SERIAL.lock().unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    let a = Arena;
                    let l = Layout::from_size_align(32, 8).unwrap();
                    (0..500)
                        .map(|_| unsafe {
                            let p = a.alloc(l);
                            p.write_bytes(t as u8, 32);
                            p as usize
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<usize> = threads
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        assert!(
            all.windows(2).all(|w| w[1] - w[0] >= 32),
            "two blocks overlap"
        );
    }
}

/// The arena's bytes in use (the bump word).
pub fn used() -> usize {
    NEXT.load(Ordering::Relaxed)
}
