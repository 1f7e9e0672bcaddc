//! wirelab-server: `wirelab serve`. Labs run on a simulated clock paced
//! against wall time, behind a REST API under `/api/v1` (JSON, problem
//! details for errors, Server-Sent Events for what happens, an OpenAPI
//! document generated from the handlers). See docs/api.md.
//!
//! Each valid lab is an actor: a thread owns its compiled network and
//! simulation and answers commands; a tokio task paces its clock. Runs of
//! checks and traces are CPU work and go to blocking threads, never the
//! async executor.

mod actor;
mod api;
mod labs;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use actor::Speed;
pub use api::ApiDoc;
pub use labs::{valid_id, SourceFormat};

/// Limits of one server.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Labs held at once (valid or not).
    pub labs_max: usize,
    /// Largest request body, in bytes.
    pub body_bytes_max: usize,
    /// Live SSE subscribers per lab.
    pub subscribers_max: usize,
    /// Runs of checks and traces computed at once (each on a blocking
    /// thread).
    pub jobs_max: usize,
    /// How long a run of checks or a trace may take before the request
    /// answers 503 (the work itself finishes in the background).
    pub job_timeout: Duration,
    /// Worker threads of one run of checks.
    pub check_threads: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            labs_max: 64,
            body_bytes_max: wirelab_spec::FILE_BYTES_MAX as usize,
            subscribers_max: 16,
            jobs_max: 2,
            job_timeout: Duration::from_secs(120),
            check_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// How a server starts.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// The speed of every lab's clock at the start.
    pub speed: Speed,
    /// Whether clocks start paused.
    pub paused: bool,
    pub limits: Limits,
    /// When set, every request that is not a GET (PUT, DELETE, POST) must
    /// carry `Authorization: Bearer TOKEN`. Required to listen on an
    /// address other than loopback.
    pub token: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            speed: Speed::Factor(1.0),
            paused: false,
            limits: Limits::default(),
            token: None,
        }
    }
}

/// A lab given at the start: its id, the name diagnostics use, its text.
#[derive(Clone, Debug)]
pub struct LabSource {
    pub id: String,
    pub file: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Lab(String),
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Arc<labs::State>,
}

impl Server {
    /// Binds the address and loads the labs (on the current runtime).
    /// Every lab must be valid and ids unique.
    pub async fn bind(config: Config, labs: Vec<LabSource>) -> Result<Server, ServeError> {
        let state = Arc::new(labs::State::new(config.clone()));
        for lab in labs {
            state.add_initial(lab)?;
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: config.listen,
                source,
            })?;
        Ok(Server { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let state = self.state.clone();
        // A graceful shutdown waits for open requests, and an event stream
        // never ends by itself: end them all once the signal comes.
        let shutdown = async move {
            shutdown.await;
            let labs = state.labs.lock().expect("labs lock");
            for entry in labs.values() {
                if let Some(valid) = &entry.valid {
                    let now = valid.actor.clock.lock().map(|c| c.time_ns).unwrap_or(0);
                    valid.actor.hub.close_because(now, "the server is stopping");
                }
            }
        };
        let app = api::router(self.state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

/// Runs a server on its own runtime until Ctrl-C (or SIGTERM);
/// `ready` is told the address once it listens.
pub fn serve_blocking(
    config: Config,
    labs: Vec<LabSource>,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let server = Server::bind(config, labs).await?;
        ready(server.local_addr());
        server.run(shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi_json() -> String {
    api::openapi_json()
}
