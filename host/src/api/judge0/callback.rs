//! Judge0's `callback_url`: when a submission ends, the gateway that
//! accepted it sends `PUT <callback_url>` with the submission's JSON (the
//! attributes `GET /submissions/{token}` answers by default, in Base64 when
//! the submission was created with `base64_encoded=true`), in the
//! background, never holding up an answer. As Judge0 does, a callback is
//! tried up to [`TRIES`] times, each with a [`TIMEOUT`], and only a failure
//! to get an answer (refused connection, time-out) is tried again: any HTTP
//! answer ends it.
//!
//! A callback is a request the gateway makes where a client says, from
//! inside the operator's network: a server-side request forgery. So none is
//! accepted unless the operator names the hosts callbacks may go to
//! (`--judge0-callback-hosts`), only over plain `http://` (codr carries no
//! TLS client), and redirects are not followed.
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::Url;
use serde_json::Value;

/// Tries of one callback (Judge0's `CALLBACKS_MAX_TRIES` default).
pub const TRIES: u32 = 3;

/// Time one try may take (Judge0's `CALLBACKS_TIMEOUT` default).
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Checks a `callback_url` against the hosts the operator allows
/// (`HOST` for any port, `HOST:PORT` for one; `[::1]` for IPv6). `Err` is
/// the refusal, for the `callback_url` field.
pub fn check(url: &str, allowed: &[String]) -> Result<(), String> {
    if allowed.iter().all(|a| a.trim().is_empty()) {
        return Err(
            "setting callback is not allowed: the operator enables callbacks \
             for chosen hosts with --judge0-callback-hosts HOST[:PORT],... \
             (CODR_JUDGE0_CALLBACK_HOSTS)"
                .into(),
        );
    }
    let url = Url::parse(url.trim()).map_err(|e| format!("is not a valid URL ({e})"))?;
    match url.scheme() {
        "http" => {}
        "https" => {
            return Err(
                "https:// callbacks are not supported: codr sends callbacks \
                 over plain http:// only"
                    .into(),
            )
        }
        _ => return Err("must be an http:// URL".into()),
    }
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return Err("has no host".into());
    };
    if allowed.iter().any(|a| host_matches(a, host, port)) {
        Ok(())
    } else {
        Err(format!(
            "host {host}:{port} is not allowed for callbacks (the operator allows \
             hosts with --judge0-callback-hosts)"
        ))
    }
}

/// Whether one allowed entry (`HOST` or `HOST:PORT`) admits `host:port`.
fn host_matches(entry: &str, host: &str, port: u16) -> bool {
    let entry = entry.trim().to_ascii_lowercase();
    let (name, want_port) = match entry.rsplit_once(':') {
        // `[::1]:80` or `host:80`, not a bare IPv6 address (`::1`).
        Some((name, p)) if !name.contains(':') || name.ends_with(']') => match p.parse::<u16>() {
            Ok(p) => (name.to_string(), Some(p)),
            Err(_) => return false,
        },
        _ => (entry.clone(), None),
    };
    let bare = |h: &str| h.trim_start_matches('[').trim_end_matches(']').to_string();
    bare(&name) == bare(&host.to_ascii_lowercase()) && want_port.is_none_or(|p| p == port)
}

/// The HTTP client of callbacks: no redirects, no proxy from the
/// environment, [`TIMEOUT`] per try.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_default()
    })
}

/// Sends the callback of submission `token` in the background.
pub fn send_later(url: String, body: Value, token: String) {
    tokio::spawn(async move { send(&url, &body, &token).await });
}

/// `PUT url` with `body`, tried again (after a second, then two) while no
/// answer comes, [`TRIES`] times in all.
async fn send(url: &str, body: &Value, token: &str) {
    for attempt in 1..=TRIES {
        match client().put(url).json(body).send().await {
            Ok(r) => {
                tracing::debug!(%token, status = %r.status(), "judge0: callback sent");
                return;
            }
            Err(e) => {
                tracing::warn!(%token, attempt, error = %e, "judge0: callback failed");
                if attempt < TRIES {
                    tokio::time::sleep(Duration::from_secs(attempt.into())).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn callbacks_go_only_to_allowed_hosts() {
        let e = check("http://127.0.0.1:9/cb", &[]).unwrap_err();
        assert!(e.contains("--judge0-callback-hosts"), "{e}");
        let any_port = hosts(&["127.0.0.1", "Hooks.Example:8080", "[::1]"]);
        assert!(check("http://127.0.0.1:4567/x", &any_port).is_ok());
        assert!(check("http://hooks.example:8080/", &any_port).is_ok());
        assert!(
            check("http://hooks.example/", &any_port).is_err(),
            "port 80"
        );
        assert!(check("http://[::1]:81/", &any_port).is_ok());
        assert!(check("http://127.0.0.2/", &any_port).is_err());
        assert!(check("http://169.254.169.254/", &any_port).is_err());
        assert!(check("https://127.0.0.1/", &any_port)
            .unwrap_err()
            .contains("http://"));
        assert!(check("file:///etc/passwd", &any_port).is_err());
        assert!(check("not a url", &any_port).is_err());
        assert!(check("http://127.0.0.1.evil.example/", &any_port).is_err());
    }
}
