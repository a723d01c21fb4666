//! Starting Firejail without copying the host's address space.
//!
//! `fork` copies the page tables of the whole host (tens of MB with the
//! plugin runtime), and every page either side writes until the child execs
//! is then copied again on fault: about 2 ms of CPU per sandbox here, measured
//! with `perf` at ten concurrent jobs. Like `posix_spawn`, this module starts
//! the child with `clone(CLONE_VM | CLONE_VFORK)`: it runs on a small stack of
//! its own in the host's memory while the calling thread waits, sets itself up
//! with plain system calls on data prepared beforehand, and execs.
//!
//! What the child may do is narrow: no allocation, no locks, nothing that
//! touches the host's state. Credentials change through raw system calls,
//! because glibc's `setuid` signals every thread of the host to follow.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};

use tokio::io::unix::AsyncFd;

/// The child's stack: it only makes system calls before exec.
const STACK_BYTES: usize = 64 * 1024;

/// How the child sets itself up before exec, all prepared before the clone.
pub struct Setup {
    /// The program's path first, then its arguments.
    argv: Vec<CString>,
    envp: Vec<CString>,
    cwd: CString,
    /// Cgroup `tasks`/`cgroup.procs` files the child joins (while still root).
    cgroup_procs: Vec<CString>,
    /// A descriptor the child gets as its fd 3 (the cell's gate).
    fd3: Option<RawFd>,
    uid: u32,
    gid: u32,
}

impl Setup {
    /// A child running `program args` with exactly `env`, in `cwd`, as
    /// `uid`/`gid` with no supplementary groups.
    pub fn new(
        program: &OsStr,
        args: &[std::ffi::OsString],
        env: &[(std::ffi::OsString, std::ffi::OsString)],
        cwd: &std::path::Path,
        (uid, gid): (u32, u32),
    ) -> io::Result<Setup> {
        let mut argv = vec![cstring(program.as_bytes())?];
        for a in args {
            argv.push(cstring(a.as_bytes())?);
        }
        let envp = env
            .iter()
            .map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
            .collect::<io::Result<_>>()?;
        Ok(Setup {
            argv,
            envp,
            cwd: cstring(cwd.as_os_str().as_bytes())?,
            cgroup_procs: Vec::new(),
            fd3: None,
            uid,
            gid,
        })
    }

    /// Files the child writes its pid to ("0") before dropping root.
    pub fn join_cgroup(&mut self, procs_files: Vec<CString>) -> &mut Self {
        self.cgroup_procs = procs_files;
        self
    }

    /// A descriptor the child gets as its descriptor 3 (the caller keeps it
    /// open until [`Setup::spawn`] returns).
    pub fn pass_as_fd3(&mut self, fd: RawFd) -> &mut Self {
        self.fd3 = Some(fd);
        self
    }

    /// Starts the child with `stdio` as its descriptors 0, 1 and 2; with
    /// `session`, in a new session whose controlling terminal is stdin (a PTY
    /// slave), else in a new process group. Returns once it has exec'd (or
    /// failed to).
    pub fn spawn(&self, stdio: [RawFd; 3], session: bool) -> io::Result<Child> {
        let mut argv: Vec<*const libc::c_char> = self.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = self.envp.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());
        let shared = Shared {
            setup: self,
            stdio,
            session,
            argv: &argv,
            envp: &envp,
            errno: AtomicI32::new(0),
        };
        let mut stack = vec![0u8; STACK_BYTES];
        // SAFETY: the stack grows down from its (16-aligned) top; the child
        // only uses it until exec or _exit, while this thread waits (VFORK).
        let pid = unsafe {
            let top = stack.as_mut_ptr().add(STACK_BYTES);
            let top = top.sub(top as usize % 16);
            with_signals_blocked(|| {
                let pid = libc::clone(
                    child_main,
                    top.cast(),
                    libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                    std::ptr::from_ref(&shared).cast_mut().cast(),
                );
                // Read before the mask is restored can touch errno.
                (pid >= 0)
                    .then_some(pid)
                    .ok_or_else(io::Error::last_os_error)
            })
        }?;
        let errno = shared.errno.load(Ordering::Acquire);
        if errno != 0 {
            let mut status = 0;
            // SAFETY: reaping our own child, which has exited (_exit).
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return Err(io::Error::from_raw_os_error(errno));
        }
        Child::new(pid)
    }
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::other("a NUL byte in a program argument"))
}

