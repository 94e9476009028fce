//! Who the client is: the connection's peer, or, when that peer is a reverse proxy the operator
//! trusts (`MOSAIC_TRUSTED_PROXIES`), the address it forwarded for. The throttle counts clients by
//! it and sessions record it, so it must not be spoofable: `X-Forwarded-For` and `Forwarded` from
//! anyone else are ignored, and of a forwarded chain only the rightmost hop that is not a trusted
//! proxy counts (everything left of it was written by the client itself).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use app::state::ClientAddr;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;
use ipnet::IpNet;

use crate::ServerState;

/// Puts the request's [`ClientAddr`] in its extensions.
pub async fn resolve(State(state): State<ServerState>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(peer) = peer {
        let client = client_of(peer, req.headers(), &state.trusted_proxies);
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

/// The client behind a request from `peer` with `headers`, trusting only `proxies`.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| proxies.iter().any(|net| net.contains(&canonical(*ip)));
    if !trusted(&peer) {
        if !proxies.is_empty()
            || headers.contains_key("x-forwarded-for")
            || headers.contains_key(http::header::FORWARDED)
        {
            warn_once_untrusted(peer);
        }
        return canonical(peer);
    }
    let hops = forwarded_hops(headers);
    // Right to left: the first hop that is not one of our proxies is the client. A chain made only
    // of trusted proxies (or a malformed entry) ends at the last address we could read.
    let mut client = canonical(peer);
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) => {
                client = canonical(*ip);
                if !trusted(ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// The addresses of a request's forwarding chain, left (the original client, as claimed) to right
/// (the hop nearest us): `Forwarded`'s `for=` when present, else `X-Forwarded-For`. An entry that
/// is not an address (`unknown`, an obfuscated name) is `None`.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name| headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    let forwarded = values(http::header::FORWARDED.as_str());
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.trim().split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then(|| parse_node(v.trim().trim_matches('"')))
                })
            })
            .collect();
    }
    values("x-forwarded-for").iter().flat_map(|v| v.split(',')).map(|v| parse_node(v.trim())).collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:5678`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    node.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// IPv4-mapped IPv6 addresses (a dual-stack listener's IPv4 peers) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Says once that forwarding headers arrive from a peer we do not trust: behind an unconfigured
/// proxy every client shares the proxy's address, for the throttle too.
fn warn_once_untrusted(peer: IpAddr) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(%peer, "a request carried X-Forwarded-For or Forwarded from a peer not in MOSAIC_TRUSTED_PROXIES: \
            the header is ignored; if this peer is your reverse proxy, add it there, or every client will share its address");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let spoofed = headers(&[("x-forwarded-for", "6.6.6.6")]);
        assert_eq!(client_of(ip("203.0.113.9"), &spoofed, &proxies), ip("203.0.113.9"), "not from a proxy");
        assert_eq!(client_of(ip("10.1.1.1"), &spoofed, &proxies), ip("6.6.6.6"));
        // The client prepends a fake; the proxy appends the real peer: the rightmost untrusted wins.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.2.2.2")]);
        assert_eq!(client_of(ip("10.1.1.1"), &chain, &proxies), ip("198.51.100.7"));
        let rfc = headers(&[("forwarded", "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https")]);
        assert_eq!(client_of(ip("10.1.1.1"), &rfc, &proxies), ip("2001:db8::7"));
        assert_eq!(client_of(ip("10.1.1.1"), &headers(&[]), &proxies), ip("10.1.1.1"));
        assert_eq!(client_of(ip("::ffff:10.1.1.1"), &spoofed, &proxies), ip("6.6.6.6"), "mapped v4 proxy");
        let unknown = headers(&[("x-forwarded-for", "unknown, 10.3.3.3")]);
        assert_eq!(client_of(ip("10.1.1.1"), &unknown, &proxies), ip("10.3.3.3"));
    }
}
