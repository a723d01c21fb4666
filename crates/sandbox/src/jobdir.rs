//! The job directory: made fresh per job (a size-limited tmpfs owned by the
//! slot's user, mode 0700, or a plain directory without a quota), removed at
//! the end without following anything user code planted and without
//! recursion, whatever tree the job built.

use std::ffi::{CStr, CString};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::config::DiskQuota;
use crate::SourceFile;

/// Directories held open at once while emptying a tree: a deeper one is
/// moved up to the top first (see [`empty`]).
const MAX_OPEN_DEPTH: usize = 32;

/// Makes `dir` (removing a leftover first) for the slot user `uid:gid`, mode
/// 0700: with a quota, a tmpfs of that size mounted on a root-owned
/// directory; without, a directory owned by the user.
pub fn create(dir: &Path, uid: u32, gid: u32, quota: Option<&DiskQuota>) -> io::Result<()> {
    remove(dir)?;
    fs::create_dir(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    match quota {
        Some(q) => mount_tmpfs(dir, q, uid, gid),
        None => std::os::unix::fs::chown(dir, Some(uid), Some(gid)),
    }
}

/// Mounts the job's tmpfs: `nosuid,nodev`, at most `q.bytes` and `q.inodes`.
/// Its pages are charged to whoever writes them (the job's memory cgroup for
/// what the job writes), and it is gone in one `umount`, whatever it holds.
fn mount_tmpfs(dir: &Path, q: &DiskQuota, uid: u32, gid: u32) -> io::Result<()> {
    use rustix::mount::{mount, MountFlags};
    let data = CString::new(format!(
        "size={},nr_inodes={},mode=0700,uid={uid},gid={gid}",
        q.bytes.max(4096),
        q.inodes.max(16)
    ))
    .map_err(io::Error::other)?;
    mount(
        "codr-job",
        dir,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        Some(data.as_c_str()),
    )
    .map_err(|e| {
        io::Error::other(format!(
            "mounting the job's tmpfs on {}: {e}",
            dir.display()
        ))
    })
}

/// Whether `dir` is the root of a mount (it sits on another device than its
/// parent).
fn is_mount_point(dir: &Path) -> bool {
    let parent = dir.parent().unwrap_or(Path::new("/"));
    match (fs::symlink_metadata(dir), fs::metadata(parent)) {
        (Ok(d), Ok(p)) => d.is_dir() && d.dev() != p.dev(),
        _ => false,
    }
}

/// A plan path made safe: a [`codr_job::RelPath`].
fn safe_relative(path: &str) -> io::Result<PathBuf> {
    match codr_job::RelPath::new(path) {
        Ok(p) => Ok(p.as_path().to_path_buf()),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsafe file path in plan: {e}"),
        )),
    }
}

