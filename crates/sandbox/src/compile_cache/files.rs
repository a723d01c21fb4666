//! The few file operations the store, the copy-in and the install share: a
//! directory or file opened relative to a descriptor without following a
//! symlink, and files and directories made new with a fixed mode.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rustix::fs::{self as rfs, Mode, OFlags};

use super::{errno, io_err, CacheError};

/// `openat` with `flags`, never following a symlink at the last component,
/// the descriptor closed on exec.
pub(super) fn open_nofollow<P: rustix::path::Arg>(
    at: impl AsFd,
    path: P,
    flags: OFlags,
) -> rustix::io::Result<OwnedFd> {
    rfs::openat(
        at,
        path,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Opens a directory without following a symlink at its last component.
pub(super) fn open_dir<P: rustix::path::Arg>(
    at: impl AsFd,
    path: P,
) -> rustix::io::Result<OwnedFd> {
    open_nofollow(at, path, OFlags::RDONLY | OFlags::DIRECTORY)
}

/// Opens a file for reading without following a symlink at its last component.
pub(super) fn open_file<P: rustix::path::Arg>(
    at: impl AsFd,
    path: P,
) -> rustix::io::Result<OwnedFd> {
    open_nofollow(at, path, OFlags::RDONLY)
}

/// The whole of the file `name` in `dir` (whose path `dir_path` is for errors).
pub(super) fn read_at(dir: &OwnedFd, name: &str, dir_path: &Path) -> Result<Vec<u8>, CacheError> {
    let path = dir_path.join(name);
    let fd = open_file(dir, name).map_err(errno("opening", &path))?;
    let mut buf = Vec::new();
    File::from(fd)
        .read_to_end(&mut buf)
        .map_err(io_err("reading", &path))?;
    Ok(buf)
}

/// Makes a directory only its owner (the host) may enter; it must not exist yet.
pub(super) fn make_dir(path: &Path) -> Result<(), CacheError> {
    fs::create_dir(path).map_err(io_err("creating", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        .map_err(io_err("setting mode of", path))
}

/// Writes `data` to a file that must not exist yet, then sets its `mode`.
pub(super) fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), CacheError> {
    let mut f = File::create_new(path).map_err(io_err("creating", path))?;
    f.write_all(data).map_err(io_err("writing", path))?;
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err("setting mode of", path))
}

/// `parent/name` of paths relative to a job directory; `name` alone at the top.
pub(super) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}
