//! The warm pool: cells started ahead of demand, each for exactly one step.
//!
//! A job asks the pool for a cell of its kind ([`CellKey`]: the step's limits
//! and PTY or pipes). If one is waiting it is handed over, and either way the
//! kind is marked as in demand and topped up in the background to
//! [`PoolConfig::per_kind`] cells, or to as many as jobs of that kind took in
//! the last second when they arrive faster (a burst of sessions is then
//! served warm while it lasts), within [`PoolConfig::max_total`]. Kinds
//! nobody asked for in [`PoolConfig::idle_secs`] are let go, cells older than
//! [`PoolConfig::max_age_secs`] are replaced. A cell is never reused: after
//! its step it is dropped, which kills and removes everything of it.
//!
//! Each waiting cell holds a slot (a sandbox user). A cold start that finds
//! no free slot takes one from the pool ([`Pool::evict_one`]) rather than wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::cell::{self, Cell, CellKey};
use crate::cgroup::CgroupSupport;
use crate::config::{PoolConfig, SandboxConfig};
use crate::recover::{self, Quarantine};
use crate::slots::{SlotLease, SlotUser};

/// How often idle kinds and old cells are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// What starting a cell needs; shared with the [`crate::Sandbox`].
#[derive(Debug)]
pub struct Machine {
    /// Deployment settings.
    pub config: SandboxConfig,
    /// The sandbox users.
    pub users: Vec<SlotUser>,
    /// Cgroup support found.
    pub cgroups: CgroupSupport,
    /// Slots whose clean-up failed, held back for a while.
    pub quarantine: Quarantine,
}

impl Machine {
    /// A free, clean slot, or `None` when every slot is held or held back
    /// (blocking: it may have to clean the slot first).
    pub fn try_lease(&self) -> Option<SlotLease> {
        recover::try_lease(&self.config, &self.users, &self.quarantine)
    }

    /// A free slot, taken without blocking; see [`Machine::ready`].
    pub fn take_free(&self) -> Option<SlotLease> {
        recover::take_free(&self.config, &self.users, &self.quarantine)
    }

    /// `lease` cleaned if its last holder did not leave it clean (blocking
    /// then); `None` when that failed.
    pub fn ready(&self, lease: SlotLease) -> Option<SlotLease> {
        recover::ready(&self.config, lease, &self.quarantine)
    }

    /// Starts a cell on a free slot, or `None` when every slot is held.
    pub fn start_cell_now(&self, key: &CellKey) -> Option<std::io::Result<Cell>> {
        let lease = self.try_lease()?;
        Some(Cell::start(&self.config, &self.cgroups, lease, key))
    }
}

/// Cells waiting, by kind.
pub struct Pool {
    machine: Arc<Machine>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    ready: HashMap<CellKey, Vec<Cell>>,
    starting: HashMap<CellKey, usize>,
    last_asked: HashMap<CellKey, Instant>,
    /// Cells asked for per kind in the current and the last second.
    demand: HashMap<CellKey, Demand>,
    sweeping: bool,
    handed_out: u64,
}

/// Jobs of one kind asking for a cell, counted per second.
#[derive(Debug, Clone, Copy)]
struct Demand {
    since: Instant,
    this_second: usize,
    last_second: usize,
}

impl Demand {
    fn new() -> Self {
        Demand {
            since: Instant::now(),
            this_second: 0,
            last_second: 0,
        }
    }

    /// Rolls the window forward to now.
    fn roll(&mut self) {
        let elapsed = self.since.elapsed();
        if elapsed >= Duration::from_secs(2) {
            *self = Demand::new();
        } else if elapsed >= Duration::from_secs(1) {
            self.last_second = self.this_second;
            self.this_second = 0;
            self.since += Duration::from_secs(1);
        }
    }

    /// One more job asked.
    fn note(&mut self) {
        self.roll();
        self.this_second += 1;
    }

    /// Asked per second lately.
    fn rate(&mut self) -> usize {
        self.roll();
        self.this_second.max(self.last_second)
    }
}

impl State {
    fn total(&self) -> usize {
        self.ready.values().map(Vec::len).sum::<usize>() + self.starting.values().sum::<usize>()
    }
}

/// Counts of the pool, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Cells waiting.
    pub ready: usize,
    /// Cells being started.
    pub starting: usize,
    /// Kinds in demand.
    pub kinds: usize,
    /// Cells handed to jobs since the pool was made.
    pub handed_out: u64,
}

impl Pool {
    /// A pool starting cells on `machine` (nothing is started before a job asks).
    pub fn new(machine: Arc<Machine>) -> Arc<Pool> {
        Arc::new(Pool {
            machine,
            state: Mutex::new(State::default()),
        })
    }

    fn config(&self) -> &PoolConfig {
        &self.machine.config.pool
    }

    /// A waiting cell of this kind, if any. Marks the kind as in demand and
    /// tops it up in the background. Must be called within a tokio runtime.
    pub fn take(self: &Arc<Self>, key: &CellKey) -> Option<Cell> {
        self.take_or_warm(key, true)
    }

