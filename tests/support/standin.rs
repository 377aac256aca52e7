//! A stand-in for an addon's web UI on 127.0.0.1: it answers `GET` under its web root with a
//! page naming itself, and 404 elsewhere, one request per connection. Pair it with
//! [`TestServer::forward_pod`](super::TestServer::forward_pod) to make a pod reachable.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running stand-in; it stops when dropped.
pub struct StandIn {
    addr: SocketAddr,
    name: String,
    stop: Arc<AtomicBool>,
    paths: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Serves `web_root` (`/` serves every path) as the addon called `name`.
    pub fn start(name: &str, web_root: &str) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0 works");
        let addr = listener.local_addr().expect("a bound socket has an address");
        let stop = Arc::new(AtomicBool::new(false));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let page = Page { name: name.to_string(), root: web_root.trim_end_matches('/').into() };
        let thread = {
            let (stop, paths) = (stop.clone(), paths.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (page, paths) = (page.clone(), paths.clone());
                    std::thread::spawn(move || page.answer(stream, &paths));
                }
            })
        };
        StandIn { addr, name: name.to_string(), stop, paths, thread: Some(thread) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The body it answers for `path` under its web root.
    pub fn page(&self, path: &str) -> String {
        format!("stand-in {} at {path}\n", self.name)
    }

    /// The paths of every request it read, oldest first.
    pub fn paths(&self) -> Vec<String> {
        self.paths.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Clone)]
struct Page {
    name: String,
    /// The web root without a trailing slash; "" for `/`.
    root: String,
}

impl Page {
    fn answer(&self, mut stream: TcpStream, paths: &Mutex<Vec<String>>) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let head = String::from_utf8_lossy(&head);
        let mut words = head.split_whitespace();
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        paths.lock().unwrap_or_else(|p| p.into_inner()).push(path.to_string());
        let under_root = path == self.root
            || path.strip_prefix(self.root.as_str()).is_some_and(|rest| rest.starts_with('/'));
        let (status, body) = if method == "GET" && under_root {
            ("200 OK", format!("stand-in {} at {path}\n", self.name))
        } else {
            ("404 Not Found", "404 page not found\n".to_string())
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(reply.as_bytes());
        let _ = stream.flush();
    }
}
