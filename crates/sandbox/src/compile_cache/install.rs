//! Installing a cached build into a fresh job directory: directories and
//! files made anew below a descriptor of the job directory (never through a
//! symlink, never over an existing name), owned by the job's user, and
//! removed again if anything fails.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};

use super::files::{join, open_dir, open_file};
use super::store::{Manifest, StoredFile, FILES};
use super::{errno, io_err, refused, CacheError};

/// Copies the files of `manifest` from the locked `entry` into
/// `dest_job_dir`, owned by `uid:gid`; on failure removes what it wrote.
pub(super) fn copy_out(
    entry: &OwnedFd,
    manifest: &Manifest,
    dest_job_dir: &Path,
    uid: u32,
    gid: u32,
) -> Result<(), CacheError> {
    let dest =
        open_dir(rfs::CWD, dest_job_dir).map_err(errno("opening job directory", dest_job_dir))?;
    let mut inst = Installer {
        entry,
        dest: &dest,
        dest_path: dest_job_dir,
        uid,
        gid,
        created: Vec::new(),
    };
    let res = {
        let _no_forks = crate::spawn_lock::writing();
        inst.run(manifest)
    };
    if res.is_err() {
        inst.undo();
    }
    res
}

/// Writes an entry's files into a job directory, remembering what it made.
struct Installer<'a> {
    /// The cache entry, locked shared.
    entry: &'a OwnedFd,
    /// The job directory.
    dest: &'a OwnedFd,
    /// Its path, for errors.
    dest_path: &'a Path,
    /// Owner of what is made: the job's user and group.
    uid: u32,
    gid: u32,
    /// Made by us, in creation order (undone in reverse).
    created: Vec<(String, bool)>,
}

impl Installer<'_> {
    /// Makes the manifest's directories, then copies its files.
    fn run(&mut self, m: &Manifest) -> Result<(), CacheError> {
        for d in &m.dirs {
            let names: Vec<&str> = d.split('/').collect();
            self.walk(&names)?;
        }
        for f in &m.files {
            self.file(f)?;
        }
        Ok(())
    }

    /// Opens (making what is missing) the directory `names` below the job
    /// directory, one real directory at a time: a symlink planted anywhere on
    /// the way fails. Manifest paths are ours: plain `/`-joined names.
    fn walk(&mut self, names: &[&str]) -> Result<OwnedFd, CacheError> {
        let mut dir = self
            .dest
            .try_clone()
            .map_err(io_err("duplicating descriptor of", self.dest_path))?;
        let mut so_far = String::new();
        for name in names {
            so_far = join(&so_far, name);
            dir = self.open_or_make_dir(&dir, name, &so_far)?;
        }
        Ok(dir)
    }

    /// Opens the directory `name` in `dir` (`rel` below the job directory),
    /// making it first if it is missing.
    fn open_or_make_dir(
        &mut self,
        dir: &OwnedFd,
        name: &str,
        rel: &str,
    ) -> Result<OwnedFd, CacheError> {
        let path = self.dest_path.join(rel);
        let made = match rfs::mkdirat(dir, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => true,
            Err(rustix::io::Errno::EXIST) => false,
            Err(e) => return Err(errno("creating", &path)(e)),
        };
        if made {
            self.created.push((rel.to_string(), true));
        }
        let fd = open_dir(dir, name).map_err(errno("opening (a symlink?)", &path))?;
        if made {
            self.own(&fd, 0o755, &path)?;
        }
        Ok(fd)
    }

    /// Hands what `fd` is to the job's user with `mode`.
    fn own(&self, fd: impl AsFd, mode: u32, path: &Path) -> Result<(), CacheError> {
        rfs::fchown(
            fd.as_fd(),
            Some(rustix::fs::Uid::from_raw(self.uid)),
            Some(rustix::fs::Gid::from_raw(self.gid)),
        )
        .map_err(errno("changing owner of", path))?;
        rfs::fchmod(fd, Mode::from_raw_mode(mode)).map_err(errno("setting mode of", path))
    }

    /// Copies one file in, created anew (0600 until it is complete), then
    /// owned by the job's user.
    fn file(&mut self, f: &StoredFile) -> Result<(), CacheError> {
        let names: Vec<&str> = f.path.split('/').collect();
        let (name, parents) = names
            .split_last()
            .ok_or_else(|| refused(&f.path, "empty"))?;
        let dir = self.walk(parents)?;
        let path = self.dest_path.join(&f.path);
        let stored = format!("{FILES}/{}", f.path);
        let src =
            open_file(self.entry, stored.as_str()).map_err(errno("opening cached", &stored))?;
        let fd = rfs::openat(
            &dir,
            *name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(errno("creating", &path))?;
        self.created.push((f.path.clone(), false));
        let mut out = File::from(fd);
        let copied = io::copy(&mut File::from(src), &mut out).map_err(io_err("writing", &path))?;
        if copied != f.bytes {
            return Err(io_err("copying", &path)(io::Error::other(format!(
                "cached file has {copied} bytes, manifest says {}",
                f.bytes
            ))));
        }
        let mode = if f.executable { 0o755 } else { 0o644 };
        self.own(&out, mode, &path)
    }

    /// Removes what this install made (files, then directories, newest first).
    /// Relative paths are fine here: nothing runs in the fresh job directory yet.
    fn undo(&self) {
        for (rel, is_dir) in self.created.iter().rev() {
            let flags = if *is_dir {
                AtFlags::REMOVEDIR
            } else {
                AtFlags::empty()
            };
            let _ = rfs::unlinkat(self.dest, rel.as_str(), flags);
        }
    }
}
