//! Blocking work (the platform reads the store and hashes) run off the
//! async workers, a bounded number of jobs at once, with one thread
//! hand-off per burst instead of one per job.
//!
//! `spawn_blocking` per request costs a lock on tokio's pool, a condvar
//! wake and a park for every job: measured on partner checks, ten times
//! the futex calls of deciding inline and three quarters of the
//! throughput. Here a job joins a queue, and only when fewer than `lanes`
//! drainers are running does it start one (on the blocking pool); a
//! drainer runs queued jobs until the queue is empty. Under load a lane
//! stays busy and takes job after job; idle, nothing runs. Bounded, since
//! each running job holds a database reader: far more readers than cores
//! keep the embedded store's log from ever being reset.
//!
//! Written here because no crate does this small thing: rayon's pool is
//! for computation (a job blocking on fsync would stall its workers) and
//! tokio's pool is the per-job hand-off being avoided.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// A queue of blocking jobs drained by at most `lanes` threads at once.
#[derive(Clone)]
pub struct Lanes {
    inner: Arc<Inner>,
}

struct Inner {
    lanes: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    running: usize,
}

/// The job panicked (its message), or never ran because the runtime was
/// shutting down.
#[derive(Debug)]
pub struct Panicked(pub String);

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Lanes {
    /// At most `lanes` jobs run at once (at least one).
    pub fn new(lanes: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                lanes: lanes.max(1),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Runs `work` on a lane and waits for its result without holding a
    /// thread.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Panicked>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = sender.send(outcome.map_err(|panic| Panicked(panic_message(&panic))));
        }));
        match receiver.await {
            Ok(outcome) => outcome,
            // Only if the job was dropped unrun: the runtime is shutting
            // down and its blocking pool refused the drainer.
            Err(_) => Err(Panicked(
                "the job was dropped: the runtime is shutting down".into(),
            )),
        }
    }

    fn submit(&self, job: Job) {
        let start_a_drainer = {
            let mut state = lock(&self.inner.state);
            state.queue.push_back(job);
            let start = state.running < self.inner.lanes;
            if start {
                state.running += 1;
            }
            start
        };
        if start_a_drainer {
            let inner = self.inner.clone();
            tokio::task::spawn_blocking(move || inner.drain());
        }
    }
}

impl Inner {
    /// Runs queued jobs until there are none; the count of running
    /// drainers changes under the same lock as the queue, so a job queued
    /// as the last drainer leaves is never stranded.
    fn drain(&self) {
        loop {
            let job = {
                let mut state = lock(&self.state);
                match state.queue.pop_front() {
                    Some(job) => job,
                    None => {
                        state.running -= 1;
                        return;
                    }
                }
            };
            job();
        }
    }
}

/// The state is a queue and a count, whole after any panic (jobs run
/// outside the lock and catch their own), so a poisoned lock is used as is.
fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a job panicked".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_job_runs_once_and_never_more_than_the_lanes_at_once() {
        let lanes = Lanes::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut jobs = Vec::new();
        for n in 0..500_u64 {
            let (lanes, running, most) = (lanes.clone(), running.clone(), most.clone());
            jobs.push(tokio::spawn(async move {
                lanes
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_micros(50));
                        running.fetch_sub(1, Ordering::SeqCst);
                        n * 2
                    })
                    .await
            }));
        }
        let mut total = 0;
        for job in jobs {
            total += job.await.expect("task").expect("job");
        }
        assert_eq!(total, (0..500_u64).map(|n| n * 2).sum::<u64>());
        assert!(most.load(Ordering::SeqCst) <= 2, "{most:?} at once");
        // A drainer leaves just after its last job has answered: give the
        // last one a moment to find the queue empty.
        let mut waited = 0;
        while lock(&lanes.inner.state).running > 0 && waited < 1_000 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            waited += 1;
        }
        assert_eq!(lock(&lanes.inner.state).running, 0, "every drainer left");
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_and_the_lane_goes_on() {
        let lanes = Lanes::new(1);
        let panicked = lanes.run(|| -> u32 { panic!("boom") }).await;
        assert!(matches!(&panicked, Err(Panicked(message)) if message == "boom"));
        assert_eq!(lanes.run(|| 7).await.expect("runs after a panic"), 7);
    }
}
