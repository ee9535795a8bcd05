//! Splitting work over rows between the machine's cores.

use std::ops::Range;

/// Rows per thread below which splitting costs more than it saves.
const MIN_ROWS_PER_THREAD: usize = 50_000;

/// Runs `work` over contiguous shares of `0..n` on as many threads as the
/// machine has (one when `n` is small) and returns the shares' results in
/// order.
pub(crate) fn par_rows<T: Send>(n: usize, work: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(n / MIN_ROWS_PER_THREAD)
        .clamp(1, 8);
    if threads == 1 {
        return vec![work(0..n)];
    }
    let share = n.div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || work((t * share).min(n)..((t + 1) * share).min(n))))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}
