//! The client's address, for per-address rate limits: the peer, or behind a
//! trusted reverse proxy the address that proxy saw (`X-Forwarded-For`).
use std::net::IpAddr;

use axum::http::HeaderMap;

/// The address a request counts against. `X-Forwarded-For` is read only when
/// the peer is a trusted proxy (anyone else could write any address there),
/// from the right: the first entry that is not itself a trusted proxy is the
/// client. A missing or unreadable header leaves the peer.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            // Garbage from the far side: nothing further left can be trusted.
            Err(_) => break,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_cannot_claim_another_address() {
        let h = headers(&["1.2.3.4"]);
        assert_eq!(client_addr(ip("9.9.9.9"), &h, &[]), ip("9.9.9.9"));
        assert_eq!(
            client_addr(ip("9.9.9.9"), &h, &[ip("10.0.0.1")]),
            ip("9.9.9.9")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_from_the_right() {
        let proxy = ip("10.0.0.1");
        let h = headers(&["6.6.6.6, 1.2.3.4"]);
        // The client may have written 6.6.6.6; the proxy appended 1.2.3.4.
        assert_eq!(client_addr(proxy, &h, &[proxy]), ip("1.2.3.4"));
        let chain = headers(&["1.2.3.4", "10.0.0.2"]);
        assert_eq!(
            client_addr(proxy, &chain, &[proxy, ip("10.0.0.2")]),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn missing_or_garbled_headers_leave_the_peer() {
        let proxy = ip("10.0.0.1");
        assert_eq!(client_addr(proxy, &HeaderMap::new(), &[proxy]), proxy);
        assert_eq!(client_addr(proxy, &headers(&["nonsense"]), &[proxy]), proxy);
        assert_eq!(client_addr(proxy, &headers(&["::1"]), &[proxy]), ip("::1"));
    }
}
