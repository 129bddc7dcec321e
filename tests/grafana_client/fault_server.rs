//! A local HTTP server that answers from a script and records what it received.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode},
    response::Response,
};
use serde_json::{Value, json};
use tokio::{io::AsyncReadExt, net::TcpListener, task::JoinHandle};

/// One scripted answer.
#[derive(Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".to_owned())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// grafana.com's error envelope.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(
            status,
            json!({"code": code, "message": message, "requestId": "server-side-id"}),
        )
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A stack body as grafana.com returns it (trimmed to what the tests read).
pub fn stack_json(id: u64, slug: &str) -> Value {
    json!({
        "id": id, "slug": slug, "name": format!("{slug}.grafana.net"),
        "url": format!("https://{slug}.grafana.net"), "status": "active",
        "orgSlug": "acme", "regionSlug": "prod-eu-west-0", "labels": {},
        "hmInstancePromUrl": "https://prometheus-prod-01.grafana.net", "hmInstancePromId": 1001
    })
}

/// What the server received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    last: Mutex<Option<Reply>>,
    received: Mutex<Vec<Received>>,
}

/// Answers requests with the scripted replies in order, then repeats the last one.
pub struct FaultServer {
    addr: SocketAddr,
    script: Arc<Script>,
    task: JoinHandle<()>,
}

impl FaultServer {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Script {
            replies: Mutex::new(replies.into()),
            ..Script::default()
        });
        let app = Router::new().fallback(answer).with_state(script.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, script, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.received.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.script.received.lock().unwrap().len()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(State(script): State<Arc<Script>>, request: Request) -> Response {
    script.received.lock().unwrap().push(Received {
        method: request.method().clone(),
        path_and_query: request
            .uri()
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default(),
        headers: request.headers().clone(),
    });
    let reply = {
        let next = script.replies.lock().unwrap().pop_front();
        let mut last = script.last.lock().unwrap();
        if let Some(next) = next {
            *last = Some(next);
        }
        last.clone()
            .unwrap_or_else(|| Reply::error(500, "NoScript", "nothing scripted"))
    };
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    response.body(Body::from(reply.body)).unwrap()
}

/// Accepts connections, reads the request head, and closes without answering.
pub struct DroppingServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl DroppingServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                drop(socket);
            }
        });
        Self {
            addr,
            connections,
            task,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for DroppingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
