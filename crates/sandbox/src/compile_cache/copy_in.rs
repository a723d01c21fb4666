//! Copying a finished compile step's artifacts out of its job directory into
//! a new entry: every node reached with `openat` from a descriptor of the job
//! directory, never through a symlink, and only regular files and directories
//! of the job's user (see the module docs of [`super`]).

use std::ffi::CStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, OFlags};

use super::files::{join, make_dir, open_dir, open_nofollow, write_new};
use super::store::{entry_id, Manifest, StoredFile, FILES, MANIFEST, OUTPUT};
use super::{errno, io_err, refused, BuildKey, CacheError};

/// Bounds on one entry besides bytes: a hostile compile step must not make the
/// host walk millions of files or recurse without end.
const MAX_FILES: usize = 10_000;
const MAX_DEPTH: usize = 64;

/// Refuses an artifact name that is not a plain relative path (paths from
/// plans are [`codr_job::RelPath`]s).
pub(super) fn check_artifact_name(a: &str) -> Result<(), CacheError> {
    codr_job::RelPath::check(a)
        .map_err(|e| refused(a, format!("not a plain relative path: it {}", e.why)))
}

/// Writes the entry's content into the temporary directory `tmp`: the
/// `artifacts` of `job_dir`, at most `limit` bytes with `compile_output`, and
/// the manifest and compile output beside them.
pub(super) fn fill(
    tmp: &Path,
    key: &BuildKey,
    job_dir: &Path,
    artifacts: &[String],
    compile_output: &str,
    limit: u64,
) -> Result<Manifest, CacheError> {
    let src = open_dir(rfs::CWD, job_dir).map_err(errno("opening job directory", job_dir))?;
    let owner = rfs::fstat(&src)
        .map_err(errno("inspecting", job_dir))?
        .st_uid;
    let files = tmp.join(FILES);
    make_dir(&files)?;
    let mut copier = Copier {
        owner,
        dest: files,
        limit,
        bytes: compile_output.len() as u64,
        dirs: Vec::new(),
        files: Vec::new(),
    };
    copier.check_bytes(0)?;
    for a in artifacts {
        copier.artifact(&src, a)?;
    }
    let manifest = Manifest {
        key: key.as_str().to_string(),
        id: entry_id(),
        dirs: copier.dirs,
        files: copier.files,
        bytes: copier.bytes,
    };
    let json =
        serde_json::to_vec(&manifest).map_err(|e| io_err("encoding", tmp)(io::Error::other(e)))?;
    write_new(&tmp.join(MANIFEST), &json, 0o400)?;
    write_new(&tmp.join(OUTPUT), compile_output.as_bytes(), 0o400)?;
    Ok(manifest)
}

/// Copies artifacts out of a job directory into an entry's `files/`.
struct Copier {
    /// The job's user: everything copied must be theirs.
    owner: u32,
    /// The entry's `files/`.
    dest: PathBuf,
    /// The per-entry bound on bytes.
    limit: u64,
    /// Counted so far (the compile output included).
    bytes: u64,
    /// Directories made below `dest`, parents before children.
    dirs: Vec<String>,
    /// Files copied so far.
    files: Vec<StoredFile>,
}

impl Copier {
    /// Refuses `more` bytes that would take the entry past its bound.
    fn check_bytes(&self, more: u64) -> Result<(), CacheError> {
        if self.bytes.saturating_add(more) > self.limit {
            Err(CacheError::TooLarge { limit: self.limit })
        } else {
            Ok(())
        }
    }

