//! SECURITY-CRITICAL. Login throttling by source address and by account, kept in memory.
//!
//! # Why not a lock
//!
//! A hard lock after five failures lets anyone who knows a username keep its operator out:
//! five wrong passwords every fifteen minutes suffice. Throttling instead asks the *caller*
//! to wait, and decides from the caller's own history whether the wait applies to it.
//!
//! # The rules
//!
//! Every failed attempt is counted three ways: against its source address (IPv6 by /64, since
//! one host holds a whole /64), against the account name, and against the pair (address,
//! account). A count of `n` failures past a free allowance `k` requires a wait of
//! `FIRST_WAIT · 2^(n−k)` after the last failure, at most [`MAX_WAIT`].
//!
//! * An address past [`ADDRESS_FREE_FAILURES`] waits, whatever account it tries: one machine
//!   cannot guess quickly, at one account or across many.
//! * An account past [`ACCOUNT_FREE_FAILURES`] makes *only the addresses that have failed on
//!   it* [`PAIR_FREE_FAILURES`] times or more wait. Any other address is still checked at once.
//!   So a stranger hammering `wangfang` from one desk, however long, never stops Wang Fang
//!   logging in with her password from her own desk, even after a typo or two; the stranger's
//!   own address is what ends up waiting. An attacker with many addresses gets a few quick
//!   guesses per address per account, then each address waits for the account's (growing)
//!   wait: guessing stays slow without anyone being locked out.
//! * A success clears the pair and takes back its own provisional count; it does not clear the
//!   account's count, which may be an attack from elsewhere. Counts are forgotten
//!   [`FORGET_AFTER`] after their last failure; an administrator's password reset clears the
//!   account's.
//!
//! An attempt is counted as a failure *before* its password is checked and taken back if the
//! password was right, so parallel guesses cannot overrun the allowance. The counters are keyed
//! by the name typed, whether or not such an account exists, so a wait says nothing about
//! existence. Throttled attempts are refused without argon2 work; every other refusal costs one
//! argon2 verification and looks the same (see `AuthStore::login`).
//!
//! # Why in memory
//!
//! Throttling is a rate limit, not a record: the audit trail in the database keeps every
//! attempt. Kept in memory it adds no database round trip to the audit row each attempt already
//! costs (and no lock on the account's row that parallel attempts would queue on), needs no
//! schema change, and is bounded
//! ([`MAX_TRACKED`] entries per table, the least recent evicted first). What is lost on a
//! restart is at most one fresh allowance per address; district replicas behind a load balancer
//! each keep their own counts, which multiplies the allowance by the (small) number of replicas.
//! The peer address comes from the TCP connection, never from a header; a UI listener behind a
//! reverse proxy would see one address for everyone, so the UI listener is served directly.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use super::Username;

/// Failures an address may make (on any accounts) before it has to wait.
pub const ADDRESS_FREE_FAILURES: u32 = 10;
/// Failures an account may suffer (from any addresses) before the addresses that failed on it
/// have to wait.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures an address may make on one account before that account's wait applies to it: an
/// operator's typos do not make her share the wait an attacker elsewhere has caused.
pub const PAIR_FREE_FAILURES: u32 = 3;
/// The wait after the first failure past an allowance; each further failure doubles it.
pub const FIRST_WAIT: Duration = Duration::seconds(1);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::minutes(15);
/// Counts are forgotten this long after their last failure.
pub const FORGET_AFTER: Duration = Duration::hours(1);
/// Entries kept per table (addresses, accounts, pairs) at most.
pub const MAX_TRACKED: usize = 10_000;

/// Where an attempt came from: an IPv4 address, an IPv6 /64, or unknown (no connection info,
/// as for the command line and tests; all such attempts share one count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    Unknown,
    V4(u32),
    V6Net(u64),
}

