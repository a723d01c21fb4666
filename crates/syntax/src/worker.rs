//! Shipped grammars in worker processes that the host can kill.
//!
//! A grammar a plugin ships is plugin code: its lexer and its external
//! scanner (C compiled to WebAssembly) may loop, trap or allocate without
//! bound, and tree-sitter's WebAssembly store gives no deadline. So the host
//! never runs one in its own process. [`GrammarWorkers`] keeps a few child
//! processes (the `codr grammar-worker` subcommand, which calls
//! [`serve_stdio`]); each request gets a deadline, and a worker that misses
//! it, dies or breaks the protocol is killed and replaced. Its memory is
//! capped with `RLIMIT_DATA`.
//!
//! The protocol, one request at a time over the child's stdin and stdout:
//! a request is a little-endian `u32` length and a JSON [`Request`], then a
//! `u32` length and the body (the grammar's bytes, or the source); a reply is
//! a `u32` length and a JSON [`Reply`].

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tree_sitter::Tree;

use crate::{lock, Capture, Engine, ErrorSpan, SyntaxError};

/// The environment variable that carries a worker's memory cap in bytes.
const MEMORY_ENV: &str = "CODR_GRAMMAR_WORKER_MEMORY_BYTES";

/// Largest header or reply a side accepts (a reply holds every capture).
const MAX_FRAME: u32 = 256 << 20;

/// How to start a worker: a program that calls [`serve_stdio`] (the host
/// binary runs itself with a hidden subcommand).
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Where workers keep compiled grammars between runs; `None` compiles
    /// each grammar in each new worker.
    pub cache_dir: Option<PathBuf>,
}

/// What bounds one worker.
#[derive(Debug, Clone, Copy)]
pub struct WorkerLimits {
    /// The longest one request (a load or a query) may take.
    pub timeout: Duration,
    /// The worker's data-segment limit (`RLIMIT_DATA`): its heap and the
    /// grammars' WebAssembly memories.
    pub memory_bytes: u64,
}

impl Default for WorkerLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            memory_bytes: 1 << 30,
        }
    }
}

/// A request header; the body follows it on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// Load the grammar in the body as `grammar`.
    Load {
        /// Its name.
        grammar: String,
    },
    /// Run `query` on the source in the body.
    Query {
        /// The grammar's name.
        grammar: String,
        /// The query text.
        query: String,
    },
    /// Syntax errors of the source in the body.
    Errors {
        /// The grammar's name.
        grammar: String,
        /// At most this many.
        max: u32,
    },
}

/// A worker's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The grammar loaded.
    Loaded,
    /// A query's captures.
    Captures(Vec<Capture>),
    /// Syntax-error spans.
    Errors(Vec<ErrorSpan>),
    /// The request failed (unknown grammar, bad query, ...), as the
    /// engine said it.
    Failed(SyntaxError),
}

/// Serves requests on stdin and stdout until stdin closes: the body of the
/// `grammar-worker` subcommand. Caps its own memory first (see
/// [`WorkerLimits::memory_bytes`]).
pub fn serve_stdio() -> std::io::Result<()> {
    if let Some(bytes) = std::env::var(MEMORY_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        limit_memory(bytes)?;
    }
    let engine = Engine::new().defer_frees();
    let freer = spawn_freer();
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    loop {
        let header = match read_frame(&mut input) {
            Ok(header) => header,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        let body = read_frame(&mut input)?;
        let reply = match serde_json::from_slice::<Request>(&header) {
            Ok(request) => answer(&engine, request, &body),
            Err(e) => Reply::Failed(SyntaxError::Parse(format!("bad request: {e}"))),
        };
        let reply = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
        write_frame(&mut output, &reply)?;
        output.flush()?;
        // The host has its answer: free what the request evicted when the
        // CPU is idle, or now if that thread is behind or missing.
        let trees = engine.take_retired();
        if let Some(freer) = &freer {
            // Full or gone: the error hands the trees back, dropped here.
            let _ = freer.try_send(trees);
        }
    }
}

/// How many requests' retired trees may wait for the freeing thread; past
/// that the worker frees them itself (a worker's memory is capped).
const FREE_BACKLOG: usize = 2;

/// A thread that frees the trees the engine retires, at `SCHED_IDLE`: it
/// runs when the CPU has nothing else to do. Freeing a 10 KB Java
/// program's tree takes about a sixth of parsing it, and on a machine
/// with one free core the worker would otherwise free it before the host
/// that waits for the reply gets that core back. `None` if the thread
/// cannot start (the worker then frees them itself).
fn spawn_freer() -> Option<SyncSender<Vec<Tree>>> {
    let (sender, receiver) = sync_channel::<Vec<Tree>>(FREE_BACKLOG);
    std::thread::Builder::new()
        .name("codr-tree-free".into())
        // Freeing a tree walks it with tree-sitter's own stack, not this one.
        .stack_size(64 << 10)
        .spawn(move || {
            let idle = libc::sched_param { sched_priority: 0 };
            // SAFETY: sets this thread's own policy (pid 0: the caller);
            // on failure it frees at the normal priority.
            unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) };
            for trees in receiver {
                drop(trees);
            }
        })
        .ok()?;
    Some(sender)
}

