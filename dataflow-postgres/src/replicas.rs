//! Read replicas ([`PgOptions::read_urls`]): which server a read goes to, the
//! read-your-writes window, and each replica's health.
//!
//! A replica's health is learnt from its own pool: a connection that cannot
//! be opened (r2d2 reports it to the pool's error handler, and keeps retrying
//! in the background) or a connection lost during a read marks it down; the
//! next connection opened (the customizer runs on it) or read answered marks
//! it up again. While down it is skipped, so reads pay nothing for it, until
//! it is back or its back-off has passed and a read tries it.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::r2d2::{CustomizeConnection, HandleError, Pool, PooledConnection};

use dataflow_core::{Connection, Error, Result};

use crate::backend::{pool_builder, Manager, OnAcquire, PgBackend, Pooled};
use crate::opening::Opening;
use crate::options::PgOptions;

/// The first back-off of a replica that failed; doubled per failure in a row.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);

/// The longest back-off: a replica that is back is tried again at least this
/// often even if its pool's own reconnecting has stopped.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// How often a read waiting for a replica connection looks whether opening
/// one has failed meanwhile (r2d2 keeps retrying without telling the waiter),
/// so a replica that refuses connections costs a read about this much.
const POLL: Duration = Duration::from_millis(50);

/// Nanoseconds since the backend was made, plus one, so that 0 can mean
/// "never" in an atomic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock(Instant);

impl Clock {
    fn now(self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The read replicas of one backend.
pub(crate) struct Replicas {
    servers: Vec<Replica>,
    /// Round robin: the next replica to try first.
    next: AtomicUsize,
    clock: Clock,
    /// When the last call that may have written ended ([`Clock`]; 0: never).
    last_write: Arc<AtomicU64>,
    /// The read-your-writes window, in nanoseconds.
    window: u64,
    /// The longest a read waits for a replica connection.
    wait: Duration,
}

/// One replica: its pool and health.
struct Replica {
    pool: Pool<Manager>,
    health: Arc<Health>,
}

/// Marks a possible write as ended when dropped (its read-your-writes window
/// starts then).
pub(crate) struct Wrote {
    last_write: Arc<AtomicU64>,
    clock: Clock,
}

impl Drop for Wrote {
    fn drop(&mut self) {
        // `fetch_max`: two writes ending together never move the mark back.
        self.last_write
            .fetch_max(self.clock.now(), Ordering::AcqRel);
    }
}

impl Replicas {
    /// Pools for `options.read_urls`, none of them reached yet (r2d2 opens
    /// their first connections in the background).
    pub(crate) fn new(options: &PgOptions, opening: &Arc<Opening>) -> Result<Self> {
        let clock = Clock(Instant::now());
        let mut servers = Vec::with_capacity(options.read_urls.len());
        for url in &options.read_urls {
            let manager = Manager::for_url(url, options, opening)?;
            let health = Arc::new(Health::new(server_name(url), clock));
            let pool = pool_builder(options)
                .connection_customizer(Box::new(ReplicaAcquire {
                    inner: OnAcquire {
                        statement_timeout: options.statement_timeout,
                        test_transaction: false,
                    },
                    health: Arc::clone(&health),
                }))
                .error_handler(Box::new(ReplicaErrors(Arc::clone(&health))))
                // Not waiting for a first connection: a replica that is down
                // must not keep the application from starting.
                .build_unchecked(manager);
            servers.push(Replica { pool, health });
        }
        Ok(Replicas {
            servers,
            next: AtomicUsize::new(0),
            clock,
            last_write: Arc::new(AtomicU64::new(0)),
            window: nanos(options.read_your_writes),
            wait: options.connect_timeout,
        })
    }

    /// The mark of a call that may write, set when it is dropped.
    pub(crate) fn wrote(&self) -> Wrote {
        Wrote {
            last_write: Arc::clone(&self.last_write),
            clock: self.clock,
        }
    }

    /// Runs the read `f` on a replica, or on `primary` within the
    /// read-your-writes window, when no replica gives a connection, and again
    /// when the replica fails before answering (a read already under way is
    /// not moved to another replica: the primary surely answers).
    pub(crate) fn read(
        &self,
        primary: &PgBackend,
        f: &mut dyn FnMut(&mut dyn Connection) -> Result<()>,
    ) -> Result<()> {
        let now = self.clock.now();
        let last = self.last_write.load(Ordering::Acquire);
        if last != 0 && now.saturating_sub(last) < self.window {
            trace_route("primary", "read_your_writes", None);
            return primary.on_primary(f);
        }
        let Some((replica, mut conn)) = self.connection(now) else {
            trace_route("primary", "no_replica", None);
            return primary.on_primary(f);
        };
        trace_route("replica", "read", Some(&replica.health.name));
        match conn.run_plain(f) {
            // Before `lost`: a session ended for a conflict is no outage.
            Err(e) if recovery_conflict(&e) => {
                // The replica is fine; this read collided with WAL replay.
                trace_route("primary", "recovery_conflict", Some(&replica.health.name));
                primary.on_primary(f)
            }
            Err(e) if lost(&e) => {
                // The connection is discarded by the pool (it saw the loss).
                drop(conn);
                replica.health.failed(&e.to_string());
                trace_route("primary", "replica_lost", Some(&replica.health.name));
                primary.on_primary(f)
            }
            r => {
                replica.health.answered();
                r
            }
        }
    }

    /// A connection to the next replica in turn that is up (or due to be
    /// tried again) and gives one; the others after it, in turn, when it
    /// does not. `None` when none does.
    fn connection(&self, now: u64) -> Option<(&Replica, PooledConnection<Manager>)> {
        let n = self.servers.len();
        let start = if n == 1 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % n
        };
        (0..n)
            .map(|i| &self.servers[(start + i) % n])
            .filter(|r| r.health.usable(now))
            .find_map(|r| {
                let conn = r.checkout(self.wait);
                if conn.is_none() {
                    trace_route("skip", "no_replica_connection", Some(&r.health.name));
                }
                Some(r).zip(conn)
            })
    }
}

impl Replica {
    /// A connection from the replica's pool, or `None` when opening one fails
    /// (or none is free within `wait`). r2d2's own wait would last the whole
    /// timeout even when the server refuses at once, so the wait is cut into
    /// slices, and it ends at the first failure to connect seen meanwhile.
    fn checkout(&self, wait: Duration) -> Option<PooledConnection<Manager>> {
        let failures = self.health.failures.load(Ordering::Acquire);
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            if let Ok(conn) = self.pool.get_timeout(left.min(POLL)) {
                return Some(conn);
            }
            if self.health.failures.load(Ordering::Acquire) != failures {
                return None;
            }
        }
    }
}