impl Source {
    pub(crate) fn from_peer(peer: Option<&str>) -> Source {
        match peer.and_then(|p| p.parse::<IpAddr>().ok()) {
            None => Source::Unknown,
            Some(IpAddr::V4(v4)) => Source::V4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(u32::from(v4)),
                None => {
                    let bits = u128::from(v6) >> 64;
                    Source::V6Net(u64::try_from(bits).unwrap_or(u64::MAX))
                }
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    last: OffsetDateTime,
}

impl Count {
    /// Until when this count makes its subject wait, past `free` failures.
    fn wait_until(&self, free: u32) -> Option<OffsetDateTime> {
        let past = self.failures.checked_sub(free)?;
        // 2^10 s already exceeds the cap: no need to compute larger powers.
        let wait = FIRST_WAIT * 2_i32.pow(past.min(10));
        Some(self.last + wait.min(MAX_WAIT))
    }
}

/// One table of counts, bounded.
#[derive(Debug)]
struct Table<K> {
    counts: HashMap<K, Count>,
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    fn new() -> Self {
        Table {
            counts: HashMap::new(),
        }
    }

    fn get(&self, key: &K, now: OffsetDateTime) -> Option<Count> {
        self.counts
            .get(key)
            .copied()
            .filter(|c| now - c.last < FORGET_AFTER)
    }

    fn fail(&mut self, key: K, now: OffsetDateTime) {
        if !self.counts.contains_key(&key) && self.counts.len() >= MAX_TRACKED {
            self.make_room(now);
        }
        let count = self.counts.entry(key).or_insert(Count {
            failures: 0,
            last: now,
        });
        if now - count.last >= FORGET_AFTER {
            count.failures = 0;
        }
        count.failures = count.failures.saturating_add(1);
        count.last = count.last.max(now);
    }

    /// Takes back one provisional failure.
    fn take_back(&mut self, key: &K) {
        if let Some(count) = self.counts.get_mut(key) {
            count.failures = count.failures.saturating_sub(1);
            if count.failures == 0 {
                self.counts.remove(key);
            }
        }
    }

    fn clear(&mut self, key: &K) {
        self.counts.remove(key);
    }

    /// Drops forgotten counts; if none were, the least recent one.
    fn make_room(&mut self, now: OffsetDateTime) {
        self.counts.retain(|_, c| now - c.last < FORGET_AFTER);
        if self.counts.len() >= MAX_TRACKED
            && let Some(oldest) = self
                .counts
                .iter()
                .min_by_key(|(_, c)| c.last)
                .map(|(k, _)| k.clone())
        {
            self.counts.remove(&oldest);
        }
    }
}

#[derive(Debug)]
struct Tables {
    addresses: Table<Source>,
    accounts: Table<Username>,
    pairs: Table<(Source, Username)>,
}

/// The throttle of one node (shared by the clones of its `AuthStore`).
#[derive(Debug)]
pub(crate) struct Throttle {
    tables: Mutex<Tables>,
}

impl Throttle {
    pub(crate) fn new() -> Throttle {
        Throttle {
            tables: Mutex::new(Tables {
                addresses: Table::new(),
                accounts: Table::new(),
                pairs: Table::new(),
            }),
        }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits an attempt and counts it as a failure until [`Throttle::succeeded`] or
    /// [`Throttle::withdraw`] says otherwise; or refuses it with how long the caller must still
    /// wait.
    pub(crate) fn admit(
        &self,
        source: Source,
        account: Option<&Username>,
        now: OffsetDateTime,
    ) -> Result<(), Duration> {
        let mut t = self.tables();
        let mut until = t
            .addresses
            .get(&source, now)
            .and_then(|c| c.wait_until(ADDRESS_FREE_FAILURES));
        if let Some(name) = account {
            let failed_here = t
                .pairs
                .get(&(source, name.clone()), now)
                .is_some_and(|c| c.failures >= PAIR_FREE_FAILURES);
            if failed_here {
                let account_until = t
                    .accounts
                    .get(name, now)
                    .and_then(|c| c.wait_until(ACCOUNT_FREE_FAILURES));
                until = until.max(account_until);
            }
        }
        if let Some(until) = until.filter(|u| *u > now) {
            return Err(until - now);
        }
        t.addresses.fail(source, now);
        if let Some(name) = account {
            t.accounts.fail(name.clone(), now);
            t.pairs.fail((source, name.clone()), now);
        }
        Ok(())
    }

    /// The password was right: the provisional failure is taken back and the pair is cleared.
    pub(crate) fn succeeded(&self, source: Source, account: &Username) {
        let mut t = self.tables();
        t.addresses.take_back(&source);
        t.accounts.take_back(account);
        t.pairs.clear(&(source, account.clone()));
    }

    /// The attempt was not decided (the node was busy or failed): nothing is counted.
    pub(crate) fn withdraw(&self, source: Source, account: Option<&Username>) {
        let mut t = self.tables();
        t.addresses.take_back(&source);
        if let Some(name) = account {
            t.accounts.take_back(name);
            t.pairs.take_back(&(source, name.clone()));
        }
    }

    /// An administrator reset the account: its count starts over.
    pub(crate) fn clear_account(&self, account: &Username) {
        self.tables().accounts.clear(account);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn name(s: &str) -> Username {
        Username::parse(s).unwrap()
    }

    fn t0() -> OffsetDateTime {
        time::macros::datetime!(2026-02-10 01:00 UTC)
    }

    #[test]
    fn sources_group_ipv6_by_64_and_unmap_ipv4() {
        assert_eq!(Source::from_peer(None), Source::Unknown);
        assert_eq!(Source::from_peer(Some("garbage")), Source::Unknown);
        assert_eq!(
            Source::from_peer(Some("::ffff:10.0.0.7")),
            Source::from_peer(Some("10.0.0.7"))
        );
        assert_eq!(
            Source::from_peer(Some("2001:db8:1:2::1")),
            Source::from_peer(Some("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            Source::from_peer(Some("2001:db8:1:2::1")),
            Source::from_peer(Some("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn waits_double_past_the_allowance_and_are_capped() {
        let c = |failures| Count {
            failures,
            last: t0(),
        };
        assert_eq!(c(4).wait_until(5), None);
        assert_eq!(c(5).wait_until(5), Some(t0() + Duration::seconds(1)));
        assert_eq!(c(6).wait_until(5), Some(t0() + Duration::seconds(2)));
        assert_eq!(c(9).wait_until(5), Some(t0() + Duration::seconds(16)));
        assert_eq!(c(40).wait_until(5), Some(t0() + MAX_WAIT));
        assert_eq!(c(u32::MAX).wait_until(5), Some(t0() + MAX_WAIT));
    }

    #[test]
    fn tables_stay_bounded_and_keep_the_most_recent() {
        let mut table = Table::new();
        for i in 0..MAX_TRACKED + 50 {
            let at = t0() + Duration::seconds(i64::try_from(i).unwrap());
            table.fail(i, at);
        }
        assert!(table.counts.len() <= MAX_TRACKED);
        let late = t0() + Duration::seconds(i64::try_from(MAX_TRACKED + 60).unwrap());
        assert!(table.get(&(MAX_TRACKED + 49), late).is_some());
        assert!(table.get(&0, late).is_none());
        // Forgotten after an hour of quiet.
        assert!(
            table
                .get(&(MAX_TRACKED + 49), late + FORGET_AFTER)
                .is_none()
        );
    }

    #[test]
    fn an_attacked_account_stays_open_to_a_clean_address() {
        let throttle = Throttle::new();
        let attacker = Source::from_peer(Some("10.0.0.66"));
        let operator = Source::from_peer(Some("10.0.0.7"));
        let victim = name("wangfang");
        let now = t0();
        let mut refused = 0;
        for _ in 0..100 {
            if throttle.admit(attacker, Some(&victim), now).is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 100 - ACCOUNT_FREE_FAILURES);
        throttle.admit(operator, Some(&victim), now).unwrap();
        throttle.succeeded(operator, &victim);
        // The operator may log in again at once; the attacker still waits.
        throttle.admit(operator, Some(&victim), now).unwrap();
        assert!(throttle.admit(attacker, Some(&victim), now).is_err());
    }
}
