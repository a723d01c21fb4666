//! Whether a program is waiting for its user: blocked reading its terminal,
//! with nothing else of it running. Read from the host (root) in /proc, so
//! the program has no say in it and pays nothing for it.
//!
//! A thread is reading its terminal when `/proc/<pid>/task/<tid>/syscall`
//! shows it blocked in `read` on descriptor 0 (Python's `input()`, C's
//! `scanf`, Java's `Scanner`, Rust's `stdin().read_line`), or in
//! `epoll_wait`/`epoll_pwait` with no timeout on an epoll set that holds
//! descriptor 0 (Node's event loop with only `readline` pending). A task
//! whose `syscall` says `running` means the program is busy, not waiting.

use std::fs;

/// `read` on x86_64.
const SYS_READ: i64 = 0;
/// `epoll_wait`, `epoll_pwait`, `epoll_pwait2` on x86_64.
const SYS_EPOLL_WAIT: i64 = 232;
const SYS_EPOLL_PWAIT: i64 = 281;
const SYS_EPOLL_PWAIT2: i64 = 441;

/// Whether some thread of `pids` is blocked reading descriptor 0 and no
/// thread of them is running.
pub fn reads_terminal(pids: &[i32]) -> bool {
    let mut reading = false;
    for pid in pids {
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(line) = fs::read_to_string(task.path().join("syscall")) else {
                continue;
            };
            match Blocked::parse(&line) {
                Some(Blocked::Running) => return false,
                Some(Blocked::In(nr, args)) => reading |= waits_on_stdin(*pid, nr, &args),
                None => {}
            }
        }
    }
    reading
}

/// A task's state from its `syscall` file.
enum Blocked {
    /// On a CPU (or runnable).
    Running,
    /// Blocked in system call `nr` with these arguments.
    In(i64, Vec<u64>),
}

impl Blocked {
    fn parse(line: &str) -> Option<Blocked> {
        let mut fields = line.split_whitespace();
        let first = fields.next()?;
        if first == "running" {
            return Some(Blocked::Running);
        }
        let nr = first.parse().ok()?;
        let args = fields
            .take(6)
            .map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap_or(u64::MAX))
            .collect();
        Some(Blocked::In(nr, args))
    }
}

/// Whether system call `nr` with `args`, made by a thread of `pid`, waits
/// for descriptor 0.
fn waits_on_stdin(pid: i32, nr: i64, args: &[u64]) -> bool {
    let arg = |i: usize| args.get(i).copied().unwrap_or(u64::MAX);
    match nr {
        SYS_READ => arg(0) == 0,
        // timeout -1 (an int: its low 32 bits) means no timer is pending.
        SYS_EPOLL_WAIT | SYS_EPOLL_PWAIT => {
            arg(3) & 0xffff_ffff == 0xffff_ffff && epoll_watches_stdin(pid, arg(0))
        }
        // epoll_pwait2 takes a timespec pointer: NULL is no timeout.
        SYS_EPOLL_PWAIT2 => arg(3) == 0 && epoll_watches_stdin(pid, arg(0)),
        _ => false,
    }
}

/// Whether the epoll set `epfd` of `pid` holds descriptor 0 (its fdinfo
/// lists each watched descriptor as `tfd: N`).
fn epoll_watches_stdin(pid: i32, epfd: u64) -> bool {
    let Ok(info) = fs::read_to_string(format!("/proc/{pid}/fdinfo/{epfd}")) else {
        return false;
    };
    info.lines().any(|l| {
        l.strip_prefix("tfd:")
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|fd| fd == "0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_lines_parse() {
        assert!(matches!(
            Blocked::parse("running\n"),
            Some(Blocked::Running)
        ));
        match Blocked::parse("0 0x0 0x7ffd 0x400 0x0 0x0 0x0 0x7ffc 0x7f12\n") {
            Some(Blocked::In(0, args)) => assert_eq!(args[..3], [0, 0x7ffd, 0x400]),
            _ => panic!("not parsed"),
        }
        assert!(Blocked::parse("").is_none());
    }

    #[test]
    fn read_on_stdin_and_epoll_without_timeout() {
        assert!(waits_on_stdin(1, SYS_READ, &[0, 1, 2]));
        assert!(!waits_on_stdin(1, SYS_READ, &[3, 1, 2]));
        // A timed epoll wait (a timer pending) is not a wait for the user.
        assert!(!waits_on_stdin(1, SYS_EPOLL_WAIT, &[3, 0, 1024, 1000]));
    }

    /// A real process of ours blocked in `read(0)` on a pipe is seen waiting.
    #[test]
    fn a_child_blocked_reading_stdin_is_seen() {
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("read x")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let seen = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            reads_terminal(&[pid])
        });
        let _ = child.kill();
        let _ = child.wait();
        assert!(seen, "sh blocked in read(0) was not seen");
    }
}
