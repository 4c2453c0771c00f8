//! The reconciliation exchange (`POST /v1/reconcile`) and its checks. A child sends its digests
//! of one level of the tree of days; the parent answers with its own digests of the entries that
//! differ. Keys by level: `root`: `all`; `months`: `yyyymm`; `days` (within a month):
//! `yyyymmdd`; `cases` (within a day): case ids. Two lanes use the same levels and checks: the
//! case events (the default) and the case summaries ([`Lane`]).

use std::collections::{BTreeMap, HashSet};

use bangban_domain::event::CaseId;
use serde::{Deserialize, Serialize};

use crate::store::RunRow;
use crate::store::digests::Digest;
pub use crate::store::digests::Lane;

/// The most digests one request may carry (a day of a town's subtree is far fewer cases).
pub const MAX_ENTRIES: usize = 20_000;

/// How deep a comparison is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Everything the two sides should share: one entry, `all`.
    Root,
    /// One entry per month (`yyyymm`) of the case numbers' days.
    Months,
    /// One entry per day (`yyyymmdd`) of the month `within`.
    Days,
    /// One entry per case (its id) whose number is of the day `within`.
    Cases,
}

/// The digest of one entry: how many events, and the XOR of their hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DigestEntry {
    pub key: String,
    pub n: u64,
    /// 16 hexadecimal digits.
    pub x: String,
}

impl DigestEntry {
    pub fn of(key: String, d: Digest) -> DigestEntry {
        DigestEntry {
            key,
            n: d.n,
            x: d.x_hex(),
        }
    }
}

/// `POST /v1/reconcile`: the child's digests of one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompareRequest {
    /// What is compared: `events` (the default when absent), the events of the cases both
    /// sides hold; or `summaries`, the case summaries (one per case, its latest version) of the
    /// caller's subtree, all of which the caller holds and should have pushed.
    #[serde(default, skip_serializing_if = "Lane::is_events")]
    pub lane: Lane,
    pub level: Level,
    /// The month (`yyyymm`) for `days`, the day (`yyyymmdd`) for `cases`; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<i64>,
    pub digests: Vec<DigestEntry>,
}

/// The parent's digests of the entries that differ from the child's (an entry the parent
/// lacks has `n` 0); empty when both sides agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompareAnswer {
    pub differ: Vec<DigestEntry>,
}

/// `POST /v1/reconcile/report`: what a child's run found, for the parent's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunReport {
    /// The parent's request this run answers (the `bangban-reconcile` header of a pull).
    #[serde(default)]
    pub requested_at_ms: Option<i64>,
    pub run: RunRow,
}

/// Why a comparison request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("at most {MAX_ENTRIES} digests per request")]
    TooMany,
    #[error("`within` must be {0}")]
    Within(&'static str),
    #[error("key `{key}` is not {expected}")]
    Key { key: String, expected: String },
    #[error("key `{0}` appears twice")]
    Repeated(String),
    #[error("digest of `{0}` is not 16 hexadecimal digits")]
    DigestLength(String),
}

impl RequestError {
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::DigestLength(_) => "reconcile.digest",
            RequestError::TooMany => "reconcile.too_many",
            _ => "reconcile.range",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            RequestError::TooMany => format!("一次最多比对 {MAX_ENTRIES} 项"),
            RequestError::Within(_) => "比对范围（within）不正确".to_owned(),
            RequestError::Key { key, .. } => format!("比对项 {key} 不在所请求的范围内"),
            RequestError::Repeated(key) => format!("比对项 {key} 重复"),
            RequestError::DigestLength(key) => format!("比对项 {key} 的摘要不是 16 位十六进制数"),
        }
    }
}

/// A valid month `yyyymm`.
pub fn month(v: i64) -> Option<i64> {
    let (y, m) = (v / 100, v % 100);
    ((1900..=9999).contains(&y) && (1..=12).contains(&m)).then_some(v)
}

/// A valid day `yyyymmdd`.
pub fn day(v: i64) -> Option<i64> {
    let (y, m, d) = (v / 10_000, (v / 100) % 100, v % 100);
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()?;
    (1900..=9999).contains(&y).then_some(v)
}

fn parse_x(e: &DigestEntry) -> Result<u64, RequestError> {
    if e.x.len() != 16 || !e.x.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RequestError::DigestLength(e.key.chars().take(40).collect()));
    }
    u64::from_str_radix(&e.x, 16).map_err(|_| RequestError::DigestLength(e.key.clone()))
}

/// The request's digests by key, once every key is of its level and inside `within`, and every
/// digest is well formed. A forged range (a day outside the month asked about, a month that
/// does not exist, a key of another level) is refused whole.
pub fn check(req: &CompareRequest) -> Result<BTreeMap<String, Digest>, RequestError> {
    if req.digests.len() > MAX_ENTRIES {
        return Err(RequestError::TooMany);
    }
    match (req.level, req.within) {
        (Level::Root | Level::Months, None) => {}
        (Level::Root | Level::Months, Some(_)) => return Err(RequestError::Within("absent")),
        (Level::Days, w) if w.and_then(month).is_none() => {
            return Err(RequestError::Within("a month yyyymm"));
        }
        (Level::Cases, w) if w.and_then(day).is_none() => {
            return Err(RequestError::Within("a day yyyymmdd"));
        }
        _ => {}
    }
    let mut seen = HashSet::new();
    let mut out = BTreeMap::new();
    for e in &req.digests {
        let bad = |expected: &str| RequestError::Key {
            key: e.key.chars().take(40).collect(),
            expected: expected.to_owned(),
        };
        let number = || {
            (e.key.bytes().all(|b| b.is_ascii_digit()))
                .then(|| e.key.parse::<i64>().ok())
                .flatten()
        };
        match req.level {
            Level::Root if e.key != "all" => return Err(bad("`all`")),
            Level::Months if e.key.len() != 6 || number().and_then(month).is_none() => {
                return Err(bad("a month yyyymm"));
            }
            Level::Days => {
                let within = req.within.unwrap_or_default();
                match number().filter(|_| e.key.len() == 8).and_then(day) {
                    Some(d) if d / 100 == within => {}
                    _ => return Err(bad(&format!("a day of {within}"))),
                }
            }
            Level::Cases if e.key.parse::<CaseId>().is_err() => return Err(bad("a case id")),
            _ => {}
        }
        if !seen.insert(e.key.clone()) {
            return Err(RequestError::Repeated(e.key.chars().take(40).collect()));
        }
        out.insert(
            e.key.clone(),
            Digest {
                n: e.n,
                x: parse_x(e)?,
            },
        );
    }
    Ok(out)
}