fn answer(engine: &Engine, request: Request, body: &[u8]) -> Reply {
    let text = || {
        std::str::from_utf8(body).map_err(|_| SyntaxError::Parse("the source is not UTF-8".into()))
    };
    let result = match request {
        Request::Load { grammar } => engine
            .load_wasm_grammar(&grammar, body)
            .map(|()| Reply::Loaded),
        Request::Query { grammar, query } => {
            text().and_then(|source| engine.query(&grammar, source, &query).map(Reply::Captures))
        }
        Request::Errors { grammar, max } => text().and_then(|source| {
            engine
                .syntax_errors(&grammar, source, max)
                .map(Reply::Errors)
        }),
    };
    result.unwrap_or_else(Reply::Failed)
}

fn limit_memory(bytes: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit reads the struct we pass and nothing else.
    if unsafe { libc::setrlimit(libc::RLIMIT_DATA, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Shipped grammars, served by worker processes.
///
/// `register` a grammar once (a plugin load does); `query` and
/// `syntax_errors` then answer like [`Engine`]'s, from a worker that has it
/// loaded. Cheap to share; workers are started on demand, one per
/// concurrent caller, and reused.
pub struct GrammarWorkers {
    command: WorkerCommand,
    limits: WorkerLimits,
    /// Every registered grammar's bytes, by name.
    grammars: RwLock<HashMap<String, Arc<[u8]>>>,
    idle: Mutex<Vec<Worker>>,
}

impl std::fmt::Debug for GrammarWorkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrammarWorkers")
            .field("command", &self.command)
            .field("limits", &self.limits)
            .field("grammars", &self.names())
            .finish_non_exhaustive()
    }
}

impl GrammarWorkers {
    /// Workers started with `command`, each bounded by `limits`.
    pub fn new(command: WorkerCommand, limits: WorkerLimits) -> Self {
        Self {
            command,
            limits,
            grammars: RwLock::new(HashMap::new()),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The names of the registered grammars, sorted.
    pub fn names(&self) -> Vec<String> {
        let grammars = self.grammars.read().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<String> = grammars.keys().cloned().collect();
        names.sort();
        names
    }

    /// Whether a grammar called `name` is registered.
    pub fn has(&self, name: &str) -> bool {
        self.bytes(name).is_some()
    }

    /// Loads `wasm` as `name` in a worker (so a grammar that does not load,
    /// loops or traps is refused now, with its error), then keeps it for
    /// every worker. A new grammar under a known name replaces the old one.
    pub fn register(&self, name: &str, wasm: Arc<[u8]>) -> Result<(), SyntaxError> {
        crate::refuse_built_in(name)?;
        let mut worker = self.worker(name)?;
        worker.ensure(name, &wasm, Budget::from_now(self.limits.timeout))?;
        self.put_back(worker);
        self.grammars
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), wasm);
        Ok(())
    }

    /// The longest one request may take ([`WorkerLimits::timeout`]).
    pub fn timeout(&self) -> Duration {
        self.limits.timeout
    }

    /// [`Engine::query`] on the registered grammar `grammar`, within
    /// [`GrammarWorkers::timeout`].
    pub fn query(
        &self,
        grammar: &str,
        source: &str,
        query: &str,
    ) -> Result<Vec<Capture>, SyntaxError> {
        self.query_within(grammar, source, query, None)
    }

    fn query_within(
        &self,
        grammar: &str,
        source: &str,
        query: &str,
        deadline: Option<Instant>,
    ) -> Result<Vec<Capture>, SyntaxError> {
        let request = Request::Query {
            grammar: grammar.to_string(),
            query: query.to_string(),
        };
        match self.ask(grammar, &request, source, deadline)? {
            Reply::Captures(captures) => Ok(captures),
            other => Err(unexpected(grammar, other)),
        }
    }

    /// [`Engine::syntax_errors`] on the registered grammar `grammar`, within
    /// [`GrammarWorkers::timeout`].
    pub fn syntax_errors(
        &self,
        grammar: &str,
        source: &str,
        max: u32,
    ) -> Result<Vec<ErrorSpan>, SyntaxError> {
        self.syntax_errors_within(grammar, source, max, None)
    }

    fn syntax_errors_within(
        &self,
        grammar: &str,
        source: &str,
        max: u32,
        deadline: Option<Instant>,
    ) -> Result<Vec<ErrorSpan>, SyntaxError> {
        let request = Request::Errors {
            grammar: grammar.to_string(),
            max,
        };
        match self.ask(grammar, &request, source, deadline)? {
            Reply::Errors(spans) => Ok(spans),
            other => Err(unexpected(grammar, other)),
        }
    }

    fn bytes(&self, name: &str) -> Option<Arc<[u8]>> {
        let grammars = self.grammars.read().unwrap_or_else(|e| e.into_inner());
        grammars.get(name).cloned()
    }

    /// One request on a worker that has `grammar` loaded, loading included,
    /// answered within the timeout, or by `deadline` if that comes sooner.
    fn ask(
        &self,
        grammar: &str,
        request: &Request,
        source: &str,
        deadline: Option<Instant>,
    ) -> Result<Reply, SyntaxError> {
        let wasm = self
            .bytes(grammar)
            .ok_or_else(|| SyntaxError::UnknownGrammar(grammar.to_string()))?;
        let mut budget = Budget::from_now(self.limits.timeout);
        if let Some(deadline) = deadline.filter(|d| *d < budget.deadline) {
            let now = Instant::now();
            budget = Budget {
                deadline,
                allowed: deadline.saturating_duration_since(now),
            };
        }
        let mut worker = self.worker(grammar)?;
        worker.ensure(grammar, &wasm, budget)?;
        let reply = worker.call(grammar, request, source.as_bytes(), budget)?;
        self.put_back(worker);
        Ok(reply)
    }

    /// An idle worker, or a new one.
    fn worker(&self, grammar: &str) -> Result<Worker, SyntaxError> {
        if let Some(worker) = lock(&self.idle).pop() {
            return Ok(worker);
        }
        Worker::start(&self.command, self.limits).map_err(|e| SyntaxError::Grammar {
            grammar: grammar.to_string(),
            message: format!("cannot start a grammar worker: {e}"),
        })
    }

    fn put_back(&self, worker: Worker) {
        lock(&self.idle).push(worker);
    }
}

/// A shipped grammar that runs past the deadline is stopped and its worker
/// replaced: the error is [`SyntaxError::Grammar`], as for a grammar that
/// crashed. A deadline later than [`GrammarWorkers::timeout`] changes
/// nothing.
impl crate::Answers for GrammarWorkers {
    fn query_until(
        &self,
        grammar: &str,
        source: &str,
        query: &str,
        deadline: Instant,
    ) -> Result<Vec<Capture>, SyntaxError> {
        self.query_within(grammar, source, query, Some(deadline))
    }

    fn syntax_errors_until(
        &self,
        grammar: &str,
        source: &str,
        max: u32,
        deadline: Instant,
    ) -> Result<Vec<ErrorSpan>, SyntaxError> {
        self.syntax_errors_within(grammar, source, max, Some(deadline))
    }
}

/// A reply that is not the one asked for: the worker's own error as it
/// was, anything else a protocol error.
fn unexpected(grammar: &str, reply: Reply) -> SyntaxError {
    match reply {
        Reply::Failed(error) => error,
        other => SyntaxError::Grammar {
            grammar: grammar.to_string(),
            message: format!("the grammar worker answered out of turn: {other:?}"),
        },
    }
}

/// When a request must be answered, and how long that gave it from when it
/// was asked (for the message when it is not).
#[derive(Debug, Clone, Copy)]
struct Budget {
    deadline: Instant,
    allowed: Duration,
}

impl Budget {
    fn from_now(allowed: Duration) -> Self {
        Self {
            deadline: Instant::now() + allowed,
            allowed,
        }
    }
}

/// One child process and what it has loaded.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// The grammars it has loaded, with the bytes they came from.
    loaded: HashMap<String, Arc<[u8]>>,
}