/// Writes the plan's files into the (still empty, still ours) job directory.
pub fn write_files(dir: &Path, files: &[SourceFile], uid: u32, gid: u32) -> io::Result<()> {
    // A plan may run what it writes (scripts, `executable` files).
    let _no_forks = crate::spawn_lock::writing();
    for f in files {
        let rel = safe_relative(&f.path)?;
        let target = dir.join(&rel);
        // Parent directories, owned by the user too.
        let mut cur = dir.to_path_buf();
        if let Some(parent) = rel.parent() {
            for c in parent.components() {
                cur.push(c);
                if fs::symlink_metadata(&cur).is_err() {
                    fs::create_dir(&cur)?;
                    std::os::unix::fs::chown(&cur, Some(uid), Some(gid))?;
                }
            }
        }
        let mode = if f.executable { 0o700 } else { 0o600 };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&target)?;
        file.write_all(f.content.as_bytes())?;
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// What a compile step left in the job directory besides the plan's files,
/// for plans that do not list their artifacts.
pub(crate) fn compiled_outputs(job_dir: &Path, files: &[SourceFile]) -> Vec<String> {
    let sources: Vec<&str> = files
        .iter()
        .filter_map(|f| f.path.split('/').next())
        .collect();
    let Ok(entries) = std::fs::read_dir(job_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        // Dotfiles are firejail's (`.bashrc` and the like in a private home).
        .filter(|name| !name.starts_with('.') && !sources.contains(&name.as_str()))
        .filter(|name| {
            std::fs::symlink_metadata(job_dir.join(name)).is_ok_and(|m| m.is_file() || m.is_dir())
        })
        .collect()
}

/// Removes the job directory: its tmpfs is unmounted (everything in it goes
/// at once), then whatever is left on the host's disk is removed by
/// [`remove_tree`]. Blocking; call it off the async threads.
pub fn remove(dir: &Path) -> io::Result<()> {
    // Lazy detach: a descriptor still open somewhere cannot make it fail.
    // Bounded: a job cannot mount, but a host may have stacked mounts.
    for _ in 0..8 {
        if !is_mount_point(dir) {
            break;
        }
        rustix::mount::unmount(dir, rustix::mount::UnmountFlags::DETACH)
            .map_err(|e| io::Error::other(format!("unmounting {}: {e}", dir.display())))?;
    }
    remove_tree(dir)
}

/// Removes `path` and everything below it, however deep or wide: no
/// recursion (the host's stack does not grow with the tree), at most
/// [`MAX_OPEN_DEPTH`] directories open at once, symlinks unlinked and never
/// followed, directories opened with `O_NOFOLLOW` relative to their parent
/// (a path the tree changes under us cannot lead out of it). As root,
/// modes such as 000 do not stop it; otherwise such directories are opened
/// up first.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::other(format!(
            "refusing to remove {}",
            path.display()
        )));
    };
    let parent = match open_dir(rustix::fs::CWD, parent.as_os_str()) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    match rustix::fs::unlinkat(&parent, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::NOTDIR) => return Ok(rustix::fs::unlinkat(&parent, name, AtFlags::empty())?),
        Err(Errno::NOTEMPTY | Errno::EXIST | Errno::ACCESS | Errno::PERM) => {}
        Err(e) => return Err(e.into()),
    }
    let top = open_dir(&parent, name)?;
    empty(&top)?;
    rustix::fs::unlinkat(&parent, name, AtFlags::REMOVEDIR)?;
    Ok(())
}

