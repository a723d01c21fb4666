//! Judge0's `additional_files`: a zip archive (always Base64, whatever
//! `base64_encoded` says, as in Judge0) whose files Judge0 extracts beside
//! the program. codr reads it at the gateway into extra files of the job
//! ([`ExtraFile`]), written beside the main file by the worker; directories
//! are implied by the paths.
//!
//! What the sandbox cannot write or the job may not carry is refused: an
//! entry that is not UTF-8 text, a name that leaves the job directory (or
//! clashes with another), a symbolic link, more than [`MAX_EXTRA_FILES`]
//! files, an archive over the input cap, and more content than the code cap
//! leaves beside `source_code`. A zip bomb is stopped twice: by the sizes
//! its entries declare, and by reading no entry past what is left.
use std::io::{Cursor, Read};

use codr_job::ExtraFile;

use super::wire::decode64_bytes;
use crate::api::batch::MAX_EXTRA_FILES;
use crate::api::checks::check_file_names;

/// The files of an archive sent as Base64; `max_archive` caps the archive,
/// `max_content` the uncompressed content of all its files together.
/// `Err` is the refusal, for the `additional_files` field.
pub fn extract(
    base64: &str,
    max_archive: usize,
    max_content: usize,
) -> Result<Vec<ExtraFile>, String> {
    let bytes = decode64_bytes(base64).map_err(str::to_string)?;
    if bytes.len() > max_archive {
        return Err(format!(
            "is too long (the archive is {} bytes; the maximum is {max_archive} bytes)",
            bytes.len()
        ));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("is not a zip archive ({e})"))?;
    let too_much = |n: u64| {
        format!(
            "holds more than {max_content} bytes once extracted ({n} bytes or more; \
             the code cap, --max-code-bytes, covers source_code and these files together)"
        )
    };
    let mut files = Vec::new();
    let mut total: usize = 0;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("entry {i} of the archive cannot be read ({e})"))?;
        let name = entry.name().to_string();
        if entry.is_dir() {
            // Implied by the files' paths; a name outside is still refused.
            ExtraFile::check_name(name.trim_end_matches('/'))?;
            continue;
        }
        if entry.is_symlink() {
            return Err(format!(
                "{name:?} is a symbolic link: only files can be sent"
            ));
        }
        ExtraFile::check_name(&name)?;
        if files.len() == MAX_EXTRA_FILES {
            return Err(format!(
                "holds more than {MAX_EXTRA_FILES} files; the limit is {MAX_EXTRA_FILES}"
            ));
        }
        let room = max_content - total;
        if entry.size() > room as u64 {
            return Err(too_much(total as u64 + entry.size()));
        }
        // The declared size may lie: read no more than what is left, plus
        // one byte to know it was too much.
        let mut content = Vec::new();
        (&mut entry)
            .take(room as u64 + 1)
            .read_to_end(&mut content)
            .map_err(|e| format!("{name:?} cannot be extracted ({e})"))?;
        if content.len() > room {
            return Err(too_much((total + content.len()) as u64));
        }
        total += content.len();
        let content = String::from_utf8(content)
            .map_err(|_| format!("{name:?} is not UTF-8 text (the sandbox writes text files)"))?;
        files.push(ExtraFile { name, content });
    }
    check_file_names(&files)?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::STANDARD, Engine};
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    /// A zip of `(name, bytes)`, deflated, as Base64.
    fn zip_of(entries: &[(&str, &[u8])]) -> String {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, options).unwrap();
            } else {
                w.start_file(*name, options).unwrap();
                w.write_all(bytes).unwrap();
            }
        }
        STANDARD.encode(w.finish().unwrap().into_inner())
    }

    fn read(b64: &str) -> Result<Vec<ExtraFile>, String> {
        extract(b64, 1 << 20, 1000)
    }

    #[test]
    fn files_and_directories_are_read() {
        let z = zip_of(&[
            ("data.txt", b"42\n"),
            ("inc/", b""),
            ("inc/a.h", b"#define A 1\n"),
        ]);
        let files = read(&z).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["data.txt", "inc/a.h"]);
        assert_eq!(files[0].content, "42\n");
    }

    #[test]
    fn bad_archives_are_refused() {
        assert!(read("%%%").unwrap_err().contains("Base64"));
        assert!(read(&STANDARD.encode(b"not a zip"))
            .unwrap_err()
            .contains("not a zip"));
        let e = read(&zip_of(&[("../x", b"x")])).unwrap_err();
        assert!(e.contains("not allowed"), "{e}");
        assert!(read(&zip_of(&[("/etc/x", b"x")])).is_err());
        let e = read(&zip_of(&[("bin", &[0xff, 0xfe])])).unwrap_err();
        assert!(e.contains("UTF-8"), "{e}");
        let e = read(&zip_of(&[("a", b"x"), ("a/b", b"y")])).unwrap_err();
        assert!(e.contains("clash"), "{e}");
        let many: Vec<(String, &[u8])> = (0..=MAX_EXTRA_FILES)
            .map(|i| (format!("f{i}"), &b"x"[..]))
            .collect();
        let many: Vec<(&str, &[u8])> = many.iter().map(|(n, b)| (n.as_str(), *b)).collect();
        assert!(read(&zip_of(&many)).unwrap_err().contains("files"));
        let z = zip_of(&[("a", b"x")]);
        assert!(extract(&z, 10, 1000).unwrap_err().contains("archive is"));
    }

    #[test]
    fn a_zip_bomb_is_stopped() {
        // Declared sizes: 1001 zeros in all, over the 1000-byte cap.
        let big = vec![b'0'; 600];
        let e = read(&zip_of(&[("a", &big), ("b", &big)])).unwrap_err();
        assert!(e.contains("more than 1000 bytes"), "{e}");
        // A lying declared size: the entry says 10 bytes and holds 5000.
        let honest = zip_of(&[("a", &vec![b'0'; 5000])]);
        let mut bytes = STANDARD.decode(honest).unwrap();
        let lie = 10u32.to_le_bytes();
        // Uncompressed size: offset 22 of the local header, 24 of the central one.
        bytes[22..26].copy_from_slice(&lie);
        let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[central + 24..central + 28].copy_from_slice(&lie);
        // Stopped by the cap on reading, not by the declared size.
        let e = read(&STANDARD.encode(&bytes)).unwrap_err();
        assert!(e.contains("1001 bytes or more"), "{e}");
    }
}
