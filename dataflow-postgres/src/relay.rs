//! The client-side socket timeout (`PgOptions::socket_timeout`).
//!
//! libpq waits in `recv` for as long as the server keeps the TCP connection up,
//! and neither diesel nor libpq offers a deadline or a way to close the socket
//! from another thread without `unsafe`. So a pooled connection opened with a
//! socket timeout talks to the server through a relay of its own: libpq
//! connects to a listener on 127.0.0.1 (libpq's `hostaddr`; `host` stays the
//! server's name, for TLS verification and messages), and three threads forward
//! bytes both ways and watch the time. The backend marks the spans in which
//! libpq waits for an answer ([`Relay::set_waiting`]); a span in which nothing
//! has arrived from the server for the timeout (bytes the client sends, such as
//! `COPY` data, also count as progress) makes the relay close both sockets:
//! libpq's `recv` returns, the call fails and the connection is discarded.
//! Outside those spans (an idle pooled connection, application code running
//! between two statements) the relay never closes anything.
//!
//! The relay reads no protocol message (TLS, which PostgreSQL uses by default,
//! would hide them anyway): the backend knows when it waits, the relay only
//! knows when bytes move.
//!
//! Over 500 lines only with its unit tests (about 170 lines).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The name of every relay thread (the OS shows at most 15 bytes).
pub(crate) const THREAD_NAME: &str = "df-pg-relay";

/// The relay threads hold their buffers on the heap; this is plenty for the rest.
const STACK: usize = 64 * 1024;

const BUFFER: usize = 32 * 1024;

/// The server a relay connects to: the URL's TCP host (or `hostaddr`) and
/// port, and libpq's TCP settings from the URL. libpq applies those to its own
/// socket, which only reaches the relay, so the relay applies them to its
/// socket to the server: keepalives keep an idle connection's NAT and
/// firewall state alive and notice a vanished server there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upstream {
    host: String,
    port: u16,
    tcp: TcpSettings,
}

/// libpq's `keepalives*` and `tcp_user_timeout` (0 or absent: the system's default).
#[derive(Debug, Clone, PartialEq, Eq)]
struct TcpSettings {
    keepalives: bool,
    idle: u64,
    interval: u64,
    count: u32,
    user_timeout_ms: u64,
}

impl TcpSettings {
    fn apply(&self, s: &TcpStream) -> io::Result<()> {
        let sock = socket2::SockRef::from(s);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.user_timeout_ms > 0 {
            sock.set_tcp_user_timeout(Some(Duration::from_millis(self.user_timeout_ms)))?;
        }
        if !self.keepalives {
            return Ok(());
        }
        let mut k = socket2::TcpKeepalive::new();
        if self.idle > 0 {
            k = k.with_time(Duration::from_secs(self.idle));
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            if self.interval > 0 {
                k = k.with_interval(Duration::from_secs(self.interval));
            }
            if self.count > 0 {
                k = k.with_retries(self.count);
            }
        }
        sock.set_tcp_keepalive(&k)
    }
}

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Upstream {
    /// The server a libpq URL (`postgres://user@host:port/db?…`) connects to,
    /// as libpq picks it: `hostaddr`, else `host`, from the query string (the
    /// last one given), else the URL's host; the `port` parameter, else the
    /// URL's port, else `PGPORT`, else 5432. Unix-domain sockets and lists of
    /// hosts are refused: the relay speaks TCP to one server.
    pub(crate) fn from_url(url: &str) -> std::result::Result<Upstream, String> {
        let rest = url
            .split_once("://")
            .map_or(url, |(_, r)| r)
            .split('#')
            .next()
            .unwrap_or_default();
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = path.split('/').next().unwrap_or_default();
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (mut host, mut port) = split_host_port(hostport);
        let mut hostaddr = None;
        let mut tcp = TcpSettings {
            keepalives: true,
            idle: 0,
            interval: 0,
            count: 0,
            user_timeout_ms: 0,
        };
        for (key, value) in query.split('&').filter_map(|p| p.split_once('=')) {
            let value = percent_decode(value);
            let number = || value.trim().parse::<u64>().unwrap_or(0);
            match key {
                "host" => host = value,
                "hostaddr" => hostaddr = Some(value),
                "port" => port = value,
                "keepalives" => tcp.keepalives = number() != 0,
                "keepalives_idle" => tcp.idle = number(),
                "keepalives_interval" => tcp.interval = number(),
                "keepalives_count" => tcp.count = number().try_into().unwrap_or(0),
                "tcp_user_timeout" => tcp.user_timeout_ms = number(),
                _ => {}
            }
        }
        let host = hostaddr.unwrap_or(host);
        let why = "a socket timeout needs the server's TCP host in the URL \
                   (one host, not a Unix-domain socket)";
        if host.is_empty() || host.starts_with('/') || host.starts_with('@') || host.contains(',') {
            return Err(format!("{why}: {url:?}"));
        }
        if port.is_empty() {
            port = std::env::var("PGPORT").unwrap_or_default();
        }
        let port = if port.is_empty() {
            5432
        } else {
            port.parse()
                .map_err(|_| format!("{why}; not a port: {port:?}"))?
        };
        Ok(Upstream { host, port, tcp })
    }

    /// Connects to the first address of the host that answers within `timeout`.
    fn connect(&self, timeout: Duration) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in (self.host.as_str(), self.port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(s) => {
                    self.tcp.apply(&s)?;
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("the host name resolves to no address")))
    }
}

