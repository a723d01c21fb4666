//! The playground: the page at `/` (`web/`, bundled by `make web` and
//! embedded by `host/build.rs`), its assets under `/playground/`, and the
//! plugins' sample programs at `/playground/samples.json`.
//!
//! Caching: the page names each asset with its content's hash
//! (`/playground/playground.js?v=<hash>`, and the chunks it loads, such as
//! a language's grammar, are `chunk-<hash>.js`); such a request is cached
//! for a year (`immutable`), anything else (the page itself, an asset without the
//! current hash) is revalidated each time with its ETag. Compression: each
//! file is embedded with gzip and brotli copies made at build time, sent to
//! a browser that accepts them (`Vary: Accept-Encoding`); nothing is
//! compressed per request.
//!
//! The page holds no key: it reads one from the URL's fragment (`/#key=...`,
//! which browsers never send to a server), as printed at start-up (see
//! [`announce`]), and keeps it in the browser's localStorage. `--no-playground`
//! (`CODR_NO_PLAYGROUND=true`) turns all of this off.
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;

/// One embedded file.
pub struct Asset {
    /// File name (`playground.js`).
    pub name: &'static str,
    /// Its `Content-Type`.
    pub mime: &'static str,
    /// Quoted ETag (a hash of `raw`).
    pub etag: &'static str,
    /// The file as built.
    pub raw: &'static [u8],
    /// Gzip copy.
    pub gzip: Option<&'static [u8]>,
    /// Brotli copy.
    pub brotli: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/playground_assets.rs"));

/// A year: how long a browser keeps an asset named with its hash.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// What the page may do: scripts and styles from here only (styles inline
/// too: the editor and the terminal set them), connections to here only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

/// The playground's routes (mounted by `api::router` unless `--no-playground`).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(index))
        .route("/playground/samples.json", get(samples))
        .route("/playground/{file}", get(asset))
}

/// The embedded file called `name`.
fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// `GET /`: the page.
async fn index(headers: HeaderMap) -> Response {
    let page = find("index.html").expect("build.rs embeds index.html");
    let mut response = send(page, &headers, "no-cache");
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /playground/{file}`: a script or a style sheet.
async fn asset(
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = find(&file).filter(|a| a.name != "index.html") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Cached for good only under a name that changes with the content: a
    // chunk esbuild split off (`chunk-<hash>.js`), or the name the current
    // page uses (`playground.js?v=<hash>`).
    let page = find("index.html").map_or(&b""[..], |p| p.raw);
    let current = BUILT
        && (file.starts_with("chunk-")
            || query.is_some_and(|q| {
                let name = format!("/playground/{file}?{q}\"");
                contains(page, name.as_bytes())
            }));
    send(
        asset,
        &headers,
        if current { IMMUTABLE } else { "no-cache" },
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The file, compressed as the client accepts, or 304 when its ETag matches
/// (each encoding has its own ETag: they are different bytes).
fn send(asset: &'static Asset, headers: &HeaderMap, cache: &'static str) -> Response {
    let accepts = |coding: &str| {
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|c| {
                let mut parts = c.split(';');
                let name = parts.next().unwrap_or("").trim();
                let refused = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        == Some(0.0)
                });
                name.eq_ignore_ascii_case(coding) && !refused
            })
    };
    let (body, encoding) = match (asset.brotli, asset.gzip) {
        (Some(br), _) if accepts("br") => (br, Some("br")),
        (_, Some(gz)) if accepts("gzip") => (gz, Some("gzip")),
        _ => (asset.raw, None),
    };
    let etag = match encoding {
        Some(coding) => format!("{}-{coding}\"", asset.etag.trim_end_matches('"')),
        None => asset.etag.to_string(),
    };
    let mut out = HeaderMap::new();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
    if let Some(coding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    (out, body).into_response()
}

/// One sample program of a plugin, as the page loads it.
#[derive(serde::Serialize)]
struct SampleOut {
    name: String,
    source: String,
    stdin: String,
}

/// `GET /playground/samples.json`: `{language: [{name, source, stdin}]}`,
/// each plugin's own samples (a plugin dropped in appears on reload).
async fn samples(State(state): State<Arc<AppState>>) -> Response {
    let mut all = BTreeMap::new();
    for lang in state.languages.list() {
        match state.languages.samples(&lang.name).await {
            Ok(list) => {
                let list: Vec<SampleOut> = list
                    .into_iter()
                    .map(|s| SampleOut {
                        name: s.name,
                        source: s.source,
                        stdin: s.stdin,
                    })
                    .collect();
                all.insert(lang.name, list);
            }
            Err(e) => tracing::warn!(language = %lang.name, error = %e, "no samples"),
        }
    }
    ([(header::CACHE_CONTROL, "no-cache")], Json(all)).into_response()
}

/// Prints where the page is (after the `listening on` line): with the key
/// in the fragment when `serve` generated it, so that `make run`'s output
/// opens a page ready to run.
pub fn announce(addr: std::net::SocketAddr, key: Option<&str>) {
    use std::io::Write;
    let host = if addr.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    };
    let line = match key {
        Some(key) => format!("playground: http://{host}/#key={key}"),
        None => format!("playground: http://{host}/  (it asks for an API key once; or open http://{host}/#key=KEY)"),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
