//! PostgreSQL only: nothing waits for ever on a server that does not answer.
//! A local listener that accepts TCP connections and never answers stands in
//! for a hung server; a forwarding proxy in front of the real server can turn
//! into one for new connections, or freeze (stop forwarding, sockets kept
//! open) like a stopped server process. Every wait in these tests is bounded,
//! so a hang fails the test instead of blocking it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use dataflow_core::prelude::*;
use dataflow_core::LogicalType;
use dataflow_postgres::testing::TestDb;
use dataflow_postgres::PgOptions;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "waits")]
struct Wait {
    id: i64,
    note: String,
}

/// How long a test waits for an answer before calling it a hang: far beyond
/// the timeouts under test, so it never decides a passing run.
const HANG: Duration = Duration::from_secs(90);

/// Runs `f` on a thread and returns its result, or panics if it has not
/// returned within [`HANG`].
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what} did not return within {HANG:?}: it hangs"))
}

/// A listener on 127.0.0.1 that accepts connections and holds them open
/// without ever answering, or forwards them to `upstream` while `forward`
/// is set (connections accepted after it is cleared get no answer). While
/// `frozen` is set, forwarded connections stop moving bytes either way, their
/// sockets still open, until it is cleared.
struct Proxy {
    port: u16,
    forward: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: Option<String>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let forward = Arc::new(AtomicBool::new(upstream.is_some()));
        let frozen = Arc::new(AtomicBool::new(false));
        let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let fwd = forward.clone();
        let frz = frozen.clone();
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                match (&upstream, fwd.load(Ordering::SeqCst)) {
                    (Some(up), true) => {
                        let Ok(server) = TcpStream::connect(up) else {
                            continue;
                        };
                        let (c, s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(c, s, frz.clone());
                        pipe(server, client, frz.clone());
                    }
                    _ => held.lock().unwrap().push(client),
                }
            }
        });
        Proxy {
            port,
            forward,
            frozen,
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, frozen: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            while frozen.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

/// `url` with its `host:port` replaced by the proxy's; `None` (test skipped)
/// when the URL has no `@host:port/` part to replace.
fn through(url: &str, port: u16) -> Option<(String, String)> {
    let at = url.find('@')? + 1;
    let slash = at + url[at..].find('/')?;
    let upstream = url[at..slash].to_owned();
    upstream.contains(':').then(|| {
        (
            format!("{}127.0.0.1:{port}{}", &url[..at], &url[slash..]),
            upstream,
        )
    })
}

#[test]
fn connect_to_a_server_that_never_answers_is_a_connection_error() {
    let proxy = Proxy::start(None);
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", proxy.port);
    let result = bounded("connect()", move || {
        PgOptions::new(url)
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .map(|_| ())
    });
    assert!(
        matches!(result, Err(Error::Connection(ref m)) if m.contains("timeout")),
        "{result:?}"
    );
}

#[test]
fn new_connections_to_a_hung_server_time_out_pool_and_migration_alike() {
    if dataflow_postgres::testing::server_url().is_none() {
        return;
    }
    let t = TestDb::builder().build().unwrap();
    let Some((_, upstream)) = through(t.url(), 0) else {
        eprintln!("skipped: DATABASE_URL has no host:port");
        return;
    };
    let proxy = Proxy::start(Some(upstream));
    let (url, _) = through(t.url(), proxy.port).unwrap();
    let db = PgOptions::new(url)
        .pool_size(2)
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .unwrap();
    db.register::<Wait>().unwrap();
    // The server stops answering new connections.
    proxy.forward.store(false, Ordering::SeqCst);
    let db = Arc::new(db);
    let d = db.clone();
    // Migrating needs a connection of its own.
    let migrated = bounded("auto_migrate()", move || {
        d.auto_migrate(MigrateOptions::default()).map(|_| ())
    });
    assert!(
        matches!(migrated, Err(Error::Connection(_))),
        "{migrated:?}"
    );
}

#[test]
fn a_statement_past_the_statement_timeout_is_a_connection_error() {
    let Some(url) = dataflow_postgres::testing::server_url() else {
        return;
    };
    let db = PgOptions::new(url)
        .pool_size(1)
        .statement_timeout(Duration::from_millis(300))
        .connect()
        .unwrap();
    let db = Arc::new(db);
    let d = db.clone();
    let slept = bounded("a slow statement", move || {
        d.with_conn(|c| c.batch_execute("SELECT pg_sleep(60)"))
    });
    assert!(
        matches!(slept, Err(Error::Connection(ref m)) if m.contains("statement timeout")),
        "{slept:?}"
    );
    // The handle keeps working.
    db.with_conn(|c| c.batch_execute("SELECT 1")).unwrap();
}

/// Tests that count relay threads run one at a time (`cargo test` runs the
/// tests of a file as threads of one process).
static RELAYS: Mutex<()> = Mutex::new(());

/// The live socket-timeout relay threads of this process.
fn relay_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|name| name.trim_end() == "df-pg-relay")
                })
                .count()
        })
        .unwrap_or(0)
}

