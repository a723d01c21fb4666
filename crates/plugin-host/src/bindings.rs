//! Host side of the `language` world: the per-call store state and the
//! `syntax` import it serves (the generated bindings of each contract
//! version are in `since/`).

use std::sync::{Arc, Mutex};

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::syntax::Syntax;

/// Everything one plugin call owns. A new one is made for every call, so
/// nothing a plugin stores survives into the next call.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryCap,
    pub(crate) stderr: StderrCapture,
    syntax: Arc<Syntax>,
    /// Time spent in native syntax calls during this call, and how many.
    pub(crate) syntax_time: std::time::Duration,
    pub(crate) syntax_calls: u32,
    pub(crate) syntax_captures: u32,
    /// The query texts the plugin sent, when a profiled call asks for them
    /// (`None` otherwise: nothing is copied).
    pub(crate) recorded_queries: Option<Vec<String>>,
    /// When the call began: shipped grammars answer within its budget.
    started: std::time::Instant,
}

impl HostState {
    /// A state that grants nothing: no preopened directories, no environment,
    /// no arguments, no network, stdin closed, stdout discarded; stderr goes
    /// to a small buffer so a panic message can be reported.
    pub(crate) fn new(syntax: Arc<Syntax>, memory_cap: usize) -> Self {
        let stderr = StderrCapture::default();
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryCap::new(memory_cap),
            stderr,
            syntax,
            syntax_time: std::time::Duration::ZERO,
            syntax_calls: 0,
            syntax_captures: 0,
            recorded_queries: None,
            started: std::time::Instant::now(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl HostState {
    /// The `syntax.query` import, for every contract version.
    pub(crate) fn query(
        &mut self,
        grammar: &str,
        source: &str,
        query: &str,
    ) -> Result<Vec<codr_syntax::Capture>, codr_syntax::SyntaxError> {
        if let Some(recorded) = &mut self.recorded_queries {
            recorded.push(query.to_string());
        }
        let start = std::time::Instant::now();
        let captures = self.syntax.query(grammar, source, query, self.started);
        self.syntax_time += start.elapsed();
        self.syntax_calls += 1;
        let captures = captures?;
        self.syntax_captures += captures.len() as u32;
        Ok(captures)
    }

    /// The `syntax.syntax-errors` import, for every contract version.
    pub(crate) fn syntax_errors(
        &mut self,
        grammar: &str,
        source: &str,
        max: u32,
    ) -> Result<Vec<(u32, u32, u32, u32)>, codr_syntax::SyntaxError> {
        let start = std::time::Instant::now();
        let found = self
            .syntax
            .syntax_errors(grammar, source, max, self.started);
        self.syntax_time += start.elapsed();
        self.syntax_calls += 1;
        found
    }
}

/// Caps the total linear memory (all memories of the instance together).
/// Growing past the cap traps at once, and `hit` tells the caller why.
pub(crate) struct MemoryCap {
    max_bytes: usize,
    total_bytes: usize,
    pub(crate) hit: bool,
}

impl MemoryCap {
    fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            total_bytes: 0,
            hit: false,
        }
    }
}

/// Most tables a plugin may have elements in; far above what a Rust plugin needs.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.total_bytes - current.min(self.total_bytes) + desired;
        if total > self.max_bytes {
            self.hit = true;
            wasmtime::bail!(
                "plugin memory would grow to {total} bytes, over its cap of {} bytes",
                self.max_bytes
            );
        }
        self.total_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        100
    }

    fn memories(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        100
    }
}

/// Most bytes of a plugin's stderr kept per call; the rest is dropped.
const STDERR_CAP: usize = 8 * 1024;

/// A bounded buffer for a plugin's stderr (Rust panics print there). Writes
/// past the cap are dropped silently rather than trapping the plugin.
#[derive(Clone, Default)]
pub(crate) struct StderrCapture(Arc<Mutex<Vec<u8>>>);

impl StderrCapture {
    /// The captured text, trimmed, lossily decoded.
    pub(crate) fn text(&self) -> String {
        let buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buf).trim().to_string()
    }

    fn append(&self, bytes: &[u8]) {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let room = STDERR_CAP.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

impl IsTerminal for StderrCapture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrCapture {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASIp3 guests use this path; they get a sink.
        Box::new(tokio::io::sink())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for StderrCapture {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(4096)
    }
}

#[async_trait::async_trait]
impl Pollable for StderrCapture {
    async fn ready(&mut self) {}
}