impl Worker {
    fn start(command: &WorkerCommand, limits: WorkerLimits) -> std::io::Result<Self> {
        let mut child = Command::new(&command.program);
        if let Some(dir) = &command.cache_dir {
            child.env(crate::shipped::CACHE_ENV, dir);
        }
        let mut child = child
            .args(&command.args)
            .env(MEMORY_ENV, limits.memory_bytes.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        Ok(Self {
            child,
            stdin,
            stdout,
            loaded: HashMap::new(),
        })
    }

    /// Loads `grammar` unless these very bytes are loaded already.
    fn ensure(
        &mut self,
        grammar: &str,
        wasm: &Arc<[u8]>,
        budget: Budget,
    ) -> Result<(), SyntaxError> {
        if self
            .loaded
            .get(grammar)
            .is_some_and(|w| Arc::ptr_eq(w, wasm))
        {
            return Ok(());
        }
        let request = Request::Load {
            grammar: grammar.to_string(),
        };
        match self.call(grammar, &request, wasm, budget)? {
            Reply::Loaded => {
                self.loaded.insert(grammar.to_string(), wasm.clone());
                Ok(())
            }
            other => Err(unexpected(grammar, other)),
        }
    }

    /// Sends one request and waits for its reply until the budget's
    /// deadline. On any failure the worker is killed (dropping `self` reaps
    /// it).
    fn call(
        &mut self,
        grammar: &str,
        request: &Request,
        body: &[u8],
        budget: Budget,
    ) -> Result<Reply, SyntaxError> {
        let header = serde_json::to_vec(request).expect("requests serialize");
        // Both frames in one write: one system call, not four.
        let mut frames = Vec::with_capacity(8 + header.len() + body.len());
        let sent = write_frame(&mut frames, &header)
            .and_then(|()| write_frame(&mut frames, body))
            .and_then(|()| self.stdin.write_all(&frames))
            .and_then(|()| self.stdin.flush());
        let reply = sent.and_then(|()| read_frame_until(&mut self.stdout, budget.deadline));
        let fail = |message: String| SyntaxError::Grammar {
            grammar: grammar.to_string(),
            message,
        };
        match reply {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| fail(format!("the grammar worker sent a bad reply: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(fail(format!(
                "took longer than {} ms and was stopped",
                budget.allowed.as_millis()
            ))),
            Err(_) => Err(fail(self.death())),
        }
    }

