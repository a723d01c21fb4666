//! The job directory: made fresh per job, owned by the slot's user (0700),
//! removed at the end without following anything user code planted.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::plan::SourceFile;

/// Makes `dir` (removing a leftover first), owned by `uid:gid`, mode 0700.
pub fn create(dir: &Path, uid: u32, gid: u32) -> io::Result<()> {
    remove(dir)?;
    fs::create_dir(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
}

/// A plan path made safe: relative, no `..`, no empty name.
fn safe_relative(path: &str) -> io::Result<PathBuf> {
    let p = Path::new(path);
    let ok = !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(p.to_path_buf())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsafe file path in plan: {path:?}"),
        ))
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

/// Removes the job directory. `remove_dir_all` opens each level with
/// `O_NOFOLLOW` and unlinks symlinks rather than following them (std's fix for
/// CVE-2022-21658); as root, permissions such as 000 directories or read-only
/// files do not stop it. Without root, permissions are opened up first.
pub fn remove(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            open_up(dir);
            match fs::remove_dir_all(dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }
    }
}

/// Gives the owner rwx on every real directory below `dir` (never through symlinks).
fn open_up(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            open_up(&e.path());
        }
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