/// Whether a read's error means the replica's connection is gone (lost,
/// refused, silent past the socket timeout), so the read is worth repeating
/// on the primary. A statement timeout is not: the primary would cancel the
/// same statement.
fn lost(e: &Error) -> bool {
    matches!(e, Error::Connection(m) if !m.starts_with("statement timeout"))
}

/// Whether a replica cancelled the read, or ended its session, for a
/// conflict with WAL replay ("canceling statement due to conflict with
/// recovery", SQLSTATE 40001, or "terminating connection due to conflict
/// with recovery"), which only a replica does.
fn recovery_conflict(e: &Error) -> bool {
    matches!(e, Error::Busy { message } | Error::Connection(message)
        if message.contains("conflict with recovery"))
}

fn trace_route(route: &str, reason: &str, replica: Option<&str>) {
    tracing::trace!(
        target: "dataflow_postgres::replicas",
        route,
        reason,
        replica = replica.unwrap_or(""),
        "read routed"
    );
}

/// A replica's host, port and database, without user or password, for logs.
fn server_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or(rest);
    rest.rsplit_once('@').map_or(rest, |(_, r)| r).to_owned()
}

/// Whether a replica answers, as its pool and reads have seen.
#[derive(Debug)]
struct Health {
    name: String,
    clock: Clock,
    down: AtomicBool,
    /// While down: when a read may try it again ([`Clock`]).
    retry_at: AtomicU64,
    /// When the current outage began ([`Clock`]).
    down_since: AtomicU64,
    /// Failures to connect or lost connections, ever: a read waiting for a
    /// connection stops at the first one after it began.
    failures: AtomicU64,
    /// Failures since it last answered, for the back-off.
    in_a_row: AtomicU32,
}

impl Health {
    /// A replica not known to be down: tried by the first read.
    fn new(name: String, clock: Clock) -> Self {
        Health {
            name,
            clock,
            down: AtomicBool::new(false),
            retry_at: AtomicU64::new(0),
            down_since: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            in_a_row: AtomicU32::new(0),
        }
    }

    fn usable(&self, now: u64) -> bool {
        !self.down.load(Ordering::Acquire) || now >= self.retry_at.load(Ordering::Acquire)
    }

    /// The replica failed (`why`): skipped for a back-off that doubles per
    /// failure in a row; warned about once per outage.
    fn failed(&self, why: &str) {
        let now = self.clock.now();
        let in_a_row = self.in_a_row.fetch_add(1, Ordering::AcqRel).min(5);
        let backoff = (BACKOFF_FIRST * (1 << in_a_row)).min(BACKOFF_MAX);
        self.retry_at.store(now + nanos(backoff), Ordering::Release);
        self.failures.fetch_add(1, Ordering::AcqRel);
        if !self.down.swap(true, Ordering::AcqRel) {
            self.down_since.store(now, Ordering::Release);
            tracing::warn!(
                target: "dataflow_postgres::replicas",
                replica = %self.name,
                error = why.trim_end(),
                "read replica unavailable: its reads go to the primary until it answers again"
            );
        } else {
            tracing::debug!(
                target: "dataflow_postgres::replicas",
                replica = %self.name,
                error = why.trim_end(),
                retry_in = ?backoff,
                "read replica still unavailable"
            );
        }
    }

