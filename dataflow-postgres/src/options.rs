//! Connection options: `PgOptions` (builder and URL parameters), the TCP
//! defaults every connection gets, and the libpq connection string built from
//! them.

use std::time::Duration;

use dataflow_core::{DataFlow, Error, Result};

use crate::backend::PgBackend;
use crate::dialect::POSTGRES;

/// Options for connecting, builder style.
///
/// ```no_run
/// let db = dataflow_postgres::PgOptions::new("postgres://postgres@127.0.0.1/app")
///     .pool_size(16)
///     .connect()?;
/// # Ok::<(), dataflow_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PgOptions {
    pub(crate) url: String,
    pub(crate) pool_size: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) socket_timeout: Option<Duration>,
    pub(crate) test_transaction: bool,
    pub(crate) check_on_checkout: bool,
    /// `None`: not chosen, which follows the pooler (off behind a transaction
    /// pooler, on otherwise).
    pub(crate) prepared_statements: Option<bool>,
    pub(crate) read_urls: Vec<String>,
    pub(crate) read_your_writes: Duration,
    pub(crate) pooler: Option<Pooler>,
    pub(crate) migration_url: Option<String>,
}

/// What sits between the application and the PostgreSQL server, as declared
/// with [`PgOptions::pooler`] or the URL parameter `pooler`.
///
/// It decides what may rely on a server session lasting longer than one
/// transaction: the migration lock of the online phase, session settings,
/// named prepared statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooler {
    /// No pooler: every connection is a server session of its own.
    Direct,
    /// A pooler in session mode (PgBouncer's `pool_mode = session`): a client
    /// connection keeps one server session until it disconnects, so it behaves
    /// like [`Pooler::Direct`].
    Session,
    /// A pooler in transaction mode (PgBouncer's `pool_mode = transaction`,
    /// Supavisor, RDS Proxy when not pinned): each transaction, and each
    /// statement outside one, may run on another server session, shared with
    /// other clients. Nothing may outlive a transaction: no named prepared
    /// statements, no session settings, no session-level locks.
    Transaction,
}

/// How long after a write through a handle its reads stay on the primary
/// unless [`PgOptions::read_your_writes`] says otherwise: 2 s, Rails' default
/// for the same rule (`ActiveRecord::Middleware::DatabaseSelector`'s `delay`).
/// Streaming replicas on a healthy network replay within milliseconds; one
/// seconds behind is overloaded or cut off, and its reads are stale anyway.
pub const READ_YOUR_WRITES: Duration = Duration::from_secs(2);

/// TCP keepalive and user-timeout settings every connection gets unless the
/// URL sets them itself (libpq parameter, value). A server that vanishes
/// (crash, network partition, dropped NAT entry) is noticed within about a
/// minute instead of never: keepalive probes start after 30 s of silence and
/// repeat every 10 s, and data the server has not acknowledged for 60 s ends
/// the connection.
pub const TCP_DEFAULTS: [(&str, &str); 5] = [
    ("keepalives", "1"),
    ("keepalives_idle", "30"),
    ("keepalives_interval", "10"),
    ("keepalives_count", "3"),
    ("tcp_user_timeout", "60000"),
];

/// `url` with libpq's `connect_timeout` (whole seconds, at least 2, as libpq
/// rounds) and [`TCP_DEFAULTS`] added where the URL does not set them.
pub(crate) fn conninfo(url: &str, connect_timeout: Duration) -> String {
    let given: Vec<&str> = url
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .map(|p| p.split('=').next().unwrap_or(p))
                .collect()
        })
        .unwrap_or_default();
    let seconds = connect_timeout.as_secs_f64().ceil().max(2.0) as u64;
    let seconds = seconds.to_string();
    let mut out = url.to_owned();
    for (key, value) in [("connect_timeout", seconds.as_str())]
        .into_iter()
        .chain(TCP_DEFAULTS)
    {
        if !given.contains(&key) {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
    }
    out
}

impl PgOptions {
    /// Options for the database at `url` (`postgres://user@host:port/db`).
    pub fn new(url: impl Into<String>) -> Self {
        PgOptions {
            url: url.into(),
            pool_size: 10,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: None,
            socket_timeout: None,
            test_transaction: false,
            check_on_checkout: true,
            prepared_statements: None,
            read_urls: Vec::new(),
            read_your_writes: READ_YOUR_WRITES,
            pooler: None,
            migration_url: None,
        }
    }