/// Panics unless every relay thread has ended within a few seconds.
fn assert_relays_end() {
    let started = Instant::now();
    while relay_threads() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} relay threads still running after their connections were dropped",
            relay_threads()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A test database and a proxy in front of its server; `None` (skipped, not
/// under CI) without a server or a URL with `host:port`.
fn behind_proxy() -> Option<(TestDb, Proxy, String)> {
    dataflow_postgres::testing::server_url()?;
    let t = TestDb::builder().build().unwrap();
    let Some((_, upstream)) = through(t.url(), 0) else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but DATABASE_URL has no host:port to put a proxy in front of"
        );
        eprintln!("skipped: DATABASE_URL has no host:port");
        return None;
    };
    let proxy = Proxy::start(Some(upstream));
    let (url, _) = through(t.url(), proxy.port).unwrap();
    Some((t, proxy, url))
}

fn backend_pid(db: &DataFlow) -> Result<i32> {
    db.with_conn(|c| {
        let mut pid = None;
        c.query(
            "SELECT pg_backend_pid()::bigint",
            &[],
            &[LogicalType::BigInt],
            &mut |row| {
                pid = match row[0] {
                    Value::I64(p) => Some(p as i32),
                    _ => None,
                };
                Ok(())
            },
        )?;
        Ok(pid.expect("a pid"))
    })
}

#[test]
fn a_server_that_stops_answering_mid_call_hits_the_socket_timeout() {
    let _one = RELAYS.lock().unwrap_or_else(|e| e.into_inner());
    let Some((_t, proxy, url)) = behind_proxy() else {
        return;
    };
    let timeout = Duration::from_secs(2);
    let db = PgOptions::new(url)
        .pool_size(1)
        .connect_timeout(Duration::from_secs(2))
        .socket_timeout(timeout)
        // The frozen call is then the statement itself, not the checkout's
        // ping (which would hit the same timeout, and the pool would then
        // wait for a new connection instead).
        .check_on_checkout(false)
        .connect()
        .unwrap();
    let db = Arc::new(db);
    let before = backend_pid(&db).unwrap();
    assert!(
        relay_threads() > 0,
        "a pooled connection with a socket timeout has a relay"
    );

    // The server's process stops; its host keeps the TCP connection up.
    proxy.frozen.store(true, Ordering::SeqCst);
    let d = db.clone();
    let (result, waited) = bounded("a query to a frozen server", move || {
        let started = Instant::now();
        let r = d.with_conn(|c| c.batch_execute("SELECT 1"));
        (r, started.elapsed())
    });
    eprintln!("socket timeout {timeout:?}: after {waited:?}, {result:?}");
    assert!(
        matches!(result, Err(Error::Connection(ref m)) if m.contains("socket timeout")),
        "{result:?}"
    );
    assert!(
        waited >= timeout,
        "returned after {waited:?}, before the timeout"
    );
    assert!(
        waited < Duration::from_secs(20),
        "returned only after {waited:?}"
    );

    // The server answers again: the next call gets a new connection.
    proxy.frozen.store(false, Ordering::SeqCst);
    let d = db.clone();
    let after = bounded("a query after the server came back", move || {
        backend_pid(&d)
    })
    .unwrap();
    assert_ne!(before, after, "the timed-out connection was reused");

    drop(db);
    assert_relays_end();
}

