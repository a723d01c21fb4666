//! Running one step: spawn Firejail as the slot user inside the job's cgroup,
//! on pipes or on a PTY, keep the clock, count output, kill the tree at a limit.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::mpsc;

use crate::cgroup::JobCgroup;
use crate::config::{Limits, SessionClock};
use crate::slots::SlotUser;
use crate::{kill, vfork};
use crate::{waiting, Control, Event, Stream};

/// What the host feeds a running step.
pub enum Feed<'a> {
    /// Pipes: `stdin` is written then closed.
    Stdin(&'a [u8]),
    /// A PTY: input, resizes and kill come from `control`; `events` gets
    /// [`Event::InputRequired`] when the program waits for its user; the
    /// clock stands still while it does (see [`SessionClock`]).
    Control(
        &'a mut mpsc::Receiver<Control>,
        mpsc::Sender<Event>,
        SessionClock,
    ),
}

/// Why a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The process exited by itself.
    Exited,
    /// The wall clock ran out.
    WallLimit,
    /// The tree used its CPU time.
    CpuLimit,
    /// The output passed its cap.
    OutputLimit,
    /// The job directory's quota (bytes or files) ran out.
    DiskLimit,
    /// Killed on request (Control::Kill, or the control/events channel closed).
    Killed,
    /// An interactive program waited for its user longer than the input
    /// timeout (ms).
    IdleTimeout(u64),
    /// An interactive run reached the session's ceiling (ms), waits included.
    SessionLimit(u64),
}

/// What a step did.
#[derive(Debug)]
pub struct StepResult {
    /// Why it ended.
    pub ended: Ended,
    /// Exit code reported by Firejail (128+n when the program died of signal n).
    pub exit_code: Option<i32>,
    /// Signal that ended Firejail itself (the host's SIGKILL at a limit).
    pub signal: Option<i32>,
    /// Wall time, ms.
    pub wall_ms: u64,
    /// Of it, time an interactive program spent waiting for its user, which
    /// the wall-time limit does not count, ms.
    pub waited_ms: u64,
    /// CPU time of the tree, ms.
    pub cpu_ms: u64,
    /// Peak memory, bytes (0 when unmeasured).
    pub memory_peak: u64,
    /// The cgroup saw the OOM killer.
    pub oom: bool,
    /// Standard output (pipes).
    pub stdout: Vec<u8>,
    /// Standard error (pipes).
    pub stderr: Vec<u8>,
    /// Nothing of the tree was left running at the end.
    pub clean: bool,
}

/// Output as it comes: where each chunk goes.
pub type Sink<'a> = &'a mut (dyn FnMut(Stream, &[u8]) -> bool + Send);

/// The fixed parts of spawning one sandbox.
pub struct Spawn<'a> {
    /// Path of firejail.
    pub firejail: &'a std::path::Path,
    /// Its arguments (flags, program, program arguments).
    pub args: Vec<std::ffi::OsString>,
    /// The whole environment.
    pub env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    /// The slot user.
    pub user: &'a SlotUser,
    /// The job's cgroup.
    pub cgroup: Option<&'a JobCgroup>,
    /// The read end of the cell's gate, which the sandbox gets as fd 3.
    pub gate: RawFd,
}

/// What a running step is watched against.
pub struct Watch<'a> {
    /// Resolved limits.
    pub limits: &'a Limits,
    /// The step's cgroup.
    pub cgroup: Option<&'a JobCgroup>,
    /// The slot user's uid.
    pub uid: u32,
    /// CPU time (ms) the tree had used when the step was let go: a warm
    /// sandbox's set-up is not the program's.
    pub cpu_base: u64,
    /// The job directory when it is a quota-bound tmpfs: full means stop.
    pub disk: Option<&'a std::path::Path>,
}

