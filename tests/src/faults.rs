//! Fault injection for the fault test: a TCP proxy that sits on loopback in front of a parent's
//! inter-node port and, switched at run time, passes traffic through, resets connections, delays
//! them, cuts them after a number of bytes, or black-holes them; and a small seeded PRNG so that
//! a seed gives the same schedule of faults. The proxy never looks inside the (TLS) bytes, never
//! listens or dials beyond loopback, and counts everything it did.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// SplitMix64 (Steele, Lea and Flood): tiny, fast, and its output for a seed never changes
/// with a dependency's version, which is what a reproducible fault schedule needs. Not for
/// secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0), without modulo bias worth the name.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo))
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.below(items.len() as u64) as usize;
        &items[i.min(items.len().saturating_sub(1))]
    }

    /// An independent generator drawn from this one (one per task, so that tasks running in
    /// any order still draw the same numbers).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

/// Which way bytes go through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From the child to the parent: the request.
    Up,
    /// From the parent to the child: the answer.
    Down,
}

/// What the proxy does to traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Traffic passes untouched.
    Pass,
    /// Connections are dropped: the open ones at once, new ones as soon as they are accepted.
    Drop,
    /// Every chunk waits this long before it is forwarded, both ways.
    Delay(Duration),
    /// Each connection is closed, both ends, once `after` more bytes went `dir`: a request (or
    /// its answer) cut halfway, or a TLS handshake cut short when `after` is small.
    Cut { after: u64, dir: Dir },
    /// New connections are accepted and never answered, open ones stall. When the fault ends
    /// they are closed, as a middlebox that finally gives up would.
    BlackHole,
}

impl Fault {
    /// The fault's kind, for counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::Drop => "drop",
            Fault::Delay(_) => "delay",
            Fault::Cut { .. } => "cut",
            Fault::BlackHole => "black-hole",
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    connections: AtomicU64,
    dropped: AtomicU64,
    delayed_chunks: AtomicU64,
    cut: AtomicU64,
    held: AtomicU64,
    upstream_refused: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// What a proxy (or several, added up) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Faults switched on, by kind.
    pub injected: BTreeMap<&'static str, u64>,
    /// Connections accepted.
    pub connections: u64,
    /// Connections dropped by a `Drop` fault.
    pub dropped: u64,
    /// Chunks held back by a `Delay` fault.
    pub delayed_chunks: u64,
    /// Connections cut by a `Cut` fault.
    pub cut: u64,
    /// Connections black-holed.
    pub held: u64,
    /// Connections whose parent could not be reached (it was down).
    pub upstream_refused: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        for (kind, n) in &other.injected {
            *self.injected.entry(kind).or_default() += n;
        }
        self.connections += other.connections;
        self.dropped += other.dropped;
        self.delayed_chunks += other.delayed_chunks;
        self.cut += other.cut;
        self.held += other.held;
        self.upstream_refused += other.upstream_refused;
        self.bytes_up += other.bytes_up;
        self.bytes_down += other.bytes_down;
    }

    /// Faults switched on, all kinds.
    pub fn faults(&self) -> u64 {
        self.injected.values().sum()
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<String> = self
            .injected
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        write!(
            f,
            "faults {} ({}); connections {}: dropped {}, cut {}, black-holed {}, parent down {}; \
             delayed chunks {}; bytes up {} down {}",
            self.faults(),
            kinds.join(", "),
            self.connections,
            self.dropped,
            self.cut,
            self.held,
            self.upstream_refused,
            self.delayed_chunks,
            self.bytes_up,
            self.bytes_down
        )
    }
}

/// A fault-injecting proxy on a loopback port in front of one upstream address. Dropping it
/// stops it and closes every connection through it.
pub struct Proxy {
    addr: SocketAddr,
    fault: watch::Sender<Fault>,
    /// The fault in force and its number, so that a fault ending late does not end a later one.
    current: Mutex<(u64, Fault)>,
    injected: Mutex<BTreeMap<&'static str, u64>>,
    counts: Arc<Counts>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a fresh loopback port in front of `upstream` (a loopback address), passing
    /// traffic through until told otherwise. Call inside a tokio runtime.
    pub fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        if !upstream.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the fault proxy only forwards to loopback",
            ));
        }
        // Bound now, before any child is told the address: no race for the port.
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(std_listener)?;
        let addr = listener.local_addr()?;
        let (fault, _) = watch::channel(Fault::Pass);
        let counts = Arc::new(Counts::default());
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream,
            fault.clone(),
            counts.clone(),
        ));
        Ok(Proxy {
            addr,
            fault,
            current: Mutex::new((0, Fault::Pass)),
            injected: Mutex::new(BTreeMap::new()),
            counts,
            accept,
        })
    }

    /// Where children dial: `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Switches `fault` on (replacing any other) and returns its number for [`Proxy::end`].
    pub fn inject(&self, fault: Fault) -> u64 {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.0 += 1;
        current.1 = fault;
        if fault != Fault::Pass {
            let mut injected = self.injected.lock().unwrap_or_else(|p| p.into_inner());
            *injected.entry(fault.kind()).or_default() += 1;
        }
        self.fault.send_replace(fault);
        current.0
    }

    /// Ends fault number `n` (traffic passes again), unless another fault replaced it since.
    pub fn end(&self, n: u64) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if current.0 == n {
            current.1 = Fault::Pass;
            self.fault.send_replace(Fault::Pass);
        }
    }

    /// Ends whatever fault is on.
    pub fn heal(&self) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.0 += 1;
        current.1 = Fault::Pass;
        self.fault.send_replace(Fault::Pass);
    }

    /// The fault in force.
    pub fn fault(&self) -> Fault {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    /// What the proxy did so far.
    pub fn tally(&self) -> Tally {
        let c = &self.counts;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Tally {
            injected: self
                .injected
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            connections: get(&c.connections),
            dropped: get(&c.dropped),
            delayed_chunks: get(&c.delayed_chunks),
            cut: get(&c.cut),
            held: get(&c.held),
            upstream_refused: get(&c.upstream_refused),
            bytes_up: get(&c.bytes_up),
            bytes_down: get(&c.bytes_down),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The connections end too: their receivers see the sender gone.
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    fault: watch::Sender<Fault>,
    counts: Arc<Counts>,
) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of file descriptors and the like: try again shortly.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        bump(&counts.connections, 1);
        tokio::spawn(connection(
            client,
            upstream,
            fault.subscribe(),
            counts.clone(),
        ));
    }
}