/// `host[:port]`, `[v6][:port]` → (host, port), both possibly empty.
fn split_host_port(s: &str) -> (String, String) {
    if let Some(v6) = s.strip_prefix('[') {
        let (host, rest) = v6.split_once(']').unwrap_or((v6, ""));
        return (host.to_owned(), rest.trim_start_matches(':').to_owned());
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (percent_decode(h), p.to_owned()),
        _ => (percent_decode(s), String::new()),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One connection's relay, owned by the pooled connection that uses it. Its
/// threads end when libpq closes its socket (the connection is dropped) or
/// when the timeout closes both sockets.
pub(crate) struct Relay {
    shared: Arc<Shared>,
    port: u16,
}

struct Shared {
    upstream: Upstream,
    connect_timeout: Duration,
    timeout: Duration,
    epoch: Instant,
    /// Nanoseconds after `epoch` when bytes last arrived from either side.
    last_traffic: AtomicU64,
    state: Mutex<State>,
    wake: Condvar,
    fired: AtomicBool,
    /// libpq has its connection, or gave up: the next connection accepted is
    /// ours, made only to wake the accept, which then stops.
    established: AtomicBool,
    abandoned: AtomicBool,
    /// The latest attempt's number and sockets (libpq may connect again after
    /// a failed attempt, e.g. to retry with or without TLS).
    current: Mutex<Option<(u64, TcpStream, TcpStream)>>,
}

#[derive(Default)]
struct State {
    /// Set while the client waits for the server: since when.
    waiting_since: Option<Instant>,
    /// The watchdog sleeps without a deadline (nothing to watch).
    parked: bool,
    /// The latest attempt's connection has ended.
    closed: bool,
}

impl Relay {
    /// Connects to `upstream` (within `connect_timeout`) and listens on
    /// 127.0.0.1 for libpq, on [`Relay::port`]. Call [`Relay::established`]
    /// once libpq has connected, or [`Relay::abandon`] if it failed.
    pub(crate) fn start(
        upstream: &Upstream,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> io::Result<Relay> {
        let server = upstream.connect(connect_timeout)?;
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            upstream: upstream.clone(),
            connect_timeout,
            timeout,
            epoch: Instant::now(),
            last_traffic: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            fired: AtomicBool::new(false),
            established: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            current: Mutex::new(None),
        });
        let s = shared.clone();
        spawn(move || s.run(listener, server))?;
        Ok(Relay { shared, port })
    }

    /// The port on 127.0.0.1 libpq must connect to.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// libpq is connected: stop listening and start watching.
    pub(crate) fn established(&self) {
        self.shared.established.store(true, Ordering::SeqCst);
        self.wake_accept();
    }

    /// libpq failed to connect: the relay ends (at once if libpq never
    /// reached it, else as libpq closes its socket). Dropping a relay that
    /// was never established does the same.
    pub(crate) fn abandon(self) {}

    fn wake_accept(&self) {
        let local = SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, self.port));
        let _ = TcpStream::connect_timeout(&local, Duration::from_secs(1));
    }

    /// Marks whether the client is now waiting for the server.
    pub(crate) fn set_waiting(&self, yes: bool) {
        let mut st = self.shared.lock();
        if yes {
            st.waiting_since = Some(Instant::now());
            if st.parked {
                self.shared.wake.notify_one();
            }
        } else {
            st.waiting_since = None;
        }
    }

    /// Whether the timeout closed the connection.
    pub(crate) fn fired(&self) -> bool {
        self.shared.fired.load(Ordering::SeqCst)
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.shared.timeout
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.shared.established.load(Ordering::SeqCst) {
            self.shared.abandoned.store(true, Ordering::SeqCst);
            self.wake_accept();
        }
    }
}

/// Runs `f` marked as waiting for the server, when there is a relay.
pub(crate) fn waiting<R>(relay: Option<&Relay>, f: impl FnOnce() -> R) -> R {
    match relay {
        None => f(),
        Some(r) => {
            r.set_waiting(true);
            let out = f();
            r.set_waiting(false);
            out
        }
    }
}

fn spawn(f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .stack_size(STACK)
        .spawn(f)
        .map(drop)
}

