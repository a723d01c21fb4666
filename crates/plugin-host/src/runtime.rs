//! The shared runtime: the Wasmtime engine, the epoch ticker that enforces
//! deadlines, the native syntax engine, and how each call is bounded.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, Store, Trap};

use crate::bindings::HostState;
use crate::syntax::Syntax;
use crate::{PluginError, RegistryConfig};

/// Shared by the registry and every plugin it loaded. A plugin holds an
/// `Arc<Runtime>`, so the ticker keeps running as long as any plugin can
/// still be called, even after the registry swapped it out.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) syntax: Arc<Syntax>,
    pub(crate) config: RegistryConfig,
    deadline_ticks: u64,
    ticker: Option<Ticker>,
}

impl Runtime {
    /// A wasmtime engine with epoch interruption, the shared native syntax
    /// engine, and the ticker that turns `config.call_timeout` into a
    /// deadline in epoch ticks; refuses a zero epoch tick, which would never
    /// advance the deadline.
    pub(crate) fn new(config: RegistryConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(!config.epoch_tick.is_zero(), "epoch tick must be positive");
        let mut wasm = Config::new();
        // Epoch checks cost a load and a compare per loop header and function
        // entry; much cheaper than fuel, and enough to stop an endless loop.
        wasm.epoch_interruption(true);
        let engine = Engine::new(&wasm).map_err(|e| anyhow::anyhow!("{e}"))?;
        let deadline_ticks = config
            .call_timeout
            .as_nanos()
            .div_ceil(config.epoch_tick.as_nanos())
            .max(1) as u64;
        let ticker = Ticker::start(engine.clone(), config.epoch_tick)?;
        let workers = config.grammar_worker.clone().map(|command| {
            let limits = codr_syntax::WorkerLimits {
                timeout: config.call_timeout,
                memory_bytes: config.grammar_memory_bytes,
            };
            codr_syntax::GrammarWorkers::new(command, limits)
        });
        Ok(Self {
            engine,
            syntax: Arc::new(Syntax::new(workers, config.call_timeout)),
            config,
            deadline_ticks,
            ticker: Some(ticker),
        })
    }

    /// A fresh store for one call, with its deadline and memory cap armed.
    pub(crate) fn new_store(&self) -> Store<HostState> {
        let state = HostState::new(self.syntax.clone(), self.config.memory_limit_bytes);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(self.deadline_ticks);
        store.epoch_deadline_trap();
        store
    }

    /// Turns a failed call into a typed error: deadline, memory cap, trap.
    pub(crate) fn classify(&self, store: &Store<HostState>, error: wasmtime::Error) -> PluginError {
        if store.data().limiter.hit {
            return PluginError::MemoryLimit {
                limit_bytes: self.config.memory_limit_bytes,
            };
        }
        // A shipped grammar failed under the syntax import (since/): its
        // own error, without the plugin's wasm backtrace.
        // A syntax call that ran out of the call's time is the call's timeout.
        match error.downcast_ref::<codr_syntax::SyntaxError>() {
            Some(codr_syntax::SyntaxError::OutOfTime(_)) => {
                return PluginError::Timeout {
                    limit: self.config.call_timeout,
                }
            }
            Some(grammar) => return PluginError::Runtime(grammar.to_string()),
            None => {}
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::Timeout {
                limit: self.config.call_timeout,
            },
            Some(trap) => {
                let said = store.data().stderr.text();
                let said = last_lines(&said, 3);
                if said.is_empty() {
                    PluginError::Trap(trap.to_string())
                } else {
                    PluginError::Trap(format!("{trap}; the plugin said: {said}"))
                }
            }
            None => PluginError::Runtime(format!("{error:#}")),
        }
    }
}

/// The last `n` non-empty lines of `text`, joined with " / ".
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
    }
}

/// A thread that advances the engine's epoch every tick; a call's deadline is
/// a number of ticks. Stops when its channel is dropped.
struct Ticker {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Ticker {
    fn start(engine: Engine, tick: Duration) -> anyhow::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("codr-plugin-epoch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    engine.increment_epoch();
                }
            })?;
        Ok(Self { stop, thread })
    }

    fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}