/// The entries whose digests differ between `mine` and `theirs` (absent counts as empty), with
/// `mine`'s values.
pub fn differing(
    mine: &BTreeMap<String, Digest>,
    theirs: &BTreeMap<String, Digest>,
) -> Vec<DigestEntry> {
    let keys: std::collections::BTreeSet<&String> = mine.keys().chain(theirs.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let a = mine.get(k).copied().unwrap_or_default();
            let b = theirs.get(k).copied().unwrap_or_default();
            (a != b).then(|| DigestEntry::of(k.clone(), a))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(key: &str, x: &str) -> DigestEntry {
        DigestEntry {
            key: key.to_owned(),
            n: 1,
            x: x.to_owned(),
        }
    }

    fn req(level: Level, within: Option<i64>, digests: Vec<DigestEntry>) -> CompareRequest {
        CompareRequest {
            lane: Lane::Events,
            level,
            within,
            digests,
        }
    }

    const X: &str = "00000000000000ff";

    #[test]
    fn well_formed_requests_pass() {
        assert_eq!(
            check(&req(Level::Root, None, vec![entry("all", X)]))
                .unwrap()
                .len(),
            1
        );
        assert!(check(&req(Level::Months, None, vec![entry("202611", X)])).is_ok());
        assert!(check(&req(Level::Days, Some(202_602), vec![entry("20260229", X)])).is_err());
        assert!(check(&req(Level::Days, Some(202_402), vec![entry("20240229", X)])).is_ok());
        let id = uuid::Uuid::now_v7().to_string();
        assert!(check(&req(Level::Cases, Some(20_261_103), vec![entry(&id, X)])).is_ok());
    }

    #[test]
    fn forged_ranges_are_refused() {
        // A day outside the month asked about, a month 13, a key of another level.
        let cases = [
            req(Level::Days, Some(202_611), vec![entry("20261201", X)]),
            req(Level::Months, None, vec![entry("202613", X)]),
            req(Level::Months, None, vec![entry("20261", X)]),
            req(Level::Root, None, vec![entry("202611", X)]),
            req(Level::Days, None, vec![]),
            req(Level::Days, Some(202_613), vec![]),
            req(Level::Cases, Some(20_261_131), vec![]),
            req(Level::Cases, Some(20_261_130), vec![entry("not-a-case", X)]),
            req(Level::Root, Some(1), vec![]),
            req(
                Level::Months,
                None,
                vec![entry("202611", X), entry("202611", X)],
            ),
        ];
        for r in cases {
            let e = check(&r).unwrap_err();
            assert_eq!(e.code(), "reconcile.range", "{r:?}");
        }
    }

    #[test]
    fn the_lane_is_events_unless_named() {
        let plain: CompareRequest =
            serde_json::from_str(r#"{"level": "root", "digests": []}"#).unwrap();
        assert_eq!(plain.lane, Lane::Events);
        assert!(
            !serde_json::to_string(&plain).unwrap().contains("lane"),
            "the events lane costs no bytes"
        );
        let summaries = CompareRequest {
            lane: Lane::Summaries,
            ..plain
        };
        let text = serde_json::to_string(&summaries).unwrap();
        assert!(text.contains(r#""lane":"summaries""#), "{text}");
        assert_eq!(
            serde_json::from_str::<CompareRequest>(&text).unwrap(),
            summaries
        );
        assert!(
            serde_json::from_str::<CompareRequest>(
                r#"{"lane": "gossip", "level": "root", "digests": []}"#
            )
            .is_err()
        );
    }

    #[test]
    fn digests_of_the_wrong_length_are_refused() {
        for x in ["ff", "00000000000000fff", "zz000000000000ff", ""] {
            let e = check(&req(Level::Root, None, vec![entry("all", x)])).unwrap_err();
            assert_eq!(e.code(), "reconcile.digest", "{x}");
        }
    }

    #[test]
    fn differences_cover_both_sides() {
        let d = |n, x| Digest { n, x };
        let mine = BTreeMap::from([("a".to_owned(), d(1, 1)), ("b".to_owned(), d(2, 2))]);
        let theirs = BTreeMap::from([("b".to_owned(), d(2, 2)), ("c".to_owned(), d(3, 3))]);
        let keys: Vec<String> = differing(&mine, &theirs)
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, ["a", "c"]);
        let c = differing(&mine, &theirs).pop().unwrap();
        assert_eq!((c.n, c.x.as_str()), (0, "0000000000000000"), "mine lacks c");
    }
}