/// Holds a black-holed connection until the fault changes (or the proxy stops).
async fn hold(fault: &mut watch::Receiver<Fault>) {
    loop {
        if *fault.borrow_and_update() != Fault::BlackHole {
            return;
        }
        if fault.changed().await.is_err() {
            return;
        }
    }
}

/// What happens to a connection while it is open.
#[derive(Debug, Clone, Copy, Default)]
struct Shaping {
    delay: Option<Duration>,
    /// Bytes left before the cut, and which way they count.
    cut: Option<(Dir, u64)>,
}

impl Shaping {
    fn of(fault: Fault) -> Shaping {
        match fault {
            Fault::Delay(d) => Shaping {
                delay: Some(d),
                cut: None,
            },
            Fault::Cut { after, dir } => Shaping {
                delay: None,
                cut: Some((dir, after)),
            },
            _ => Shaping::default(),
        }
    }
}

async fn connection(
    client: TcpStream,
    upstream: SocketAddr,
    mut fault: watch::Receiver<Fault>,
    counts: Arc<Counts>,
) {
    let at_accept = *fault.borrow_and_update();
    match at_accept {
        Fault::Drop => {
            bump(&counts.dropped, 1);
            return;
        }
        Fault::BlackHole => {
            bump(&counts.held, 1);
            hold(&mut fault).await;
            return;
        }
        _ => {}
    }
    let server = match TcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(_) => {
            bump(&counts.upstream_refused, 1);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let mut shaping = Shaping::of(at_accept);
    let (mut up_open, mut down_open) = (true, true);
    let mut up = vec![0u8; 16 * 1024];
    let mut down = vec![0u8; 16 * 1024];
    while up_open || down_open {
        tokio::select! {
            changed = fault.changed() => {
                if changed.is_err() {
                    return; // the proxy stopped
                }
                let now = *fault.borrow_and_update();
                match now {
                    Fault::Drop => {
                        bump(&counts.dropped, 1);
                        return;
                    }
                    Fault::BlackHole => {
                        bump(&counts.held, 1);
                        hold(&mut fault).await;
                        return;
                    }
                    other => shaping = Shaping::of(other),
                }
            }
            read = client_read.read(&mut up), if up_open => match read {
                Ok(0) => {
                    up_open = false;
                    let _ = server_write.shutdown().await;
                }
                Ok(n) => {
                    if !forward(&up[..n], &mut server_write, Dir::Up, &mut shaping, &counts).await {
                        return;
                    }
                }
                Err(_) => return,
            },
            read = server_read.read(&mut down), if down_open => match read {
                Ok(0) => {
                    down_open = false;
                    let _ = client_write.shutdown().await;
                }
                Ok(n) => {
                    if !forward(&down[..n], &mut client_write, Dir::Down, &mut shaping, &counts).await {
                        return;
                    }
                }
                Err(_) => return,
            },
        }
    }
}

/// Forwards one chunk under the connection's shaping; false when the connection must close
/// (cut, or the other end is gone).
async fn forward(
    bytes: &[u8],
    to: &mut OwnedWriteHalf,
    dir: Dir,
    shaping: &mut Shaping,
    counts: &Counts,
) -> bool {
    if let Some(delay) = shaping.delay {
        bump(&counts.delayed_chunks, 1);
        tokio::time::sleep(delay).await;
    }
    let mut send = bytes;
    let mut cut_now = false;
    if let Some((cut_dir, left)) = shaping.cut.as_mut()
        && *cut_dir == dir
    {
        let len = bytes.len() as u64;
        if len >= *left {
            send = &bytes[..usize::try_from(*left).unwrap_or(bytes.len())];
            cut_now = true;
        } else {
            *left -= len;
        }
    }
    let written = to.write_all(send).await.is_ok();
    bump(
        match dir {
            Dir::Up => &counts.bytes_up,
            Dir::Down => &counts.bytes_down,
        },
        send.len() as u64,
    );
    if cut_now {
        bump(&counts.cut, 1);
        return false;
    }
    written
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_numbers() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..50).map(|_| r.range(10, 1000)).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..50).map(|_| r.range(10, 1000)).collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().all(|n| (10..1000).contains(n)));
        let c: Vec<u64> = {
            let mut r = Rng::new(43);
            (0..50).map(|_| r.range(10, 1000)).collect()
        };
        assert_ne!(a, c);
        // SplitMix64's published first output for seed 0.
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }
}
