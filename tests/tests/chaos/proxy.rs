//! A TCP proxy written for the network chaos test. Each accepted connection gets a fault drawn from
//! a generator seeded by the run's seed and the connection's number: none; a delay before every
//! chunk; a refusal (reset at once); a cut after a random number of bytes of the request or of the
//! response, closed (FIN) or reset (RST), mid-stream; or a stall, then a reset. A connection to a
//! server that is down is reset. [`Proxy::calm`] stops the faults for the final push.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::harness::{rng, Tally};

#[derive(Debug, Clone, Copy)]
enum Fault {
    Pass,
    Delay(Duration),
    Refuse,
    /// After `after` bytes of the request (`request`) or of the response, close or reset.
    Cut {
        request: bool,
        after: usize,
        reset: bool,
    },
    Stall(Duration),
}

fn draw(seed: u64, n: u64) -> Fault {
    let mut r = rng(seed, n.wrapping_add(0x5eed));
    match r.random_range(0..100) {
        0..40 => Fault::Pass,
        40..55 => Fault::Delay(Duration::from_millis(r.random_range(5..150))),
        55..63 => Fault::Refuse,
        63..75 => Fault::Cut {
            request: true,
            after: r.random_range(0..150_000),
            reset: r.random_bool(0.5),
        },
        75..90 => Fault::Cut {
            request: false,
            after: r.random_range(0..1_500),
            reset: r.random_bool(0.5),
        },
        _ => Fault::Stall(Duration::from_millis(r.random_range(200..2_000))),
    }
}

pub struct Proxy {
    pub port: u16,
    calm: Arc<AtomicBool>,
    counts: Arc<Mutex<Tally>>,
    connections: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port and forwards to `127.0.0.1:upstream`.
    pub async fn start(upstream: u16, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let calm = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Mutex::new(Tally::new()));
        let connections = Arc::new(AtomicU64::new(0));
        let (c, k, n) = (calm.clone(), counts.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let number = n.fetch_add(1, Ordering::SeqCst);
                let fault = if c.load(Ordering::SeqCst) {
                    Fault::Pass
                } else {
                    draw(seed, number)
                };
                tokio::spawn(handle(client, upstream, fault, k.clone()));
            }
        });
        Proxy {
            port,
            calm,
            counts,
            connections,
            task,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// No more faults on new connections.
    pub fn calm(&self) {
        self.calm.store(true, Ordering::SeqCst);
    }

    /// Faults injected so far, by kind (cuts counted when they happened, not when drawn).
    pub fn faults(&self) -> Tally {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn count(counts: &Mutex<Tally>, what: &'static str) {
    *counts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(what)
        .or_default() += 1;
}

fn reset(stream: TcpStream) {
    // Closing with a zero linger sends RST instead of FIN (and does not block: nothing lingers).
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn handle(mut client: TcpStream, upstream: u16, fault: Fault, counts: Arc<Mutex<Tally>>) {
    match fault {
        Fault::Refuse => {
            count(&counts, "refused");
            return reset(client);
        }
        Fault::Stall(d) => {
            tokio::time::sleep(d).await;
            count(&counts, "stalled_then_reset");
            return reset(client);
        }
        Fault::Pass => count(&counts, "passed"),
        Fault::Delay(_) => count(&counts, "delayed"),
        Fault::Cut { .. } => {}
    }
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        count(&counts, "server_down_reset");
        return reset(client);
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let delay = match fault {
        Fault::Delay(d) => Some(d),
        _ => None,
    };
    let (mut up_left, mut down_left) = (usize::MAX, usize::MAX);
    let mut hard = false;
    if let Fault::Cut {
        request,
        after,
        reset,
    } = fault
    {
        if request {
            up_left = after;
        } else {
            down_left = after;
        }
        hard = reset;
    }
    let mut a = vec![0u8; 16 * 1024];
    let mut b = vec![0u8; 16 * 1024];
    let (mut client_open, mut server_open) = (true, true);
    let cut = loop {
        if !client_open && !server_open {
            break None;
        }
        tokio::select! {
            r = client.read(&mut a), if client_open => match r {
                Ok(0) | Err(_) => {
                    client_open = false;
                    let _ = server.shutdown().await;
                }
                Ok(n) => {
                    if let Some(d) = delay {
                        tokio::time::sleep(d).await;
                    }
                    let send = n.min(up_left);
                    if server.write_all(&a[..send]).await.is_err() {
                        break None;
                    }
                    up_left -= send;
                    if send < n || up_left == 0 {
                        break Some(if hard { "request_cut_reset" } else { "request_cut_closed" });
                    }
                }
            },
            r = server.read(&mut b), if server_open => match r {
                Ok(0) | Err(_) => {
                    server_open = false;
                    let _ = client.shutdown().await;
                }
                Ok(n) => {
                    if let Some(d) = delay {
                        tokio::time::sleep(d).await;
                    }
                    let send = n.min(down_left);
                    if client.write_all(&b[..send]).await.is_err() {
                        break None;
                    }
                    down_left -= send;
                    if send < n || down_left == 0 {
                        break Some(if hard { "response_cut_reset" } else { "response_cut_closed" });
                    }
                }
            },
        }
    };
    if let Some(what) = cut {
        count(&counts, what);
        if hard {
            reset(client);
            reset(server);
        }
    }
}
