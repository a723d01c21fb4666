//! Embeds the playground page (`target/web/`, which `make web` bundles from
//! `web/` with npm and esbuild) into the binary: each file is copied into
//! `OUT_DIR` with its gzip and brotli copies, and `playground_assets.rs`
//! lists them for `host/src/api/playground.rs`.
//!
//! Without a bundle (a bare `cargo build` on a fresh clone, no npm run yet)
//! the build still succeeds: it warns, and the binary serves a page that
//! says to run `make build`. `make build` always bundles before it builds
//! the host, so a binary it makes has the real page.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The files the page needs before anything else (`web/build.mjs` adds
/// the chunks esbuild splits off, `chunk-<hash>.js`).
const REQUIRED: [&str; 3] = ["index.html", "playground.js", "playground.css"];

/// The `Content-Type` of a bundle file.
fn mime(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

const MISSING: &str = "<!doctype html><meta charset=utf-8><title>codr</title>\
<p>The playground was not built into this binary: run <code>make build</code> \
(it bundles <code>web/</code> into <code>target/web/</code>, then builds the host).</p>\n";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("..").join("target").join("web");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("web");
    std::fs::create_dir_all(&out).expect("create OUT_DIR/web");
    // `make web` touches this stamp after each bundle. While it is missing
    // cargo reruns this script on every build (cheap), so that the bundle
    // is picked up as soon as it exists.
    println!("cargo:rerun-if-changed={}", web.join(".bundled").display());
    for name in REQUIRED {
        println!("cargo:rerun-if-changed={}", web.join(name).display());
    }

    // Every page file of the bundle, each with its gzip and brotli copies.
    let mut files: Vec<String> = std::fs::read_dir(&web)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| [".html", ".js", ".css"].iter().any(|x| n.ends_with(x)))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let complete = |name: &str| {
        ["", ".gz", ".br"]
            .iter()
            .all(|ext| web.join(format!("{name}{ext}")).is_file())
    };
    let built = REQUIRED.iter().all(|name| files.iter().any(|f| f == name))
        && files.iter().all(|name| complete(name));
    if !built {
        println!(
            "cargo:warning=no playground bundle in {}: the binary serves a page saying to run `make build`",
            web.display()
        );
        files = vec!["index.html".to_string()];
    }

    let mut code = String::new();
    writeln!(
        code,
        "/// Whether the real page is embedded (false: a placeholder)."
    )
    .unwrap();
    writeln!(code, "pub const BUILT: bool = {built};").unwrap();
    writeln!(code, "/// The embedded files.").unwrap();
    writeln!(code, "pub const ASSETS: &[Asset] = &[").unwrap();
    for name in &files {
        let name = name.as_str();
        let raw = if built {
            std::fs::read(web.join(name)).expect("read bundle file")
        } else {
            MISSING.as_bytes().to_vec()
        };
        write_file(&out.join(name), &raw);
        let (gz, br) = if built {
            for ext in ["gz", "br"] {
                let bytes = std::fs::read(web.join(format!("{name}.{ext}"))).expect("read");
                write_file(&out.join(format!("{name}.{ext}")), &bytes);
            }
            (
                format!(
                    "Some(include_bytes!({:?}))",
                    out.join(format!("{name}.gz")).display().to_string()
                ),
                format!(
                    "Some(include_bytes!({:?}))",
                    out.join(format!("{name}.br")).display().to_string()
                ),
            )
        } else {
            ("None".to_string(), "None".to_string())
        };
        writeln!(
            code,
            "    Asset {{ name: {name:?}, mime: {:?}, etag: \"\\\"{:016x}\\\"\", raw: include_bytes!({:?}), gzip: {gz}, brotli: {br} }},",
            mime(name),
            fnv1a(&raw),
            out.join(name).display().to_string(),
        )
        .unwrap();
    }
    writeln!(code, "];").unwrap();
    write_file(
        &out.parent().unwrap().join("playground_assets.rs"),
        code.as_bytes(),
    );
}

/// Writes only when the content differs (keeps mtimes still).
fn write_file(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).expect("write into OUT_DIR");
    }
}

/// FNV-1a, 64 bits: the ETag of a file (a cache validator, not a secret).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