#[test]
fn a_server_that_stops_answering_fails_the_checkout_ping_within_the_socket_timeout() {
    let _one = RELAYS.lock().unwrap_or_else(|e| e.into_inner());
    let Some((_t, proxy, url)) = behind_proxy() else {
        return;
    };
    let timeout = Duration::from_secs(2);
    // Checkout checks on (the default): a connection idle for more than a
    // second is pinged first, and it is the ping that meets the frozen server.
    let db = PgOptions::new(url)
        .pool_size(1)
        .connect_timeout(Duration::from_secs(2))
        .socket_timeout(timeout)
        .connect()
        .unwrap();
    let db = Arc::new(db);
    let before = backend_pid(&db).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    proxy.frozen.store(true, Ordering::SeqCst);
    let d = db.clone();
    let (result, waited) = bounded("a checkout from a frozen server", move || {
        let started = Instant::now();
        let r = d.with_conn(|c| c.batch_execute("SELECT 1"));
        (r, started.elapsed())
    });
    eprintln!("socket timeout {timeout:?}: after {waited:?}, {result:?}");
    assert!(
        matches!(result, Err(Error::Connection(ref m)) if m.contains("socket timeout")),
        "{result:?}"
    );
    assert!(
        waited >= timeout,
        "returned after {waited:?}, before the timeout"
    );
    assert!(
        waited < Duration::from_secs(20),
        "returned only after {waited:?}"
    );
    proxy.frozen.store(false, Ordering::SeqCst);
    let d = db.clone();
    let after = bounded("a query after the server came back", move || {
        backend_pid(&d)
    })
    .unwrap();
    assert_ne!(before, after, "the timed-out connection was reused");
    drop(db);
    assert_relays_end();
}

#[test]
fn a_socket_timeout_spares_slow_statements_idle_connections_and_idle_callers() {
    let _one = RELAYS.lock().unwrap_or_else(|e| e.into_inner());
    let Some((_t, _proxy, url)) = behind_proxy() else {
        return;
    };
    // Through the URL this time.
    let db = PgOptions::new(format!("{url}?socket_timeout=2"))
        .pool_size(2)
        .check_on_checkout(false)
        .connect()
        .unwrap();
    let db = Arc::new(db);
    let d = db.clone();
    bounded("slow statements and idle waits", move || {
        let pid = backend_pid(&d).unwrap();
        // A statement that keeps the server silent for most of the timeout.
        d.with_conn(|c| c.batch_execute("SELECT pg_sleep(1.5)"))
            .unwrap();
        // Idle in the pool for longer than the timeout.
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(
            backend_pid(&d).unwrap(),
            pid,
            "an idle connection was closed"
        );
        // The application, not the server, is slow between two statements,
        // inside a transaction and while rows are handed out.
        d.transaction(|tx| {
            tx.with_conn(|c| {
                c.batch_execute("SELECT 1")?;
                std::thread::sleep(Duration::from_millis(2500));
                c.query(
                    "SELECT g::bigint FROM generate_series(1, 2) g",
                    &[],
                    &[LogicalType::BigInt],
                    &mut |_| {
                        std::thread::sleep(Duration::from_millis(1500));
                        Ok(())
                    },
                )
            })
        })
        .unwrap();
        assert_eq!(backend_pid(&d).unwrap(), pid, "a connection was closed");
        // A large result (many reads through the relay).
        d.with_conn(|c| {
            let mut rows = 0;
            c.query(
                "SELECT repeat('x', 1000) || g FROM generate_series(1, 20000) g",
                &[],
                &[LogicalType::Text],
                &mut |_| {
                    rows += 1;
                    Ok(())
                },
            )?;
            assert_eq!(rows, 20000);
            Ok(())
        })
        .unwrap();
    });
    drop(db);
    assert_relays_end();
}

#[test]
fn no_relay_without_a_socket_timeout() {
    let _one = RELAYS.lock().unwrap_or_else(|e| e.into_inner());
    let Some(url) = dataflow_postgres::testing::server_url() else {
        return;
    };
    let db = PgOptions::new(url).pool_size(1).connect().unwrap();
    db.with_conn(|c| c.batch_execute("SELECT 1")).unwrap();
    assert_eq!(relay_threads(), 0);
}
