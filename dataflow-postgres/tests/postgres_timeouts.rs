//! PostgreSQL only: nothing waits for ever on a server that does not answer.
//! A local listener that accepts TCP connections and never answers stands in
//! for a hung server; a forwarding proxy in front of the real server can turn
//! into one for new connections. Every wait in these tests is bounded, so a
//! hang fails the test instead of blocking it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use dataflow_core::prelude::*;
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
/// is set (connections accepted after it is cleared get no answer).
struct Proxy {
    port: u16,
    forward: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: Option<String>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let forward = Arc::new(AtomicBool::new(upstream.is_some()));
        let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let fwd = forward.clone();
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                match (&upstream, fwd.load(Ordering::SeqCst)) {
                    (Some(up), true) => {
                        let Ok(server) = TcpStream::connect(up) else {
                            continue;
                        };
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    _ => held.lock().unwrap().push(client),
                }
            }
        });
        Proxy { port, forward }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
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
