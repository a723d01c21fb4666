//! Sandbox slots: one unprivileged user per concurrent job, so that process
//! limits (RLIMIT_NPROC counts per uid), signals and leftover processes never
//! cross jobs. A slot is held with an `flock` on a lock file, so several host
//! processes on one machine (a server and `codr run`, parallel tests) share the
//! users safely; the lock goes away with the process that held it.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A sandbox user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotUser {
    /// Slot number.
    pub index: usize,
    /// User name, e.g. `codr-sbx-0`.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// Its passwd home, where firejail mounts the job directory.
    pub home: PathBuf,
}

/// Looks a user up in the passwd database.
pub fn lookup_user(name: &str) -> Option<(u32, u32, PathBuf)> {
    let cname = CString::new(name).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r with buffers we own; the result points into `buf`/`pwd`.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: pw_dir is a NUL-terminated string inside `buf`.
    let dir = unsafe { std::ffi::CStr::from_ptr(pwd.pw_dir) };
    Some((
        pwd.pw_uid,
        pwd.pw_gid,
        PathBuf::from(dir.to_string_lossy().into_owned()),
    ))
}

/// The sandbox users that exist, `prefix0 .. prefix(max-1)`, stopping at the first gap.
pub fn find_users(prefix: &str, max: usize) -> Vec<SlotUser> {
    (0..max)
        .map_while(|i| {
            let name = format!("{prefix}{i}");
            lookup_user(&name).map(|(uid, gid, home)| SlotUser {
                index: i,
                name,
                uid,
                gid,
                home,
            })
        })
        .collect()
}

/// A held slot; released on drop.
///
/// The first byte of the lock file says whether the last holder left the
/// slot clean (`c`: it proved nothing of its jobs was left running) or not
/// (anything else: it is in use, or its holder died mid-job). Only a slot not
/// left clean needs a sweep of /proc for its user's processes, which costs
/// about a millisecond of CPU with a few hundred processes running.
#[derive(Debug)]
pub struct SlotLease {
    /// The user of this slot.
    pub user: SlotUser,
    /// Whether the previous holder left nothing running.
    pub was_clean: bool,
    lock: File,
}

impl SlotLease {
    /// Records that nothing of this slot's jobs is left running, so the next
    /// holder can skip its sweep. Call only after proving it (see `kill`).
    pub fn mark_clean(&self) {
        let _ = self.lock.write_at(CLEAN, 0);
    }
}

const CLEAN: &[u8] = b"c";
const IN_USE: &[u8] = b"u";

/// Tries to take a slot's lock without waiting.
pub fn try_lock(lock_dir: &Path, user: &SlotUser) -> Option<SlotLease> {
    let path = lock_dir.join(format!(".{}.lock", user.name));
    let file = OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .ok()?;
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return None;
    }
    let mut state = [0u8; 1];
    let was_clean = matches!(file.read_at(&mut state, 0), Ok(1)) && state == CLEAN;
    // Unless it is marked clean again, the next holder sweeps.
    if file.write_at(IN_USE, 0).is_err() {
        return None;
    }
    Some(SlotLease {
        user: user.clone(),
        was_clean,
        lock: file,
    })
}

/// Takes a free slot if there is one, without waiting.
pub fn try_acquire(lock_dir: &Path, users: &[SlotUser]) -> Option<SlotLease> {
    try_acquire_where(lock_dir, users, |_| true)
}

/// Takes a free slot among those `usable` accepts, without waiting. Starts
/// at a slot that varies by process, so that several hosts on one machine
/// do not all fight for slot 0.
pub fn try_acquire_where(
    lock_dir: &Path,
    users: &[SlotUser],
    usable: impl Fn(&SlotUser) -> bool,
) -> Option<SlotLease> {
    let start = (std::process::id() as usize) % users.len().max(1);
    (0..users.len())
        .map(|k| &users[(start + k) % users.len()])
        .filter(|u| usable(u))
        .find_map(|u| try_lock(lock_dir, u))
}

/// Processes of sandbox users whose slot is free (held by no job of any
/// process). Must be empty: a finished job leaves nothing behind.
pub fn idle_leftovers(lock_dir: &Path, users: &[SlotUser]) -> Vec<(String, Vec<i32>)> {
    // The free slots first, held while /proc is read: a slot that was busy
    // when /proc was read and freed a moment later would otherwise be
    // blamed for its last job's processes, which its holder saw die.
    let free: Vec<(&SlotUser, SlotLease)> = users
        .iter()
        .filter_map(|u| Some((u, try_lock(lock_dir, u)?)))
        .collect();
    let mut by_uid = crate::kill::pids_by_uid();
    free.into_iter()
        .filter_map(|(u, lease)| {
            let pids = by_uid.remove(&u.uid).unwrap_or_default();
            if pids.is_empty() {
                lease.mark_clean();
            }
            (!pids.is_empty()).then(|| (u.name.clone(), pids))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> SlotUser {
        SlotUser {
            index: 0,
            name: "codr-test-slot".into(),
            uid: 4_000_000,
            gid: 4_000_000,
            home: PathBuf::from("/nonexistent"),
        }
    }

    #[test]
    fn a_slot_is_clean_only_when_its_last_holder_said_so() {
        let dir = std::env::temp_dir().join(format!("codr-slots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let users = [user()];
        // Never held: unknown, so not clean.
        let lease = try_acquire(&dir, &users).unwrap();
        assert!(!lease.was_clean);
        // Held: nobody else gets it.
        assert!(try_acquire(&dir, &users).is_none());
        lease.mark_clean();
        drop(lease);
        let lease = try_acquire(&dir, &users).unwrap();
        assert!(lease.was_clean);
        // Let go without proof (a holder that died mid-job): not clean.
        drop(lease);
        assert!(!try_acquire(&dir, &users).unwrap().was_clean);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
