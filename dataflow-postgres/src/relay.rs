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
    timeout: Duration,
    epoch: Instant,
    /// Nanoseconds after `epoch` when bytes last arrived from either side.
    last_traffic: AtomicU64,
    state: Mutex<State>,
    wake: Condvar,
    fired: AtomicBool,
    /// libpq gave up before reaching the listener: the accept is woken by a
    /// connection of our own and ends the relay.
    abandoned: AtomicBool,
    /// Both sockets, once libpq has connected, for closing them.
    sockets: Mutex<Option<(TcpStream, TcpStream)>>,
}

#[derive(Default)]
struct State {
    /// Set while the client waits for the server: since when.
    waiting_since: Option<Instant>,
    /// The watchdog sleeps without a deadline (nothing to watch).
    parked: bool,
    closed: bool,
}

impl Relay {
    /// Connects to `upstream` (within `connect_timeout`) and listens on
    /// 127.0.0.1 for libpq's one connection, on [`Relay::port`].
    pub(crate) fn start(
        upstream: &Upstream,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> io::Result<Relay> {
        let server = upstream.connect(connect_timeout)?;
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            timeout,
            epoch: Instant::now(),
            last_traffic: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            fired: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            sockets: Mutex::new(None),
        });
        let s = shared.clone();
        spawn(move || s.run(listener, server))?;
        Ok(Relay { shared, port })
    }

    /// The port on 127.0.0.1 libpq must connect to.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// libpq failed to connect: ends the relay even if libpq never reached it.
    pub(crate) fn abandon(self) {
        self.shared.abandoned.store(true, Ordering::SeqCst);
        // Wakes the accept; refused at once if it already took libpq's
        // connection (the relay then ends when libpq closes it).
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

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn touch(&self) {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.last_traffic.fetch_max(now, Ordering::Relaxed);
    }

    fn last_traffic(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.last_traffic.load(Ordering::Relaxed))
    }

    /// The relay's first thread: takes libpq's connection, starts the two
    /// forwarding threads, then watches the time until the relay closes.
    fn run(self: Arc<Self>, listener: TcpListener, server: TcpStream) {
        let client = loop {
            match listener.accept() {
                // Only libpq (or `abandon`) is told the port; another local
                // process connecting first would only make libpq's connect
                // time out, as it would reach the server on its own anyway.
                Ok((c, _)) => break c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        };
        drop(listener);
        if self.abandoned.load(Ordering::SeqCst) {
            return;
        }
        let clones = (|| {
            // As libpq and the server do: a query is one small write, and
            // Nagle's algorithm would hold it back for an acknowledgement.
            client.set_nodelay(true)?;
            server.set_nodelay(true)?;
            let kept = (client.try_clone()?, server.try_clone()?);
            Ok::<_, io::Error>((kept, client.try_clone()?, server.try_clone()?))
        })();
        let Ok((kept, client_in, server_in)) = clones else {
            return;
        };
        *self.sockets.lock().unwrap_or_else(PoisonError::into_inner) = Some(kept);
        let up = self.clone();
        let down = self.clone();
        if spawn(move || up.pump(client_in, server)).is_err() {
            return self.close();
        }
        if spawn(move || down.pump(server_in, client)).is_err() {
            return self.close();
        }
        self.watch();
    }

    /// Copies `from` to `to` until either side ends, then closes the relay.
    fn pump(&self, mut from: TcpStream, mut to: TcpStream) {
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
        self.close();
    }

    /// Shuts both sockets down (a blocked read on either returns) and ends the
    /// watchdog.
    fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
        if let Some((client, server)) =
            &*self.sockets.lock().unwrap_or_else(PoisonError::into_inner)
        {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
    }

    /// Sleeps while nobody waits; while the client waits, closes the relay
    /// once the server has been silent for the timeout. It wakes at most
    /// once per timeout while the connection is busy, not once per call.
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
                        return self.close();
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
    use super::Upstream;

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
