//! Rayon and the thread count: whether work handed to rayon can run on more
//! than one thread, running it on the calling thread when it cannot, and
//! placing worker threads on CPUs.

/// True when rayon would run work here on two or more threads.
///
/// Inside a rayon pool this asks the pool. Outside one it reads what rayon
/// sizes its global pool from (`RAYON_NUM_THREADS` when it is a positive
/// number, else the CPU count) instead of asking rayon, because asking starts
/// the global pool: a worker thread that a single-threaded one-study run
/// would pay for (≈ 0.2 ms) and never use.
pub fn is_parallel() -> bool {
    if rayon::current_thread_index().is_some() {
        return rayon::current_num_threads() > 1;
    }
    threads_from(std::env::var("RAYON_NUM_THREADS").ok().as_deref()) > 1
}

/// When rayon would use one thread, make the calling thread that thread:
/// rayon's global pool becomes a pool of one whose worker is the caller, so
/// parallel iterators run right here instead of being handed to a worker
/// thread, woken and waited for (and no idle worker spins on another core).
/// Call once, early, from the main thread; without effect if the global pool
/// exists already.
pub fn adopt_single_thread() {
    if !is_parallel() {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build_global();
    }
}

/// The CPUs this process may run on (its affinity mask), in order; empty
/// where it cannot be read (and on systems other than Linux).
pub fn allowed_cpus() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; the kernel writes
        // at most its size, and CPU_ISSET reads within it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Vec::new();
            }
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect()
        }
    }
    #[cfg(not(target_os = "linux"))]
    Vec::new()
}

/// Keep the calling thread on `cpu` (best effort: an error leaves it free).
pub fn pin_current_thread(cpu: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET checks the
    // index against the set's size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// rayon's global pool size for a `RAYON_NUM_THREADS` value.
fn threads_from(var: Option<&str>) -> usize {
    match var.and_then(|v| v.parse::<usize>().ok()) {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_rayon_sizing_rules() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads_from(Some("1")), 1);
        assert_eq!(threads_from(Some("3")), 3);
        assert_eq!(threads_from(Some("0")), cpus);
        assert_eq!(threads_from(Some("many")), cpus);
        assert_eq!(threads_from(None), cpus);
    }

    #[test]
    fn a_pinned_thread_runs_on_its_cpu() {
        let cpus = allowed_cpus();
        if cfg!(target_os = "linux") {
            assert!(!cpus.is_empty());
        }
        if let Some(&last) = cpus.last() {
            std::thread::spawn(move || {
                pin_current_thread(last);
                assert_eq!(allowed_cpus(), vec![last]);
                // SAFETY: sched_getcpu has no preconditions.
                #[cfg(target_os = "linux")]
                assert_eq!(unsafe { libc::sched_getcpu() }, last as i32);
            })
            .join()
            .unwrap();
            // Other threads keep the process's set.
            assert_eq!(allowed_cpus(), cpus);
        }
    }

    #[test]
    fn asks_the_pool_inside_one() {
        for n in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            assert_eq!(pool.install(is_parallel), n > 1);
        }
    }
}