/// Empties the directory `top` (see [`remove_tree`]). A stack holds the open
/// directories on the way down; one deeper than [`MAX_OPEN_DEPTH`] is first
/// renamed into `top` under a fresh name, which makes the tree shallower
/// without growing the stack, so descriptors stay bounded for any depth.
fn empty(top: &OwnedFd) -> io::Result<()> {
    let mut stack: Vec<(OwnedFd, CString)> = Vec::new();
    let mut moved = 0u64;
    loop {
        let here = stack.last().map_or(top, |(fd, _)| fd);
        match first_full_subdir(here)? {
            Some(name) if stack.len() >= MAX_OPEN_DEPTH => {
                moved = move_up(here, &name, top, moved)?;
            }
            Some(name) => {
                let fd = open_dir(here, name.as_c_str())?;
                stack.push((fd, name));
            }
            None => {
                let Some((fd, name)) = stack.pop() else {
                    return Ok(());
                };
                drop(fd);
                let parent = stack.last().map_or(top, |(fd, _)| fd);
                match rustix::fs::unlinkat(parent, name.as_c_str(), AtFlags::REMOVEDIR) {
                    // Entries missed by the read (the directory changed as it
                    // was read): go down into it again.
                    Err(Errno::NOTEMPTY | Errno::EXIST) => {}
                    Err(Errno::NOENT) | Ok(()) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

/// Removes every entry of `dir` that can go at once (files, symlinks,
/// sockets, empty directories) and returns the name of the first directory
/// that is not empty, if any.
fn first_full_subdir(dir: &OwnedFd) -> io::Result<Option<CString>> {
    let mut entries = rustix::fs::Dir::read_from(dir)?;
    while let Some(entry) = entries.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => continue,
            // A directory (EISDIR on Linux).
            Err(Errno::ISDIR | Errno::PERM) => {}
            Err(e) => return Err(e.into()),
        }
        match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(Errno::NOTEMPTY | Errno::EXIST | Errno::ACCESS | Errno::PERM) => {
                return Ok(Some(name.to_owned()))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// Renames `dir/name` to a fresh name directly in `top`; returns the counter
/// for the next fresh name.
fn move_up(dir: &OwnedFd, name: &CStr, top: &OwnedFd, mut n: u64) -> io::Result<u64> {
    loop {
        n += 1;
        let fresh = format!(".codr-removing-{n}");
        match rustix::fs::renameat_with(dir, name, top, &fresh, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(n),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Opens a directory relative to `at` without following a symlink; a
/// directory we may not read (not root, mode 000) is opened up first.
fn open_dir<Fd: AsFd, P: rustix::path::Arg + Copy>(at: Fd, name: P) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(&at, name, flags, Mode::empty()) {
        Err(Errno::ACCESS) => {
            rustix::fs::chmodat(&at, name, Mode::RWXU, AtFlags::empty())?;
            Ok(rustix::fs::openat(&at, name, flags, Mode::empty())?)
        }
        Ok(fd) => {
            // Not root: what the job made read-only must become writable.
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                let _ = rustix::fs::fchmod(&fd, Mode::RWXU);
            }
            Ok(fd)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escaping_paths() {
        assert!(safe_relative("../x").is_err());
        assert!(safe_relative("/etc/passwd").is_err());
        assert!(safe_relative("a/../../b").is_err());
        assert!(safe_relative("").is_err());
        assert!(safe_relative("src/main.rs").is_ok());
    }

    /// A tree far deeper than any stack would hold, removed with a
    /// descriptor limit a recursive walk would run out of.
    #[test]
    fn removes_a_tree_100_000_deep_with_few_descriptors() {
        let base = std::env::temp_dir().join(format!("codr-jobdir-deep-{}", std::process::id()));
        fs::create_dir_all(&base).unwrap();
        let top = base.join("job");
        fs::create_dir(&top).unwrap();
        let mut fd = open_dir(rustix::fs::CWD, top.as_path()).unwrap();
        for i in 0..100_000 {
            rustix::fs::mkdirat(&fd, "d", Mode::RWXU).unwrap();
            if i % 1000 == 0 {
                rustix::fs::openat(&fd, "f", OFlags::CREATE | OFlags::WRONLY, Mode::RUSR).unwrap();
            }
            fd = open_dir(&fd, "d").unwrap();
        }
        drop(fd);
        // A thread with a small stack, as a tokio worker has.
        let t = top.clone();
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || remove(&t))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert!(!top.exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn removes_a_tmpfs_job_directory_with_its_quota() {
        let base = std::env::temp_dir().join(format!("codr-jobdir-tmpfs-{}", std::process::id()));
        fs::create_dir_all(&base).unwrap();
        let dir = base.join("job");
        let quota = DiskQuota {
            bytes: 1 << 20,
            inodes: 64,
        };
        create(&dir, 65534, 65534, Some(&quota)).unwrap();
        assert!(is_mount_point(&dir));
        // The quota holds for root too: bytes, then files.
        let big = fs::write(dir.join("big"), vec![0u8; 2 << 20]);
        assert!(big.is_err(), "2 MiB fit in a 1 MiB quota");
        let made = (0..100).take_while(|i| fs::write(dir.join(format!("f{i}")), "x").is_ok());
        assert!(made.count() < 64);
        remove(&dir).unwrap();
        assert!(!dir.exists());
        // Nothing there, not even its parent: nothing to do.
        remove(&dir).unwrap();
        remove(&dir.join("a/b")).unwrap();
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn removal_does_not_follow_symlinks() {
        let base = std::env::temp_dir().join(format!("codr-jobdir-test-{}", std::process::id()));
        let outside = base.join("outside");
        let job = base.join("job");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("keep"), "x").unwrap();
        fs::create_dir_all(job.join("locked/inner")).unwrap();
        fs::write(job.join("locked/inner/f"), "x").unwrap();
        fs::set_permissions(
            job.join("locked/inner/f"),
            fs::Permissions::from_mode(0o400),
        )
        .unwrap();
        fs::set_permissions(job.join("locked/inner"), fs::Permissions::from_mode(0o000)).unwrap();
        fs::set_permissions(job.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
        std::os::unix::fs::symlink(&outside, job.join("link")).unwrap();
        remove(&job).unwrap();
        assert!(!job.exists());
        assert!(outside.join("keep").exists(), "a symlink was followed");
        fs::remove_dir_all(&base).unwrap();
    }
}