/// What the child reads (the host's memory, shared) and where it reports a
/// failure before exec.
struct Shared<'a> {
    setup: &'a Setup,
    /// Descriptors that become the child's 0, 1 and 2.
    stdio: [RawFd; 3],
    /// A new session (PTY) rather than a new process group.
    session: bool,
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    errno: AtomicI32,
}

/// Runs `f` with every signal blocked in this thread, so that no handler of
/// the host runs in the child before it has reset them.
unsafe fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    let mut all: libc::sigset_t = std::mem::zeroed();
    let mut old: libc::sigset_t = std::mem::zeroed();
    libc::sigfillset(&mut all);
    libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    let r = f();
    libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    r
}

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `Shared` of `spawn`, alive while the parent waits.
    let shared = unsafe { &*(arg as *const Shared<'_>) };
    // SAFETY: only system calls on prepared data (see the module comment).
    let errno = unsafe { set_up_and_exec(shared) };
    shared.errno.store(errno.max(1), Ordering::Release);
    // SAFETY: _exit runs no destructors or atexit handlers of the host.
    unsafe { libc::_exit(127) }
}

/// The child's side: returns only on failure, with its errno.
unsafe fn set_up_and_exec(sh: &Shared<'_>) -> libc::c_int {
    let s = sh.setup;
    let errno = || *libc::__errno_location();
    // Handlers are the host's code: back to the defaults before anything can
    // be delivered. SIGPIPE too (Rust ignores it, and exec keeps ignored).
    for sig in 1..65 {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
            continue;
        }
        if old.sa_sigaction != libc::SIG_DFL
            && (old.sa_sigaction != libc::SIG_IGN || sig == libc::SIGPIPE)
        {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
    }
    for (target, fd) in sh.stdio.iter().enumerate() {
        if libc::dup2(*fd, target as libc::c_int) < 0 {
            return errno();
        }
    }
    if let Some(fd) = s.fd3 {
        // dup2 onto itself would keep close-on-exec: clear it instead.
        let rc = if fd == 3 {
            libc::fcntl(3, libc::F_SETFD, 0)
        } else {
            libc::dup2(fd, 3)
        };
        if rc < 0 {
            return errno();
        }
    }
    // Join the job cgroup while still root ("0" = the writing process).
    for p in &s.cgroup_procs {
        let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
            return errno();
        }
        libc::close(fd);
    }
    if sh.session {
        if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
            return errno();
        }
    } else if libc::setpgid(0, 0) < 0 {
        return errno();
    }
    // Drop to the slot user with no supplementary groups: raw system calls
    // change this thread only (the child is one thread).
    if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) < 0
        || libc::syscall(libc::SYS_setgid, s.gid) < 0
        || libc::syscall(libc::SYS_setuid, s.uid) < 0
    {
        return errno();
    }
    if libc::chdir(s.cwd.as_ptr()) < 0 {
        return errno();
    }
    let mut none: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut none);
    libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    libc::execve(sh.argv[0], sh.argv.as_ptr(), sh.envp.as_ptr());
    errno()
}

/// A child started by [`Setup::spawn`]; SIGKILLed and reaped if dropped
/// before it was waited for.
pub struct Child {
    pid: i32,
    /// Readable once the child has exited (`pidfd_open`).
    exited: AsyncFd<OwnedFd>,
    status: Option<ExitStatus>,
}

