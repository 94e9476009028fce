//! The sign-in and sign-up throttle: how many attempts a key may make, counted in the database so
//! every instance on it enforces one limit, at one statement per attempt.
//!
//! An attempt is *reserved* (counted) before the password is hashed, in one atomic statement, so
//! concurrent guesses cannot all slip under the limit; a successful sign-in clears its counts. Keys
//! are SHA-256 digests of the normalised subject, so a row is 32 bytes whatever was sent, and rows
//! expire with their window (the sweep deletes them).
//!
//! The limits follow django-axes' combined mode, so a stranger cannot lock a user out:
//! - the pair (account, client) is refused after [`PAIR_FAILURES`] attempts in [`WINDOW`]: the
//!   guesser is stopped, the account's owner signing in from elsewhere is not;
//! - the account alone is never refused, only slowed: past [`ACCOUNT_SLOW_AFTER`] attempts from
//!   anywhere, each attempt waits a delay that doubles up to [`MAX_DELAY`] (a guesser with many
//!   addresses gets a few slow guesses each; the owner waits seconds at worst);
//! - one client is refused after [`CLIENT_FAILURES`] failed attempts over all accounts (password
//!   spraying); a successful sign-in does not count, so many people behind one address are fine.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock::SECOND;
use crate::DbResult;

/// How long attempts are counted, and how long a refused key waits at most.
pub const WINDOW: i64 = 15 * 60 * SECOND;
/// Attempts one client may make at one account within [`WINDOW`].
pub const PAIR_FAILURES: i64 = 5;
/// Attempts at one account (from anywhere) before each further one is slowed.
pub const ACCOUNT_SLOW_AFTER: i64 = 5;
/// The longest an attempt at a much-guessed account is slowed.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// Failed sign-ins one client may make over all accounts within [`WINDOW`].
pub const CLIENT_FAILURES: i64 = 100;
/// How long sign-ups from one client are counted.
pub const SIGN_UP_WINDOW: i64 = 60 * 60 * SECOND;
/// Provider sign-ins one client may start within [`WINDOW`] (each writes a pending state).
pub const PROVIDER_STARTS: i64 = 60;

/// Who is knocking: an address, with IPv6 clients taken by their /64 (one host usually holds a
/// whole /64, so keying single addresses would give it 2^64 fresh budgets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client(String);

impl Client {
    /// The client behind `ip`.
    pub fn from_ip(ip: IpAddr) -> Client {
        match ip {
            IpAddr::V4(v4) => Client(v4.to_string()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client(v4.to_string()),
                None => {
                    let s = v6.segments();
                    let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                    Client(format!("{net}/64"))
                }
            },
        }
    }

    /// A client whose address is unknown (every such request shares one budget).
    pub fn unknown() -> Client {
        Client("unknown".into())
    }

    /// The client as written in logs and keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the throttle says about an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead, after waiting `delay` (zero unless the account is being guessed at).
    Go { delay: Duration },
    /// Refused; try again after this long.
    Wait(Duration),
}

/// The digest a row is keyed by: the kind of count and its subject, unambiguously separated.
fn key(kind: &str, parts: &[&str]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    for part in parts {
        h.update([0]);
        h.update(part.as_bytes());
    }
    h.finalize().to_vec()
}

/// The three counts a sign-in attempt adds to, in this order: pair, account, client.
fn sign_in_keys(email: &str, client: &Client) -> [Vec<u8>; 3] {
    [key("pair", &[email, client.as_str()]), key("account", &[email]), key("client", &[client.as_str()])]
}