    /// Why the worker went away: a signal (the memory cap ends in SIGABRT
    /// or SIGSEGV) or an exit status.
    fn death(&mut self) -> String {
        use std::os::unix::process::ExitStatusExt;
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => match status.signal() {
                Some(signal) => format!(
                    "crashed the grammar worker (signal {signal}; out of memory or a fault in the grammar)"
                ),
                None => format!("the grammar worker exited ({status})"),
            },
            Err(e) => format!("the grammar worker went away: {e}"),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Reused workers are put back before they drop; a worker dropped
        // here failed or its pool went away: stop it and reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_frame(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| std::io::Error::other("frame too large"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

fn read_frame(input: &mut impl Read) -> std::io::Result<Vec<u8>> {
    read_frame_with(|buf| input.read_exact(buf))
}

/// [`read_frame`] that gives up at `deadline` (`TimedOut`).
fn read_frame_until(input: &mut ChildStdout, deadline: Instant) -> std::io::Result<Vec<u8>> {
    read_frame_with(|buf| read_exact_until(input, buf, deadline))
}

/// A length, then that many bytes, each read with `read_exact`.
fn read_frame_with(
    mut read_exact: impl FnMut(&mut [u8]) -> std::io::Result<()>,
) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut buf = vec![0u8; len as usize];
    read_exact(&mut buf)?;
    Ok(buf)
}

fn read_exact_until(
    input: &mut ChildStdout,
    mut buf: &mut [u8],
    deadline: Instant,
) -> std::io::Result<()> {
    while !buf.is_empty() {
        wait_readable(input, deadline)?;
        match input.read(buf)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => buf = &mut buf[n..],
        }
    }
    Ok(())
}

/// Blocks until `input` has data (or is closed), or `deadline` passes.
fn wait_readable(input: &ChildStdout, deadline: Instant) -> std::io::Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        let mut fd = libc::pollfd {
            fd: input.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd, for the duration of the call.
        match unsafe { libc::poll(&mut fd, 1, ms) } {
            n if n > 0 => return Ok(()),
            0 => continue,
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}