    /// Walks to the artifact's parent one real directory at a time, then copies it.
    fn artifact(&mut self, job: &OwnedFd, rel: &str) -> Result<(), CacheError> {
        // Normal components only (checked): `a//b` and `a/./b` become `a/b`.
        let names: Vec<&str> = Path::new(rel)
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .collect();
        let (last, parents) = names.split_last().ok_or_else(|| refused(rel, "empty"))?;
        let mut dir = job
            .try_clone()
            .map_err(io_err("duplicating descriptor of", rel))?;
        let mut so_far = String::new();
        for name in parents {
            so_far = join(&so_far, name);
            let st = self.check_node(&dir, name, &so_far)?;
            if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                return Err(refused(&so_far, "a parent that is not a directory"));
            }
            dir = self.open_checked_dir(&dir, name, &so_far, &st)?;
            self.ensure_dest_dir(&so_far)?;
        }
        self.node(&dir, last, &join(&so_far, last), 0)
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)`: only directories and regular files of the
    /// job's user pass.
    fn check_node(&self, dir: &OwnedFd, name: &str, rel: &str) -> Result<rfs::Stat, CacheError> {
        let st = match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => return Err(refused(rel, "missing")),
            Err(e) => return Err(errno("inspecting", rel)(e)),
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory | FileType::RegularFile => {}
            FileType::Symlink => return Err(refused(rel, "a symbolic link")),
            other => {
                return Err(refused(
                    rel,
                    format!("not a regular file or directory ({other:?})"),
                ))
            }
        }
        if st.st_uid != self.owner {
            return Err(refused(
                rel,
                format!(
                    "owned by uid {}, not by the job's user (uid {})",
                    st.st_uid, self.owner
                ),
            ));
        }
        Ok(st)
    }

    /// Opens the directory `name` that [`Copier::check_node`] passed as `st`,
    /// refusing it if it is no longer that node.
    fn open_checked_dir(
        &self,
        dir: &OwnedFd,
        name: &str,
        rel: &str,
        st: &rfs::Stat,
    ) -> Result<OwnedFd, CacheError> {
        let fd = open_dir(dir, name).map_err(errno("opening", rel))?;
        same_node(&fd, st, rel)?;
        Ok(fd)
    }

    /// Makes `rel` below the entry's `files/` unless it is there already,
    /// recording it for the manifest.
    fn ensure_dest_dir(&mut self, rel: &str) -> Result<(), CacheError> {
        let path = self.dest.join(rel);
        if fs::symlink_metadata(&path).is_ok() {
            return Ok(());
        }
        make_dir(&path)?;
        self.dirs.push(rel.to_string());
        Ok(())
    }

    /// Copies one file, or one directory recursively.
    fn node(
        &mut self,
        dir: &OwnedFd,
        name: &str,
        rel: &str,
        depth: usize,
    ) -> Result<(), CacheError> {
        if depth > MAX_DEPTH {
            return Err(refused(
                rel,
                format!("nested deeper than {MAX_DEPTH} directories"),
            ));
        }
        let st = self.check_node(dir, name, rel)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let sub = self.open_checked_dir(dir, name, rel, &st)?;
            self.ensure_dest_dir(rel)?;
            for child in dir_names(&sub, rel)? {
                self.node(&sub, &child, &join(rel, &child), depth + 1)?;
            }
            Ok(())
        } else {
            self.file(dir, name, rel, &st)
        }
    }

    /// Copies one regular file that [`Copier::check_node`] passed as `st`,
    /// within the bounds on files and bytes; stored read-only.
    fn file(
        &mut self,
        dir: &OwnedFd,
        name: &str,
        rel: &str,
        st: &rfs::Stat,
    ) -> Result<(), CacheError> {
        if self.files.len() >= MAX_FILES {
            return Err(refused(rel, format!("more than {MAX_FILES} files")));
        }
        let size = u64::try_from(st.st_size).unwrap_or(u64::MAX);
        self.check_bytes(size)?;
        // NONBLOCK: had a fifo slipped past the check, opening it must not hang.
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = open_nofollow(dir, name, flags).map_err(errno("opening", rel))?;
        same_node(&fd, st, rel)?;
        let executable = st.st_mode & 0o111 != 0;
        let dest = self.dest.join(rel);
        let mut out = File::create_new(&dest).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => {
                refused(rel, "listed twice (or inside another artifact)")
            }
            _ => io_err("creating", &dest)(e),
        })?;
        let room = self.limit - self.bytes;
        let copied = io::copy(&mut File::from(fd).take(room + 1), &mut out)
            .map_err(io_err("copying", rel))?;
        if copied > room {
            return Err(CacheError::TooLarge { limit: self.limit });
        }
        let mode = if executable { 0o500 } else { 0o400 };
        out.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_err("setting mode of", &dest))?;
        self.bytes += copied;
        self.files.push(StoredFile {
            path: rel.to_string(),
            bytes: copied,
            executable,
        });
        Ok(())
    }
}

/// The opened descriptor is the node that was checked (same type, inode, device).
fn same_node(fd: &OwnedFd, st: &rfs::Stat, rel: &str) -> Result<(), CacheError> {
    let now = rfs::fstat(fd).map_err(errno("inspecting", rel))?;
    let same = (now.st_dev, now.st_ino, now.st_mode & libc::S_IFMT)
        == (st.st_dev, st.st_ino, st.st_mode & libc::S_IFMT);
    if same {
        Ok(())
    } else {
        Err(refused(rel, "changed while being copied"))
    }
}

/// The names in a directory (not `.`/`..`), sorted; non-UTF-8 names refused.
fn dir_names(dir: &OwnedFd, rel: &str) -> Result<Vec<String>, CacheError> {
    let mut names = Vec::new();
    for e in rfs::Dir::read_from(dir).map_err(errno("reading", rel))? {
        let e = e.map_err(errno("reading", rel))?;
        let name: &CStr = e.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let name = name
            .to_str()
            .map_err(|_| refused(rel, format!("a name that is not UTF-8: {name:?}")))?;
        names.push(name.to_string());
    }
    names.sort();
    Ok(names)
}