/// The delay an attempt at an account waits after `hits` attempts (this one included).
pub fn account_delay(hits: i64) -> Duration {
    if hits <= ACCOUNT_SLOW_AFTER {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(hits - ACCOUNT_SLOW_AFTER - 1).unwrap_or(u32::MAX).min(16);
    (Duration::from_millis(250) * 2u32.pow(doublings)).min(MAX_DELAY)
}

/// Time left until `expires_at` (microseconds), at least a second.
fn until(expires_at: i64, now: i64) -> Duration {
    Duration::from_micros(u64::try_from(expires_at - now).unwrap_or(0)).max(Duration::from_secs(1))
}

/// The verdict on a sign-in attempt from the counts (hits, expiry) of its pair, account and client.
pub fn sign_in_verdict(counts: [(i64, i64); 3], now: i64) -> Verdict {
    let [(pair, pair_ends), (account, _), (client, client_ends)] = counts;
    if pair > PAIR_FAILURES {
        Verdict::Wait(until(pair_ends, now))
    } else if client > CLIENT_FAILURES {
        Verdict::Wait(until(client_ends, now))
    } else {
        Verdict::Go { delay: account_delay(account) }
    }
}

impl crate::Store {
    /// Counts a sign-in attempt for `email` (as [`crate::users::clean_email`] returned it) from
    /// `client`, before its password is checked, and says whether it may go ahead. One statement.
    pub async fn reserve_sign_in(&self, email: &str, client: &Client) -> DbResult<Verdict> {
        let now = crate::clock::now_micros();
        let keys = sign_in_keys(email, client);
        let rows = dispatch!(self.count_attempts(&keys, now, now + WINDOW))?;
        let count_of = |k: &Vec<u8>| rows.iter().find(|(key, _, _)| key == k).map_or((1, now + WINDOW), |r| (r.1, r.2));
        Ok(sign_in_verdict([count_of(&keys[0]), count_of(&keys[1]), count_of(&keys[2])], now))
    }

    /// Settles a successful sign-in: its pair and account counts start again, and the client's
    /// count gives back this attempt, so it counts failures only (an office behind one address
    /// signs in all day; a sprayer's failures still add up). One statement.
    pub async fn clear_sign_in(&self, email: &str, client: &Client) -> DbResult<()> {
        let [pair, account, client] = sign_in_keys(email, client);
        dispatch!(self.settle_success(&pair, &account, &client))
    }

    /// Counts one `action` (sign-up, starting a provider sign-in) by `client` and refuses it past
    /// `limit` within `window` (microseconds). One statement.
    pub async fn reserve_for_client(
        &self,
        action: &str,
        client: &Client,
        limit: i64,
        window: i64,
    ) -> DbResult<Verdict> {
        let now = crate::clock::now_micros();
        let keys = [key(action, &[client.as_str()])];
        let rows = dispatch!(self.count_attempts(&keys, now, now + window))?;
        let (hits, ends) = rows.first().map_or((1, now + window), |r| (r.1, r.2));
        Ok(if hits > limit { Verdict::Wait(until(ends, now)) } else { Verdict::Go { delay: Duration::ZERO } })
    }

    /// Deletes at most `batch` counts whose window ended by `now`; returns how many.
    pub async fn delete_expired_attempts(&self, now: i64, batch: u32) -> DbResult<u64> {
        dispatch!(self.delete_expired_attempts(now, batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_slash_64_and_mapped_v4_is_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(Client::from_ip(a), Client::from_ip(b));
        assert_ne!(Client::from_ip(a), Client::from_ip(c));
        assert_eq!(Client::from_ip("::ffff:10.0.0.1".parse().expect("ip")).as_str(), "10.0.0.1");
    }

    #[test]
    fn the_pair_is_refused_the_account_only_slowed() {
        let now = 0;
        let ends = WINDOW;
        assert_eq!(sign_in_verdict([(5, ends), (5, ends), (5, ends)], now), Verdict::Go { delay: Duration::ZERO });
        assert!(matches!(sign_in_verdict([(6, ends), (6, ends), (6, ends)], now), Verdict::Wait(_)));
        // A thousand guesses at the account from elsewhere: this client still goes, slowed.
        assert_eq!(sign_in_verdict([(1, ends), (1000, ends), (1, ends)], now), Verdict::Go { delay: MAX_DELAY });
        assert!(matches!(sign_in_verdict([(1, ends), (1, ends), (101, ends)], now), Verdict::Wait(_)));
        assert_eq!(account_delay(6), Duration::from_millis(250));
        assert_eq!(account_delay(8), Duration::from_secs(1));
        assert_eq!(account_delay(i64::MAX), MAX_DELAY);
    }

    #[test]
    fn keys_are_fixed_size_and_unambiguous() {
        assert_eq!(key("pair", &["a@b.c", "1.2.3.4"]).len(), 32);
        assert_ne!(key("pair", &["a", "bc"]), key("pair", &["ab", "c"]));
        assert_eq!(key("account", &[&"x".repeat(1 << 20)]).len(), 32);
    }
}