    /// Marks the kind as in demand and tops it up, taking nothing: for a
    /// service that knows what its first jobs will be.
    pub fn warm(self: &Arc<Self>, key: &CellKey) {
        self.take_or_warm(key, false);
    }

    fn take_or_warm(self: &Arc<Self>, key: &CellKey, take: bool) -> Option<Cell> {
        if self.config().per_kind == 0 {
            return None;
        }
        let mut stale = Vec::new();
        let mut found = None;
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.last_asked.insert(*key, Instant::now());
            if take {
                st.demand.entry(*key).or_insert_with(Demand::new).note();
            }
            if let Some(cells) = st.ready.get_mut(key).filter(|_| take) {
                // Oldest first: it has had the most time to finish setting up.
                while !cells.is_empty() {
                    let mut cell = cells.remove(0);
                    if cell.alive() && cell.age().as_secs() < self.config().max_age_secs {
                        found = Some(cell);
                        break;
                    }
                    stale.push(cell);
                }
            }
            if found.is_some() {
                st.handed_out += 1;
            }
            if !st.sweeping {
                st.sweeping = true;
                tokio::spawn(sweep(Arc::downgrade(self)));
            }
        }
        // Dropping a cell kills and cleans up: outside the lock.
        cell::dispose(stale);
        self.top_up(key);
        found
    }

    /// Starts cells of `key` in the background up to the configured count.
    fn top_up(self: &Arc<Self>, key: &CellKey) {
        let want = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let have = st.ready.get(key).map_or(0, Vec::len) + st.starting.get(key).unwrap_or(&0);
            let room = self.config().max_total.saturating_sub(st.total());
            let rate = st.demand.get_mut(key).map_or(0, Demand::rate);
            let target = self.config().per_kind.max(rate);
            let want = target.saturating_sub(have).min(room);
            *st.starting.entry(*key).or_default() += want;
            want
        };
        for _ in 0..want {
            let pool = self.clone();
            let key = *key;
            // Blocking: it may clean a slot up, and it makes directories,
            // a mount and cgroups.
            tokio::task::spawn_blocking(move || pool.start_one(key));
        }
    }

    fn start_one(&self, key: CellKey) {
        let cell = match self.machine.start_cell_now(&key) {
            Some(Ok(cell)) => Some(cell),
            Some(Err(e)) => {
                tracing::warn!("warm pool: cannot start a sandbox: {e}");
                None
            }
            // Every slot is busy: the pool does not compete with jobs.
            None => None,
        };
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = st.starting.get_mut(&key) {
            *n = n.saturating_sub(1);
        }
        if let Some(cell) = cell {
            st.ready.entry(key).or_default().push(cell);
        }
    }

    /// Takes one waiting cell (the oldest) out of the pool, for the caller to
    /// drop (off the async path: ending it takes a few ms) and so free its
    /// slot for a cold start. `None` when none was waiting.
    pub fn evict_one(&self) -> Option<Cell> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let oldest = st
            .ready
            .iter()
            .filter(|(_, cells)| !cells.is_empty())
            .max_by_key(|(_, cells)| cells[0].age())
            .map(|(k, _)| *k);
        oldest.and_then(|k| st.ready.get_mut(&k).map(|cells| cells.remove(0)))
    }

    /// Drops every waiting cell and forgets all demand. The cells end here,
    /// not on a blocking task: at shutdown nothing would run that task.
    pub fn clear(&self) {
        let ready = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.last_asked.clear();
            st.demand.clear();
            std::mem::take(&mut st.ready)
        };
        drop(ready);
    }

    /// Current counts.
    pub fn stats(&self) -> PoolStats {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        PoolStats {
            ready: st.ready.values().map(Vec::len).sum(),
            starting: st.starting.values().sum(),
            kinds: st.last_asked.len(),
            handed_out: st.handed_out,
        }
    }

    /// Lets go of idle kinds and old or dead cells, and tops up the rest.
    fn sweep_once(self: &Arc<Self>) {
        let idle = Duration::from_secs(self.config().idle_secs);
        let max_age = Duration::from_secs(self.config().max_age_secs);
        let (gone, busy) = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.last_asked.retain(|_, at| at.elapsed() < idle);
            st.demand.retain(|_, d| d.rate() > 0);
            let mut gone = Vec::new();
            let asked: Vec<CellKey> = st.last_asked.keys().copied().collect();
            for (key, cells) in st.ready.iter_mut() {
                let keep_kind = asked.contains(key);
                for mut cell in std::mem::take(cells) {
                    if keep_kind && cell.alive() && cell.age() < max_age {
                        cells.push(cell);
                    } else {
                        gone.push(cell);
                    }
                }
            }
            st.ready.retain(|_, cells| !cells.is_empty());
            (gone, asked)
        };
        cell::dispose(gone);
        for key in busy {
            self.top_up(&key);
        }
    }
}

async fn sweep(pool: Weak<Pool>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let Some(pool) = pool.upgrade() else { return };
        pool.sweep_once();
    }
}