impl Child {
    fn new(pid: i32) -> io::Result<Child> {
        // SAFETY: pidfd_open of our own child, not yet reaped (a zombie at
        // worst, which pidfd_open accepts).
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let exited = if fd < 0 {
            Err(io::Error::last_os_error())
        } else {
            // SAFETY: a fresh descriptor we own, handed to the reactor whole.
            unsafe { AsyncFd::register(OwnedFd::from_raw_fd(fd as RawFd)) }
                .map_err(|e| io::Error::other(e.to_string()))
        };
        let exited = exited.inspect_err(|_| {
            // SAFETY: our child; killed and reaped rather than leaked.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        })?;
        Ok(Child {
            pid,
            exited,
            status: None,
        })
    }

    /// The pid while the child is not reaped.
    pub fn id(&self) -> Option<u32> {
        self.status.is_none().then_some(self.pid as u32)
    }

    /// Its status if it has exited, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            let mut raw = 0;
            // SAFETY: waitpid on our own child.
            let rc = unsafe { libc::waitpid(self.pid, &mut raw, libc::WNOHANG) };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            if rc == self.pid {
                self.status = Some(ExitStatus::from_raw(raw));
            }
        }
        Ok(self.status)
    }

    /// Waits for it to exit.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            let mut ready = self.exited.readable().await?;
            ready.clear_ready();
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        // Reaped here and now, not by a task: a host shutting down would
        // never run it and leave zombies behind. A SIGKILLed firejail is gone
        // at once (its sandbox dies with it), and cells are dropped off the
        // async path (`cell::dispose`).
        // SAFETY: our child, not yet reaped, so the pid is still its own.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

/// A pipe, both ends close-on-exec: (read end, write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from pipe2.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn sh(script: &str) -> Setup {
        let args = ["-c".into(), script.into()];
        let env = [("PATH".into(), "/usr/bin:/bin".into())];
        Setup::new(
            OsStr::new("/bin/sh"),
            &args,
            &env,
            std::path::Path::new("/"),
            (65534, 65534),
        )
        .unwrap()
    }

    // Needs root, as the sandbox does (it drops to `nobody`).
    #[tokio::test]
    async fn runs_as_the_user_with_only_its_environment() {
        let (r, w) = pipe().unwrap();
        let null = std::fs::File::open("/dev/null").unwrap();
        let s = sh(r#"echo "$(id -u) $(id -G) $PATH $HOME"; exit 3"#);
        let mut child = s
            .spawn([null.as_raw_fd(), w.as_raw_fd(), w.as_raw_fd()], false)
            .unwrap();
        drop(w);
        let status = child.wait().await.unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(child.id(), None);
        let out = std::io::read_to_string(std::fs::File::from(r)).unwrap();
        // No HOME: nothing of the host environment but what was given.
        assert_eq!(out, "65534 65534 /usr/bin:/bin \n");
    }

    #[tokio::test]
    async fn a_missing_program_is_an_error_not_a_child() {
        let null = std::fs::File::open("/dev/null").unwrap();
        let fd = null.as_raw_fd();
        let s = Setup::new(
            OsStr::new("/nonexistent/firejail"),
            &[],
            &[],
            std::path::Path::new("/"),
            (65534, 65534),
        )
        .unwrap();
        let e = s.spawn([fd, fd, fd], false).err().expect("no such program");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn dropping_a_running_child_kills_it() {
        let null = std::fs::File::open("/dev/null").unwrap();
        let fd = null.as_raw_fd();
        let child = sh("sleep 30").spawn([fd, fd, fd], false).unwrap();
        let pid = child.id().unwrap() as i32;
        drop(child);
        let gone = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            // SAFETY: probing a pid with signal 0.
            let alive = unsafe { libc::kill(pid, 0) } == 0;
            !alive
        });
        assert!(gone, "the dropped child {pid} still exists");
    }
}