    /// Read replicas (streaming standbys of the primary at the handle's URL):
    /// reads outside a transaction go to them, round robin over those that
    /// answer; everything else stays on the primary. Default: none, and then
    /// a call costs what it did before, one branch more.
    ///
    /// **What is a read**: typed reads, lists, counts and aggregates
    /// (`User::read`, `User::list(..).all()`, `.count()`, `.sum(..)`), the
    /// record layer's `get`/`select`/`count`/`aggregate`, the nodes' Read,
    /// List and Count, fixture dumps, and raw SQL run through
    /// [`DataFlow::with_read_conn`]. Everything else goes to the primary:
    /// writes, everything inside [`DataFlow::transaction`] (reads too, so a
    /// transaction sees its own writes and one snapshot), migrations, describe,
    /// and raw SQL through [`DataFlow::with_conn`], whose kind is unknown.
    ///
    /// **Staleness**: replicas are asynchronous. A commit on the primary
    /// returns before a replica has replayed it, so a replica can answer with
    /// data from a moment ago: a row just created may be missing, one just
    /// deleted still there. Two rules bound what a caller sees. Within
    /// [`PgOptions::read_your_writes`] (default [`READ_YOUR_WRITES`], 2 s)
    /// after any call through this handle (or its clones) that is not a known
    /// read, reads go to the primary, so a handle reads its own writes. To be
    /// sure of the primary regardless of time, read inside
    /// [`DataFlow::transaction`]. Writes made through other handles or other
    /// processes reach a replica when it has replayed them, usually within
    /// milliseconds; ask `pg_stat_replication` on the primary for the lag.
    ///
    /// **A replica that is down**: a read that cannot get a connection to it
    /// tries the next replica, then the primary; a read whose connection is
    /// lost before the result arrives runs again on the primary (a read is
    /// safe to repeat). Either way the caller sees no error. The
    /// replica is then skipped, and a `tracing` warning says so once per
    /// outage; its pool keeps reconnecting in the background, and reads return
    /// to it as soon as a connection succeeds (or, at the latest, after a
    /// back-off of 1 s, doubled per failure up to 30 s, when a read tries it
    /// again). Opening a connection is bounded by
    /// [`PgOptions::connect_timeout`]; a replica that refuses connections
    /// costs the first read after its failure about 50 ms. A replica
    /// cancelling a read for a conflict with recovery (`40001`) also sends
    /// that read to the primary.
    ///
    /// **Connections**: each replica gets a pool of its own, with the same
    /// options as the primary's (its size [`PgOptions::pool_size`], since one
    /// replica may have to serve every read when the others are down); a
    /// replica URL's own parameters (`prepared_statements`, `pooler`,
    /// `socket_timeout`, libpq's) apply to it: a replica behind a transaction
    /// pooler is declared with `?pooler=transaction` in its URL (or by
    /// [`PgOptions::pooler`] for all of them), which turns its prepared
    /// statements off unless chosen and refuses a
    /// [`PgOptions::statement_timeout`]; an undeclared one is not probed.
    /// The URLs are not reached when connecting: a
    /// replica that is down then does not keep the application from starting.
    /// A [`PgOptions::test_transaction`] handle ignores them (its one
    /// transaction is on the primary).
    ///
    /// There is no URL parameter for this: a URL inside a URL would need
    /// escaping, and libpq's list of hosts (`host=a,b`) already means
    /// failover to the first that answers, not read routing.
    ///
    /// Which server served a read is logged at `trace` level (target
    /// `dataflow_postgres::replicas`, fields `route`, `reason` and `replica`).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let db = dataflow_postgres::PgOptions::new("postgres://app@primary:5432/app")
    ///     .read_urls([
    ///         "postgres://app@replica-1:5432/app",
    ///         "postgres://app@replica-2:5432/app",
    ///     ])
    ///     .read_your_writes(Duration::from_secs(1))
    ///     .connect()?;
    /// // On a replica (or the primary within 1 s of a write through `db`):
    /// // let open = Issue::list(&db).filter(Issue::STATE.eq("open")).all()?;
    /// // Always on the primary: inside a transaction.
    /// db.transaction(|tx| {
    ///     // let fresh = Issue::read(tx, id)?;
    ///     Ok(())
    /// })?;
    /// # Ok::<(), dataflow_core::Error>(())
    /// ```
    ///
    /// [`DataFlow::transaction`]: dataflow_core::DataFlow::transaction
    /// [`DataFlow::with_conn`]: dataflow_core::DataFlow::with_conn
    /// [`DataFlow::with_read_conn`]: dataflow_core::DataFlow::with_read_conn
    pub fn read_urls<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.read_urls = urls.into_iter().map(Into::into).collect();
        self
    }

    /// How long after a write through this handle its reads stay on the
    /// primary when there are read replicas (default [`READ_YOUR_WRITES`],
    /// 2 s), so that the handle reads its own writes although replicas lag.
    /// Any call that is not a known read counts as a write (see
    /// [`PgOptions::read_urls`]), and the window starts when it ends (for a
    /// transaction: when it commits or rolls back). Set it above the
    /// replication lag you accept; `Duration::ZERO` sends every read outside a
    /// transaction to a replica, right after a write too.
    ///
    /// The window belongs to the handle, shared by its clones and threads: a
    /// server that writes through one handle more often than the window
    /// sends every read to the primary. Give such a handle a shorter window
    /// (or none), and read inside a transaction where a request must see its
    /// own writes.
    ///
    /// Since raw SQL through [`DataFlow::with_conn`] counts as a write, a
    /// frequent one (a `SELECT 1` health check every second) would keep
    /// every read on the primary: run read-only raw SQL through
    /// [`DataFlow::with_read_conn`].
    ///
    /// [`DataFlow::with_conn`]: dataflow_core::DataFlow::with_conn
    /// [`DataFlow::with_read_conn`]: dataflow_core::DataFlow::with_read_conn
    pub fn read_your_writes(mut self, window: Duration) -> Self {
        self.read_your_writes = window;
        self
    }

    /// Declares what sits between the application and the server at `url`
    /// (default: not declared; see below). The URL parameter
    /// `pooler=transaction` (or `session`, `direct`) says the same and takes
    /// precedence; `pgbouncer=true`, Prisma's spelling, means
    /// `pooler=transaction`.
    ///
    /// [`Pooler::Transaction`] turns [`prepared_statements`](Self::prepared_statements)
    /// off unless it is set explicitly (PgBouncer 1.21 and later can keep
    /// protocol-level prepared statements with `max_prepared_statements`), and
    /// refuses [`statement_timeout`](Self::statement_timeout) at connect: a
    /// `SET` would land on whichever server session the pooler picked and stay
    /// there for other clients (set it for the role on the server instead,
    /// `ALTER ROLE app SET statement_timeout = '5s'`, or use PgBouncer's
    /// `query_timeout`). Migrations then take their lock inside their own
    /// transaction only; online steps (and `-- dataflow:no-transaction`
    /// migration files) need a session that outlives a transaction, so without
    /// a [`migration_url`](Self::migration_url) they are refused with
    /// `Error::NeedsSession`, before anything is applied.
    ///
    /// Not declared: before a migration takes its session-level lock, two
    /// probe connections check whether the server sessions behind `url` are
    /// shared between clients (one client's server process serving
    /// another), and a transaction pooler found that way is treated as
    /// declared. A busy pooler can hide that sharing from the probe, so declare
    /// it in production.
    ///
    /// ```no_run
    /// use dataflow_postgres::{PgOptions, Pooler};
    /// let db = PgOptions::new("postgres://app@pgbouncer:6432/app")
    ///     .pooler(Pooler::Transaction)
    ///     .migration_url("postgres://app@db-primary:5432/app")
    ///     .connect()?;
    /// // the same pooler, from the URL:
    /// let db = dataflow_postgres::connect("postgres://app@pgbouncer:6432/app?pooler=transaction")?;
    /// # Ok::<(), dataflow_core::Error>(())
    /// ```
    pub fn pooler(mut self, pooler: Pooler) -> Self {
        self.pooler = Some(pooler);
        self
    }

    /// The server's direct URL, for what needs a session of its own (Prisma's
    /// `directUrl`): the migration lock, the migration's DDL and its history,
    /// the online phase (`CREATE INDEX CONCURRENTLY`, validations, batched
    /// backfills, each in its own short transaction under a session-level
    /// lock) and `-- dataflow:no-transaction` migration files. Everything else
    /// (CRUD, nodes, transactions, plans and checks) goes through `url`, e.g. a
    /// transaction pooler.
    ///
    /// It must reach one server session per connection: the server itself, or
    /// a pooler in session mode. It takes dataflow's URL parameters too (e.g.
    /// `?prepared_statements=false`); without them it follows the handle's
    /// [`prepared_statements`](Self::prepared_statements) as chosen explicitly,
    /// and prepares statements otherwise. A builder option rather than a
    /// parameter of `url`, because a URL inside a URL would have to be
    /// percent-encoded whole.
    ///
    /// ```no_run
    /// let db = dataflow_postgres::PgOptions::new("postgres://app@pgbouncer:6432/app?pooler=transaction")
    ///     .migration_url("postgres://app@db-primary:5432/app")
    ///     .connect()?;
    /// # Ok::<(), dataflow_core::Error>(())
    /// ```
    pub fn migration_url(mut self, url: impl Into<String>) -> Self {
        self.migration_url = Some(url.into());
        self
    }

    /// Whether statements are prepared once per connection and reused by name
    /// (default: yes, as diesel does: the server plans a statement once).
    ///
    /// Off: every statement goes to the server as one unnamed
    /// parse-bind-execute message (libpq's `PQsendQueryParams`), so no named
    /// statement ever exists on a server connection. That is what a transaction
    /// pooler (PgBouncer in `pool_mode = transaction`, before 1.21) needs: it
    /// hands each transaction to any server connection, so a statement prepared
    /// on one is missing, or is another client's, on the next. It applies to
    /// every connection of the handle: the pool, the migration's own connection
    /// and `TestDb`'s. The URL parameter `prepared_statements=false` (or
    /// `true`) sets it too and takes precedence, like the other URL parameters.
    /// The cost is a server-side parse and plan per statement; BENCHMARKS.md
    /// measures it. Not set, it follows [`pooler`](Self::pooler): off behind
    /// [`Pooler::Transaction`], on otherwise.
    ///
    /// ```no_run
    /// let db = dataflow_postgres::PgOptions::new("postgres://app@pgbouncer:6432/app")
    ///     .prepared_statements(false)
    ///     .connect()?;
    /// // the same:
    /// let db = dataflow_postgres::connect("postgres://app@pgbouncer:6432/app?prepared_statements=false")?;
    /// # Ok::<(), dataflow_core::Error>(())
    /// ```
    pub fn prepared_statements(mut self, yes: bool) -> Self {
        self.prepared_statements = Some(yes);
        self
    }

    /// Whether a checkout first proves a pooled connection alive. On
    /// (default): what the server sent while the connection was idle is read
    /// without a round trip, and a connection idle for more than a second is
    /// also pinged with `SELECT 1` (one that answered a call within the last
    /// second is trusted, as HikariCP does); a connection the server dropped
    /// (terminated, restart, idle timeout) is replaced before any statement
    /// runs on it. Off: never checked; a dead connection fails the one call
    /// that finds it and is then discarded. Either way a hot pool pays no extra
    /// round trip.
    pub fn check_on_checkout(mut self, yes: bool) -> Self {
        self.check_on_checkout = yes;
        self
    }

    /// Maximum pooled connections.
    pub fn pool_size(mut self, n: u32) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// How long to wait for a connection (default 10 s): for a pooled one to
    /// be free, and for every new connection — the first, the pool's and the
    /// migration's own — to be established (libpq's `connect_timeout`, in
    /// whole seconds, at least 2). A server that accepts TCP but never answers
    /// gives `Error::Connection` ("timeout expired") instead of a hang.
    ///
    /// Every connection also gets TCP keepalives and a TCP user timeout
    /// ([`TCP_DEFAULTS`]) unless the URL sets those parameters itself.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// The longest a statement of a pooled connection may run (default: no
    /// limit); the server cancels it past that, and the call returns
    /// `Error::Connection` saying the statement timeout was exceeded. The
    /// migration's own connection is not limited (index builds and backfills
    /// may take long); its waits are bounded by the migration lock timeout.
    ///
    /// It is a session setting (`SET statement_timeout` when a connection
    /// opens), so behind a transaction pooler (declared with
    /// [`Pooler::Transaction`], or, undeclared, found by the probe described
    /// under [`pooler`](Self::pooler), run at connect when this is set) it
    /// is refused at connect rather than left on the pooler's server
    /// sessions; see [`pooler`](Self::pooler) for what to use there.
    pub fn statement_timeout(mut self, t: Duration) -> Self {
        self.statement_timeout = Some(t);
        self
    }

    /// The longest a pooled connection's call waits for the server to send
    /// anything (default: no limit), as pgjdbc's `socketTimeout`: past it the
    /// connection is closed, the call returns `Error::Connection` naming the
    /// socket timeout, and the connection is never reused. It covers what the
    /// other timeouts cannot: a server process that stops (a stopped or
    /// swapped-out process, a proxy that stops forwarding) while its host keeps
    /// the TCP connection up, so keepalives are answered and the statement
    /// timeout never fires. The wait restarts whenever bytes arrive, so it
    /// bounds silence, not a call's length; a statement that legitimately runs
    /// longer (the server sends nothing until it ends) must stay below it.
    /// Idle pooled connections and application code running between two
    /// statements are never timed.
    ///
    /// The URL parameter `socket_timeout` (seconds, e.g. `?socket_timeout=30`)
    /// sets it too and takes precedence, as libpq's parameters in the URL do;
    /// 0 means no limit. How: each pooled connection then reaches the server
    /// through an in-process relay on 127.0.0.1 (libpq's `hostaddr`; `host`
    /// still names the server for TLS verification), which closes both sides
    /// when the server is silent too long, and gives its own connection to the
    /// server the URL's TCP keepalive settings; it needs a URL with one TCP
    /// host. Without the option there is no relay. The migration's own connections
    /// are not timed, as with the statement timeout.
    pub fn socket_timeout(mut self, t: Duration) -> Self {
        self.socket_timeout = Some(t).filter(|t| !t.is_zero());
        self
    }

    /// Tests only: one connection whose work all happens inside a transaction
    /// that is never committed (rolled back when the handle is dropped). Each
    /// call runs in a savepoint, so a failing statement does not poison the rest.
    pub fn test_transaction(mut self, yes: bool) -> Self {
        self.test_transaction = yes;
        self
    }

    /// Connects.
    pub fn connect(self) -> Result<DataFlow> {
        PgBackend::connect(self).map(|b| DataFlow::new(b, &POSTGRES, &crate::describe::PG_DESCRIBE))
    }
}

