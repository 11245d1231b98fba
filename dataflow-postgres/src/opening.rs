//! Waiting for the connections the pool is opening before the backend goes.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Connections the pool's threads are opening now (r2d2 tops the pool up in
/// the background). A process that exits while one is in libpq's TLS
/// handshake crashes in OpenSSL's exit handlers, which free what the
/// handshake is using, so dropping the backend waits for them to end.
#[derive(Default)]
pub(crate) struct Opening {
    count: Mutex<usize>,
    ended: Condvar,
}

impl Opening {
    /// Counts one connection being opened until the returned guard drops.
    pub(crate) fn start(self: &Arc<Self>) -> OpeningGuard {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        OpeningGuard(Arc::clone(self))
    }

    /// Waits until none is being opened, for at most `limit`.
    pub(crate) fn wait_none(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        while *count > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            count = self
                .ended
                .wait_timeout(count, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// One connection being opened, counted until dropped.
pub(crate) struct OpeningGuard(Arc<Opening>);

impl Drop for OpeningGuard {
    fn drop(&mut self) {
        *self.0.count.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        self.0.ended.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_every_opening_ended_or_the_limit() {
        let opening = Arc::new(Opening::default());
        let guard = opening.start();
        let started = Instant::now();
        opening.wait_none(Duration::from_millis(50));
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "gave up at the limit"
        );
        let o = Arc::clone(&opening);
        let ender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            drop(guard);
            drop(o);
        });
        opening.wait_none(Duration::from_secs(60));
        assert_eq!(*opening.count.lock().unwrap(), 0);
        ender.join().unwrap();
    }
}