fn shut(a: &TcpStream, b: &TcpStream) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn current(&self) -> MutexGuard<'_, Option<(u64, TcpStream, TcpStream)>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn touch(&self) {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.last_traffic.fetch_max(now, Ordering::Relaxed);
    }

    fn last_traffic(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.last_traffic.load(Ordering::Relaxed))
    }

    /// The relay's first thread: relays each connection libpq makes (to a
    /// server connection of its own) until libpq is connected, then watches
    /// the time until the connection ends.
    fn run(self: Arc<Self>, listener: TcpListener, server: TcpStream) {
        let mut first = Some(server);
        let mut attempt = 0;
        loop {
            let client = match listener.accept() {
                // Only libpq and this relay are told the port; another
                // local process connecting first would only be relayed to
                // the server, which it can reach on its own anyway.
                Ok((c, _)) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.end_current(),
            };
            if self.abandoned.load(Ordering::SeqCst) {
                return;
            }
            if self.established.load(Ordering::SeqCst) {
                break;
            }
            let server = match first.take() {
                Some(s) => s,
                // Dropping `client` tells libpq this attempt failed.
                None => match self.upstream.connect(self.connect_timeout) {
                    Ok(s) => s,
                    Err(_) => continue,
                },
            };
            attempt += 1;
            if self.clone().relay(attempt, client, server).is_err() {
                return self.end_current();
            }
        }
        drop(listener);
        self.watch();
    }

    /// Starts forwarding between `client` and `server` as the latest attempt.
    fn relay(
        self: Arc<Self>,
        attempt: u64,
        client: TcpStream,
        server: TcpStream,
    ) -> io::Result<()> {
        // As libpq and the server do: a query is one small write, and Nagle's
        // algorithm would hold it back for an acknowledgement.
        client.set_nodelay(true)?;
        server.set_nodelay(true)?;
        {
            let mut current = self.current();
            *current = Some((attempt, client.try_clone()?, server.try_clone()?));
            self.lock().closed = false;
        }
        let (client_in, server_in) = (client.try_clone()?, server.try_clone()?);
        let up = self.clone();
        spawn(move || up.pump(attempt, client_in, server))?;
        spawn(move || self.pump(attempt, server_in, client))
    }

    /// Copies `from` to `to` until either side ends, then closes both.
    fn pump(&self, attempt: u64, mut from: TcpStream, mut to: TcpStream) {
        let mut buf = vec![0u8; BUFFER];
        loop {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.touch();
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        // The other direction's blocked read returns.
        shut(&from, &to);
        // Under the lock that `relay` takes to start a newer attempt, so an
        // earlier attempt never marks the newer one closed.
        let current = self.current();
        if current.as_ref().is_some_and(|c| c.0 == attempt) {
            self.lock().closed = true;
            self.wake.notify_one();
        }
    }

    /// Shuts down the latest attempt's sockets (its threads then end) and
    /// ends the watchdog.
    fn end_current(&self) {
        let current = self.current();
        if let Some((_, client, server)) = &*current {
            shut(client, server);
        }
        self.lock().closed = true;
        self.wake.notify_one();
    }

    /// Sleeps while nobody waits; while the client waits, closes the
    /// connection once the server has been silent for the timeout. It wakes
    /// at most once per timeout while the connection is busy, not per call.
    fn watch(&self) {
        let mut st = self.lock();
        loop {
            if st.closed {
                return;
            }
            match st.waiting_since {
                None => {
                    st.parked = true;
                    st = self.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
                    st.parked = false;
                }
                Some(since) => {
                    let deadline = since.max(self.last_traffic()) + self.timeout;
                    let now = Instant::now();
                    if now >= deadline {
                        self.fired.store(true, Ordering::SeqCst);
                        drop(st);
                        return self.end_current();
                    }
                    st = self
                        .wake
                        .wait_timeout(st, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Relay, Upstream};
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Every relay thread holds the relay's shared state: once only the
    /// handle does, they have all ended. (Counting the process's threads by
    /// name would also count relays that other tests start meanwhile.)
    fn assert_threads_end(relay: &Relay) {
        let started = Instant::now();
        while Arc::strong_count(&relay.shared) > 1 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "relay threads leak"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A server that accepts one connection and never answers, and a relay to it.
    fn silent_server(timeout: Duration) -> (Relay, TcpListener) {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let upstream = Upstream::from_url(&format!("postgres://127.0.0.1:{port}/db")).unwrap();
        let relay = Relay::start(&upstream, Duration::from_secs(5), timeout).unwrap();
        (relay, server)
    }

    #[test]
    fn a_relay_that_libpq_never_reached_ends_when_abandoned() {
        let (relay, _server) = silent_server(Duration::from_millis(100));
        let shared = relay.shared.clone();
        relay.abandon();
        let started = Instant::now();
        while Arc::strong_count(&shared) > 1 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "relay threads leak"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_waiting_client_is_cut_off_only_after_the_timeout_of_silence() {
        let timeout = Duration::from_millis(300);
        let (relay, server) = silent_server(timeout);
        let mut client = TcpStream::connect(("127.0.0.1", relay.port())).unwrap();
        let (mut upstream, _) = server.accept().unwrap();
        // Not waiting: silence is fine, bytes flow both ways.
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        upstream.read_exact(&mut buf).unwrap();
        relay.established();
        std::thread::sleep(timeout * 3);
        upstream.write_all(b"pong").unwrap();
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong");
        assert!(!relay.fired());
        // Waiting: the server's bytes restart the wait, its silence ends it.
        relay.set_waiting(true);
        let started = Instant::now();
        for _ in 0..3 {
            std::thread::sleep(timeout / 2);
            upstream.write_all(b"x").unwrap();
            client.read_exact(&mut buf[..1]).unwrap();
        }
        assert!(!relay.fired());
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(client.read(&mut buf).unwrap(), 0, "closed");
        assert!(started.elapsed() >= timeout * 3 / 2 + timeout);
        assert!(relay.fired());
        drop((client, upstream));
        assert_threads_end(&relay);
    }

    #[test]
    fn each_connection_attempt_gets_a_server_connection_of_its_own() {
        let (relay, server) = silent_server(Duration::from_millis(300));
        // libpq may try again after a failed attempt (e.g. sslmode=allow).
        let mut last = None;
        for attempt in 0..2u8 {
            let mut client = TcpStream::connect(("127.0.0.1", relay.port())).unwrap();
            let (mut upstream, _) = server.accept().unwrap();
            client.write_all(&[attempt]).unwrap();
            let mut got = [9u8];
            upstream.read_exact(&mut got).unwrap();
            assert_eq!(got, [attempt]);
            upstream.write_all(b"ok").unwrap();
            client.read_exact(&mut [0u8; 2]).unwrap();
            if attempt == 0 {
                // libpq closes a failed attempt before it tries again.
                drop((client, upstream));
                std::thread::sleep(Duration::from_millis(200));
            } else {
                last = Some((client, upstream));
            }
        }
        relay.established();
        // The last attempt is the connection: it is watched.
        let (mut client, _upstream) = last.unwrap();
        relay.set_waiting(true);
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(client.read(&mut [0u8; 1]).unwrap(), 0, "closed");
        assert!(relay.fired());
        assert_threads_end(&relay);
    }

    #[test]
    fn a_relay_ends_when_the_client_closes() {
        let (relay, server) = silent_server(Duration::from_secs(60));
        let mut client = TcpStream::connect(("127.0.0.1", relay.port())).unwrap();
        // The server keeps its end open and never answers.
        let (mut upstream, _) = server.accept().unwrap();
        client.write_all(b"hello").unwrap();
        upstream.read_exact(&mut [0u8; 5]).unwrap();
        relay.established();
        relay.set_waiting(true);
        drop(client);
        assert_threads_end(&relay);
        assert!(!relay.fired());
    }

    fn up(url: &str) -> Result<(String, u16), String> {
        Upstream::from_url(url).map(|u| (u.host, u.port))
    }

    #[test]
    fn the_server_is_found_where_libpq_looks() {
        let ok = |h: &str, p| Ok((h.to_owned(), p));
        assert_eq!(
            up("postgres://u:p@db.example:6432/app"),
            ok("db.example", 6432)
        );
        assert_eq!(
            up("postgresql://db.example/app?sslmode=require"),
            ok("db.example", 5432)
        );
        assert_eq!(up("postgres://u@[::1]:7/app"), ok("::1", 7));
        assert_eq!(up("postgres://u@[::1]/app"), ok("::1", 5432));
        assert_eq!(
            up("postgres://u@h:1/app?host=other&port=2&hostaddr=10.0.0.1"),
            ok("10.0.0.1", 2)
        );
        assert_eq!(up("postgres://u@h:1/app?port=3"), ok("h", 3));
        let tcp = |url: &str| Upstream::from_url(url).unwrap().tcp;
        let given =
            tcp("postgres://h/app?keepalives_idle=30&tcp_user_timeout=60000&keepalives_count=3");
        assert!(given.keepalives);
        assert_eq!((given.idle, given.interval, given.count), (30, 0, 3));
        assert_eq!(given.user_timeout_ms, 60000);
        assert!(!tcp("postgres://h/app?keepalives=0").keepalives);
        for refused in [
            "postgres:///app",
            "postgres://u@/app?host=/var/run/postgresql",
            "postgres://u@%2Fvar%2Frun%2Fpostgresql/app",
            "postgres://a:1,b:2/app",
            "postgres://h:port/app",
        ] {
            assert!(up(refused).is_err(), "{refused}");
        }
    }
}