/// The URL parameters that are dataflow's, not libpq's (libpq refuses
/// parameters it does not know), taken out of a URL.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct UrlOptions {
    /// `socket_timeout` (seconds; 0: no limit).
    pub socket_timeout: Option<Duration>,
    /// `prepared_statements` (`true` / `false`).
    pub prepared_statements: Option<bool>,
    /// `pooler` (`direct` / `session` / `transaction`), or `pgbouncer=true`.
    pub pooler: Option<Pooler>,
}

/// `url` without dataflow's own parameters, and their values.
pub(crate) fn take_url_options(url: &str) -> Result<(String, UrlOptions)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), UrlOptions::default()));
    };
    let mut found = UrlOptions::default();
    let mut kept = Vec::new();
    for p in query.split('&') {
        if let Some(v) = p.strip_prefix("socket_timeout=") {
            let t = v
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "socket_timeout must be a number of seconds (0: no limit), not {v:?}"
                    ))
                })?;
            found.socket_timeout = Some(t);
        } else if let Some(v) = p.strip_prefix("prepared_statements=") {
            found.prepared_statements = Some(match v {
                "true" | "1" | "on" => true,
                "false" | "0" | "off" => false,
                _ => {
                    return Err(Error::InvalidInput(format!(
                        "prepared_statements must be true or false, not {v:?}"
                    )))
                }
            });
        } else if let Some(v) = p.strip_prefix("pooler=") {
            found.pooler = Some(match v {
                "direct" | "none" => Pooler::Direct,
                "session" => Pooler::Session,
                "transaction" => Pooler::Transaction,
                _ => {
                    return Err(Error::InvalidInput(format!(
                        "pooler must be direct, session or transaction, not {v:?}"
                    )))
                }
            });
        } else if let Some(v) = p.strip_prefix("pgbouncer=") {
            // Prisma's parameter: PgBouncer in transaction mode.
            match v {
                "true" | "1" => found.pooler = Some(Pooler::Transaction),
                "false" | "0" => {}
                _ => {
                    return Err(Error::InvalidInput(format!(
                        "pgbouncer must be true or false, not {v:?}"
                    )))
                }
            }
        } else {
            kept.push(p);
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, found))
}