    /// The replica answered: reads go to it again.
    fn answered(&self) {
        if self.down.load(Ordering::Acquire) && self.down.swap(false, Ordering::AcqRel) {
            self.in_a_row.store(0, Ordering::Release);
            let since = self.down_since.load(Ordering::Acquire);
            let down_for = Duration::from_nanos(self.clock.now().saturating_sub(since));
            tracing::info!(
                target: "dataflow_postgres::replicas",
                replica = %self.name,
                down_for = ?down_for,
                "read replica answers again: reads go to it"
            );
        }
    }
}

/// A replica pool's connection setup: the primary's, then the replica is
/// known to answer.
#[derive(Debug)]
struct ReplicaAcquire {
    inner: OnAcquire,
    health: Arc<Health>,
}

impl CustomizeConnection<Pooled, diesel::r2d2::Error> for ReplicaAcquire {
    fn on_acquire(&self, conn: &mut Pooled) -> std::result::Result<(), diesel::r2d2::Error> {
        self.inner.on_acquire(conn)?;
        self.health.answered();
        Ok(())
    }
}

/// A replica pool's errors: a connection that cannot be opened marks the
/// replica down (r2d2 retries in the background, and the first success marks
/// it up). A pooled connection found dead at checkout does not: r2d2 replaces
/// it, and opening the replacement tells.
#[derive(Debug)]
struct ReplicaErrors(Arc<Health>);

impl HandleError<diesel::r2d2::Error> for ReplicaErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        match error {
            diesel::r2d2::Error::ConnectionError(e) => self.0.failed(&e.to_string()),
            other => tracing::debug!(
                target: "dataflow_postgres::replicas",
                replica = %self.0.name,
                error = %other,
                "read replica connection replaced"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_named_without_its_credentials() {
        assert_eq!(
            server_name("postgres://app:secret@replica-1:5433/app?sslmode=require"),
            "replica-1:5433/app"
        );
        assert_eq!(server_name("postgres://replica/app"), "replica/app");
    }

    #[test]
    fn a_failed_replica_is_skipped_for_a_growing_back_off_until_it_answers() {
        let clock = Clock(Instant::now());
        let h = Health::new("r".into(), clock);
        let now = clock.now();
        assert!(h.usable(now));
        h.failed("connection refused");
        let first = h.retry_at.load(Ordering::Acquire) - now;
        assert!(!h.usable(now));
        assert!(h.usable(now + first + nanos(BACKOFF_FIRST)));
        for _ in 0..10 {
            h.failed("connection refused");
        }
        let longest = h.retry_at.load(Ordering::Acquire) - clock.now();
        assert!(
            longest > first && longest <= nanos(BACKOFF_MAX),
            "{longest}"
        );
        assert_eq!(h.failures.load(Ordering::Acquire), 11);
        h.answered();
        assert!(h.usable(clock.now()));
        assert_eq!(h.in_a_row.load(Ordering::Acquire), 0);
    }

    /// Counts the events of this module, per level.
    #[derive(Default)]
    struct Levels(std::sync::Mutex<Vec<tracing::Level>>);

    impl tracing::Subscriber for Levels {
        fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
            metadata.target() == "dataflow_postgres::replicas"
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            self.0.lock().unwrap().push(*event.metadata().level());
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    fn an_outage_is_warned_about_once_and_its_end_said() {
        let levels = Arc::new(Levels::default());
        let h = Health::new("r".into(), Clock(Instant::now()));
        tracing::subscriber::with_default(Arc::clone(&levels), || {
            for _ in 0..3 {
                h.failed("connection refused");
            }
            h.answered();
            h.answered();
            h.failed("connection refused");
        });
        let seen = levels.0.lock().unwrap().clone();
        use tracing::Level;
        assert_eq!(
            seen,
            [
                Level::WARN,
                Level::DEBUG,
                Level::DEBUG,
                Level::INFO,
                Level::WARN
            ]
        );
    }

    #[test]
    fn only_lost_connections_and_recovery_conflicts_move_a_read() {
        assert!(lost(&Error::Connection(
            "PostgreSQL connection lost: x".into()
        )));
        assert!(!lost(&Error::Connection(
            "statement timeout exceeded, the statement was cancelled: x".into()
        )));
        assert!(!lost(&Error::Database("relation does not exist".into())));
        assert!(recovery_conflict(&Error::Busy {
            message: "serialization failure, retry the transaction: canceling statement \
                      due to conflict with recovery"
                .into()
        }));
        assert!(recovery_conflict(&Error::Connection(
            "PostgreSQL connection lost: terminating connection due to conflict with recovery"
                .into()
        )));
        assert!(!recovery_conflict(&Error::Connection(
            "PostgreSQL connection lost: terminating connection due to administrator command"
                .into()
        )));
    }
}
