//! Work spread over threads, results kept in order: no async runtime, since a deploy gate needs
//! bounded threads and time limits, not an executor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// `f` over `items`, in order, on the machine's cores once there are enough items to be worth
/// a thread (Prometheus answers for 100,000 instances at once).
pub(crate) fn map_in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const PER_THREAD: usize = 8192;
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len() / PER_THREAD);
    map_on_threads(items, threads, f)
}

/// `f` over `items`, in order, on `threads` threads (one when `threads` is 0 or 1), each taking a
/// contiguous part.
pub(crate) fn map_on_threads<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut all = Vec::with_capacity(items.len());
        for part in parts {
            all.extend(join(part));
        }
        all
    })
}

/// `f` over `items`, in order, by up to `workers` threads that each take the next item when done
/// with one (items that wait on the network take very different times), every call holding a
/// permit of `limiter`.
pub(crate) fn map_pooled<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    limiter: &Limiter,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let workers = workers.clamp(1, items.len().max(1));
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            break;
                        };
                        let _permit = limiter.acquire();
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().flat_map(join).collect()
    });
    // Every index was taken by exactly one worker.
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// At most so many at once, across everything that shares it: the sources of one round run side
/// by side and together keep to the concurrency asked for.
#[derive(Debug)]
pub(crate) struct Limiter {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Limiter {
    pub(crate) fn new(permits: usize) -> Limiter {
        Limiter {
            free: Mutex::new(permits.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a permit; it is given back when the guard is dropped.
    pub(crate) fn acquire(&self) -> Permit<'_> {
        // Nothing panics while the lock is held.
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

/// A permit of a [`Limiter`].
pub(crate) struct Permit<'a>(&'a Limiter);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.0.freed.notify_one();
    }
}

/// A thread's result, or its panic carried on.
pub(crate) fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keep_the_order() {
        for n in [0, 1, 8191, 8192 * 2 + 7, 100_000] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map_in_parallel(&items, |i| i * 2);
            assert_eq!(doubled, (0..n).map(|i| i * 2).collect::<Vec<_>>(), "{n}");
        }
        for (n, threads) in [(0, 4), (1, 4), (2, 4), (19, 4), (5, 0)] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map_on_threads(&items, threads, |i| i * 2);
            assert_eq!(doubled, (0..n).map(|i| i * 2).collect::<Vec<_>>(), "{n}");
            let limiter = Limiter::new(2);
            let pooled = map_pooled(&items, threads, &limiter, |i| i * 2);
            assert_eq!(pooled, (0..n).map(|i| i * 2).collect::<Vec<_>>(), "{n}");
        }
    }

    #[test]
    fn a_shared_limiter_bounds_every_pool_together() {
        let limiter = Limiter::new(3);
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u32> = (0..40).collect();
        let work = |_: &u32| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
        };
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| map_pooled(&items, 8, &limiter, work));
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 3, "{most:?}");
        assert!(
            most.load(Ordering::SeqCst) >= 2,
            "{most:?}: they ran side by side"
        );
    }
}