#[cfg(test)]
mod conninfo_tests {
    use super::{conninfo, take_url_options};
    use std::time::Duration;

    fn take_socket_timeout(url: &str) -> dataflow_core::Result<(String, Option<Duration>)> {
        take_url_options(url).map(|(u, o)| (u, o.socket_timeout))
    }

    #[test]
    fn prepared_statements_is_taken_out_of_the_url() {
        let p = |url: &str| {
            let (u, o) = take_url_options(url).unwrap();
            (u, o.prepared_statements)
        };
        assert_eq!(p("postgres://u@h/db"), ("postgres://u@h/db".into(), None));
        assert_eq!(
            p("postgres://u@h/db?prepared_statements=false"),
            ("postgres://u@h/db".into(), Some(false))
        );
        assert_eq!(
            p("postgres://u@h/db?sslmode=require&prepared_statements=true&socket_timeout=3"),
            ("postgres://u@h/db?sslmode=require".into(), Some(true))
        );
        for bad in ["", "no", "False "] {
            let e = take_url_options(&format!("postgres://h/db?prepared_statements={bad}"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("prepared_statements must be true or false"),
                "{e}"
            );
        }
    }

    #[test]
    fn pooler_is_taken_out_of_the_url() {
        use super::Pooler;
        let p = |url: &str| {
            let (u, o) = take_url_options(url).unwrap();
            (u, o.pooler)
        };
        assert_eq!(p("postgres://u@h/db"), ("postgres://u@h/db".into(), None));
        assert_eq!(
            p("postgres://u@h/db?pooler=transaction&sslmode=require"),
            (
                "postgres://u@h/db?sslmode=require".into(),
                Some(Pooler::Transaction)
            )
        );
        assert_eq!(
            p("postgres://u@h/db?pgbouncer=true"),
            ("postgres://u@h/db".into(), Some(Pooler::Transaction))
        );
        assert_eq!(
            p("postgres://u@h/db?pooler=session"),
            ("postgres://u@h/db".into(), Some(Pooler::Session))
        );
        assert_eq!(p("postgres://u@h/db?pgbouncer=false").1, None);
        for bad in ["pooler=tx", "pooler=", "pgbouncer=yes"] {
            let e = take_url_options(&format!("postgres://h/db?{bad}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("must be"), "{e}");
        }
    }

    #[test]
    fn socket_timeout_is_taken_out_of_the_url() {
        let t = |url: &str| take_socket_timeout(url).unwrap();
        assert_eq!(t("postgres://u@h/db"), ("postgres://u@h/db".into(), None));
        assert_eq!(
            t("postgres://u@h/db?socket_timeout=30"),
            ("postgres://u@h/db".into(), Some(Duration::from_secs(30)))
        );
        assert_eq!(
            t("postgres://u@h/db?sslmode=require&socket_timeout=0.5&port=2"),
            (
                "postgres://u@h/db?sslmode=require&port=2".into(),
                Some(Duration::from_millis(500))
            )
        );
        assert_eq!(
            t("postgres://u@h/db?socket_timeout=0"),
            ("postgres://u@h/db".into(), Some(Duration::ZERO))
        );
        for bad in ["x", "-1", "", "inf"] {
            assert!(take_socket_timeout(&format!("postgres://h/db?socket_timeout={bad}")).is_err());
        }
    }

    #[test]
    fn timeouts_and_keepalives_are_added_unless_given() {
        let url = conninfo("postgres://u@h:1/db", Duration::from_millis(500));
        assert_eq!(
            url,
            "postgres://u@h:1/db?connect_timeout=2&keepalives=1&keepalives_idle=30\
             &keepalives_interval=10&keepalives_count=3&tcp_user_timeout=60000"
        );
        let url = conninfo(
            "postgres://u@h/db?options=-csearch_path%3Dx&keepalives_idle=5&connect_timeout=7",
            Duration::from_secs(10),
        );
        assert_eq!(
            url,
            "postgres://u@h/db?options=-csearch_path%3Dx&keepalives_idle=5&connect_timeout=7\
             &keepalives=1&keepalives_interval=10&keepalives_count=3&tcp_user_timeout=60000"
        );
    }
}