impl Watch<'_> {
    /// CPU time of the tree so far, ms (the cgroup's, else the uid's processes').
    pub fn cpu_total(&self) -> u64 {
        match self.cgroup.and_then(|c| c.cpu_ms()) {
            Some(ms) => ms,
            None => kill::cpu_ms_of_uid(self.uid),
        }
    }

    fn cpu_now(&self) -> u64 {
        self.cpu_total().saturating_sub(self.cpu_base)
    }

    /// Pids of the tree: the cgroup's, else the slot user's.
    fn pids(&self) -> Vec<i32> {
        match self.cgroup {
            Some(c) => c.pids(),
            None => kill::pids_of_uid(self.uid),
        }
    }

    /// Whether the job directory's quota is used up: no byte or no inode
    /// left (a write or a create has failed, or the next one will).
    fn disk_full(&self) -> bool {
        self.disk
            .and_then(|d| rustix::fs::statvfs(d).ok())
            .is_some_and(|v| v.f_bfree == 0 || v.f_ffree == 0)
    }
}

/// How the child of `s` sets itself up (see [`vfork`]): firejail as the slot
/// user, from its home, in the job's cgroup.
fn setup(s: &Spawn<'_>) -> io::Result<vfork::Setup> {
    let mut setup = vfork::Setup::new(
        s.firejail.as_os_str(),
        &s.args,
        &s.env,
        // Inside, the passwd home is the job directory; outside it is an empty dir.
        &s.user.home,
        (s.user.uid, s.user.gid),
    )?;
    setup.join_cgroup(s.cgroup.map(|c| c.procs_files()).unwrap_or_default());
    setup.pass_as_fd3(s.gate);
    Ok(setup)
}

/// A spawned sandbox: the process, its output channel and its input side.
pub struct Started {
    child: vfork::Child,
    output: mpsc::Receiver<(Stream, Vec<u8>)>,
    input: StartedInput,
}

enum StartedInput {
    Pipes(pipe::Sender),
    Pty {
        master: Master,
        input: mpsc::Sender<Vec<u8>>,
    },
}

impl Started {
    /// Whether the sandbox is still running (a cell whose firejail failed or
    /// whose shell exited is of no use).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sets the window size (PTY only).
    pub fn resize(&self, rows: u16, cols: u16) {
        if let StartedInput::Pty { master, .. } = &self.input {
            resize(master, rows, cols);
        }
    }

    /// The pid of firejail (also its process group).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Spawns firejail as the slot user in the job's cgroup, on a PTY of `pty`
/// size (rows, cols) or on pipes. Must be called within a tokio runtime.
pub fn spawn(s: &Spawn<'_>, pty: Option<(u16, u16)>) -> io::Result<Started> {
    match pty {
        None => spawn_pipes(s),
        Some(size) => spawn_pty(s, size),
    }
}

fn spawn_pipes(s: &Spawn<'_>) -> io::Result<Started> {
    let (stdin_r, stdin_w) = vfork::pipe()?;
    let (stdout_r, stdout_w) = vfork::pipe()?;
    let (stderr_r, stderr_w) = vfork::pipe()?;
    let setup = setup(s)?;
    let stdio = [
        stdin_r.as_raw_fd(),
        stdout_w.as_raw_fd(),
        stderr_w.as_raw_fd(),
    ];
    let child = {
        let _no_writes = crate::spawn_lock::spawning();
        setup.spawn(stdio, false)?
    };
    // The child's ends close here, so our readers see EOF when it is done.
    drop((stdin_r, stdout_w, stderr_w));
    let (tx, rx) = mpsc::channel::<(Stream, Vec<u8>)>(64);
    tokio::spawn(pump(
        pipe::Receiver::from_owned_fd(stdout_r)?,
        Stream::Stdout,
        tx.clone(),
    ));
    tokio::spawn(pump(
        pipe::Receiver::from_owned_fd(stderr_r)?,
        Stream::Stderr,
        tx,
    ));
    Ok(Started {
        child,
        output: rx,
        input: StartedInput::Pipes(pipe::Sender::from_owned_fd(stdin_w)?),
    })
}

async fn pump<R: AsyncRead + Unpin>(mut r: R, stream: Stream, tx: mpsc::Sender<(Stream, Vec<u8>)>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send((stream, buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The PTY master, non-blocking, shared by the reader and the writer.
type Master = Arc<AsyncFd<OwnedFd>>;

fn open_pty(size: (u16, u16)) -> io::Result<(OwnedFd, OwnedFd)> {
    let (mut master, mut slave): (RawFd, RawFd) = (-1, -1);
    let ws = libc::winsize {
        ws_row: size.0,
        ws_col: size.1,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty fills two descriptors we then own.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from openpty.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [master.as_raw_fd(), slave.as_raw_fd()] {
        // SAFETY: fcntl on descriptors we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: as above.
    unsafe {
        let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    Ok((master, slave))
}

/// Sets the PTY's window size.
fn resize(master: &Master, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a valid winsize on our master.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// The result of read(2) or write(2): the bytes moved, or errno's error.
fn byte_count(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

async fn read_master(master: Master, tx: mpsc::Sender<(Stream, Vec<u8>)>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(mut guard) = master.readable().await else {
            return;
        };
        // SAFETY: read(2) into our buffer.
        let res = guard.try_io(|fd| {
            byte_count(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
        });
        match res {
            Err(_would_block) => continue,
            // EIO: every slave descriptor closed, the end of the stream.
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => {
                if tx.send((Stream::Stdout, buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn write_master(master: Master, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(data) = rx.recv().await {
        let mut off = 0;
        while off < data.len() {
            let Ok(mut guard) = master.writable().await else {
                return;
            };
            // SAFETY: write(2) from our buffer.
            let res = guard.try_io(|fd| {
                byte_count(unsafe {
                    libc::write(
                        fd.as_raw_fd(),
                        data[off..].as_ptr().cast(),
                        data.len() - off,
                    )
                })
            });
            match res {
                Err(_would_block) => continue,
                Ok(Ok(n)) => off += n,
                Ok(Err(_)) => return,
            }
        }
    }
}

fn spawn_pty(s: &Spawn<'_>, size: (u16, u16)) -> io::Result<Started> {
    let (master, slave) = open_pty(size)?;
    let setup = setup(s)?;
    let fd = slave.as_raw_fd();
    let child = {
        let _no_writes = crate::spawn_lock::spawning();
        setup.spawn([fd, fd, fd], true)?
    };
    // Our slave must go, or the reader never sees EOF.
    drop(slave);
    // SAFETY: we own the master descriptor and hand it over; nothing else polls it.
    let master =
        unsafe { AsyncFd::register(master) }.map_err(|e| io::Error::other(e.to_string()))?;
    let master: Master = Arc::new(master);
    let (tx, rx) = mpsc::channel::<(Stream, Vec<u8>)>(64);
    tokio::spawn(read_master(master.clone(), tx));
    let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(64);
    tokio::spawn(write_master(master.clone(), in_rx));
    Ok(Started {
        child,
        output: rx,
        input: StartedInput::Pty {
            master,
            input: in_tx,
        },
    })
}

struct PtyControl<'a> {
    master: Master,
    control: &'a mut mpsc::Receiver<Control>,
    input: mpsc::Sender<Vec<u8>>,
    events: mpsc::Sender<Event>,
    /// The last output or input: a program waits for its user only once
    /// both have been quiet for [`QUIET_BEFORE_WAITING`].
    last_activity: Instant,
    /// `input_required` was sent for the current wait.
    told: bool,
    /// The limits on waiting for the user.
    clock: SessionClock,
    /// When the current wait for the user was seen to begin.
    waiting_since: Option<Instant>,
    /// Time spent in past waits: the wall clock's deadline moves by it.
    waited: Duration,
}

/// How long output and input must have been quiet before a program blocked
/// on its terminal counts as waiting for its user: everything it wrote has
/// been read from the PTY by then, and input just sent has been taken.
const QUIET_BEFORE_WAITING: Duration = Duration::from_millis(100);

/// What the control channel asked.
enum Asked {
    Nothing,
    Kill,
}

impl PtyControl<'_> {
    /// Output came or input went: a new wait may begin after it.
    fn activity(&mut self) {
        self.last_activity = Instant::now();
        self.told = false;
        if let Some(since) = self.waiting_since.take() {
            self.waited += since.elapsed();
        }
    }

    /// Time waited for the user so far, the current wait included.
    fn waited(&self) -> Duration {
        self.waited + self.waiting_since.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// The next moment a limit of the clock falls due, and what it ends: the
    /// session's ceiling; the input timeout while the program waits for its
    /// user, else the wall-time limit moved by the time waited so far.
    fn deadline(&self, start: Instant, wall: Duration) -> (Instant, Ended) {
        let ceiling = (
            start + Duration::from_millis(self.clock.max_ms),
            Ended::SessionLimit(self.clock.max_ms),
        );
        let next = match self.waiting_since {
            Some(since) => (
                since + Duration::from_millis(self.clock.input_timeout_ms),
                Ended::IdleTimeout(self.clock.input_timeout_ms),
            ),
            None => (start + wall + self.waited, Ended::WallLimit),
        };
        if ceiling.0 <= next.0 {
            ceiling
        } else {
            next
        }
    }

    /// Tells the client, once per wait, that the program waits for input.
    /// Runs on the step's clock tick, after quiet only: a few /proc reads.
    fn notice_waiting(&mut self, w: &Watch<'_>) {
        if self.told || self.last_activity.elapsed() < QUIET_BEFORE_WAITING {
            return;
        }
        if waiting::reads_terminal(&w.pids()) {
            self.told = true;
            self.waiting_since = Some(Instant::now());
            let _ = self.events.try_send(Event::InputRequired);
        }
    }

    fn handle(&mut self, c: Option<Control>) -> Asked {
        match c {
            Some(Control::Input(data)) => {
                self.activity();
                // A program that never reads must not stall the host: drop on full.
                let _ = self.input.try_send(data);
                Asked::Nothing
            }
            Some(Control::Resize { rows, cols }) => {
                resize(&self.master, rows, cols);
                Asked::Nothing
            }
            Some(Control::Kill) | None => Asked::Kill,
        }
    }
}

/// Watches a step the host has just let go: clock, CPU, output, control,
/// exit. Kills the tree at a limit, then always sweeps leftovers and reads
/// the output to its end.
pub async fn supervise(
    w: &Watch<'_>,
    started: Started,
    feed: Feed<'_>,
    sink: Sink<'_>,
) -> io::Result<StepResult> {
    let start = Instant::now();
    let Started {
        mut child,
        output: mut rx,
        input,
    } = started;
    let mut pty = match (input, feed) {
        (StartedInput::Pipes(mut stdin), Feed::Stdin(data)) => {
            let data = data.to_vec();
            // Broken pipe (program does not read) is fine.
            tokio::spawn(async move {
                let _ = stdin.write_all(&data).await;
            });
            None
        }
        (StartedInput::Pty { master, input }, Feed::Control(control, events, clock)) => {
            Some(PtyControl {
                master,
                control,
                input,
                events,
                last_activity: Instant::now(),
                told: false,
                clock,
                waiting_since: None,
                waited: Duration::ZERO,
            })
        }
        _ => {
            return Err(io::Error::other(
                "a PTY step needs control, a pipe step stdin",
            ))
        }
    };
    let pgid = child.id().map(|p| p as i32);
    let wall = Duration::from_millis(w.limits.wall_time_ms);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut out = Output::new(w.limits.output_bytes);
    let mut max_cpu = 0u64;
    let mut ended = None;
    let mut status = None;
    let mut rx_open = true;
    let mut ticks = 0u8;
    while status.is_none() {
        // A batch step's deadline is fixed; an interactive one's moves while
        // its program waits for the user (recomputed each turn: at least
        // every tick).
        let (deadline, at_deadline) = match pty.as_ref() {
            Some(p) => p.deadline(start, wall),
            None => (start + wall, Ended::WallLimit),
        };
        tokio::select! {
            st = child.wait() => status = Some(st?),
            chunk = rx.recv(), if rx_open => match chunk {
                Some((stream, data)) => {
                    if let Some(p) = pty.as_mut() { p.activity() }
                    if let Some(e) = out.take(stream, &data, sink) { ended = Some(e) }
                }
                None => rx_open = false,
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => ended = Some(at_deadline),
            _ = tick.tick() => {
                ticks = (ticks + 1) % 5;
                // A program waiting for its user uses no CPU and writes
                // nothing: hundreds of waiting sessions are looked at 4
                // times a second, not 20.
                if pty.as_ref().is_some_and(|p| p.waiting_since.is_some()) && ticks != 0 {
                    continue;
                }
                let cpu = w.cpu_now();
                max_cpu = max_cpu.max(cpu);
                if cpu >= w.limits.cpu_time_ms { ended = Some(Ended::CpuLimit) }
                else if w.disk_full() { ended = Some(Ended::DiskLimit) }
                else if let Some(p) = pty.as_mut() { p.notice_waiting(w) }
            }
            c = async { pty.as_mut().unwrap().control.recv().await }, if pty.is_some() => {
                if let Asked::Kill = pty.as_mut().unwrap().handle(c) { ended = Some(Ended::Killed) }
            }
        }
        if ended.is_some() && status.is_none() {
            // Short (a few ms; bounded), so done inline.
            kill::kill_tree(pgid, w.cgroup, w.uid);
            status = Some(child.wait().await?);
        }
    }
    let wall_ms = start.elapsed().as_millis() as u64;
    tracing::trace!(wall_ms, "step exited");
    max_cpu = max_cpu.max(w.cpu_now());
    if ended.is_none() && w.disk_full() {
        // Filled between two ticks, then gave up (ENOSPC) and exited.
        ended = Some(Ended::DiskLimit);
    }
    // Whatever the program left behind (daemons, background jobs) dies now.
    let clean = kill::kill_tree(pgid, w.cgroup, w.uid);
    let waited_ms = pty.as_ref().map_or(0, |p| p.waited().as_millis() as u64);
    drop(pty);
    // Read to the end: the last output often arrives after the exit.
    let drain_until = tokio::time::Instant::now() + Duration::from_secs(2);
    while rx_open {
        match tokio::time::timeout_at(drain_until, rx.recv()).await {
            Ok(Some((stream, data))) => {
                if let Some(e) = out.take(stream, &data, sink) {
                    ended.get_or_insert(e);
                }
            }
            Ok(None) | Err(_) => rx_open = false,
        }
    }
    tracing::trace!(
        ms = start.elapsed().as_millis() as u64,
        clean,
        "step swept and drained"
    );
    let stats = w.cgroup.map(|c| c.stats()).unwrap_or_default();
    Ok(StepResult {
        ended: ended.unwrap_or(Ended::Exited),
        exit_code: status.and_then(|st| st.code()),
        signal: status.and_then(|st| st.signal()),
        wall_ms,
        waited_ms,
        cpu_ms: if w.cgroup.is_some() {
            stats.cpu_ms.saturating_sub(w.cpu_base)
        } else {
            max_cpu
        },
        memory_peak: stats.memory_peak,
        oom: stats.oom,
        stdout: out.stdout,
        stderr: out.stderr,
        clean,
    })
}

/// Output accounting: everything counts against one cap.
struct Output {
    cap: u64,
    seen: u64,
    over: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Output {
    fn new(cap: u64) -> Self {
        Output {
            cap,
            seen: 0,
            over: false,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// Passes a chunk on (up to the cap); returns why to stop, if so.
    fn take(&mut self, stream: Stream, data: &[u8], sink: Sink<'_>) -> Option<Ended> {
        if self.over {
            return None;
        }
        let room = self.cap.saturating_sub(self.seen) as usize;
        let part = &data[..data.len().min(room)];
        self.seen += data.len() as u64;
        let alive = part.is_empty() || sink(stream, part);
        match stream {
            Stream::Stderr => self.stderr.extend_from_slice(part),
            _ => self.stdout.extend_from_slice(part),
        }
        if self.seen > self.cap {
            self.over = true;
            return Some(Ended::OutputLimit);
        }
        (!alive).then_some(Ended::Killed)
    }
}
