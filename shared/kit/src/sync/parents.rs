//! The addresses a child dials for its parent: one, or several replicas of the same parent
//! (two district processes on one PostgreSQL database). Every exchange goes to the URL in use;
//! after a transport failure (no connection, a timeout, a 5xx) the next URL is tried at once
//! and stays in use. A refusal (4xx) is the parent's answer, not a dead replica: it never
//! switches. Every replica presents the parent's own certificate (`crate::tls::ParentVerifier`
//! checks the station code, not the address), so switching never widens whom the child trusts.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use url::Url;

/// Why a `parent.url` setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParentUrlsError {
    #[error("no URL given")]
    Empty,
    #[error("`{url}` is not a URL: {reason}")]
    NotAUrl { url: String, reason: String },
    #[error("`{0}`: the parent is reached over mutual TLS, use https:// with a host")]
    NotHttps(String),
    #[error("`{0}` is listed twice")]
    Duplicate(String),
}

/// Whether an exchange failed on the way (try the next replica) or was answered (do not).
pub trait Failover {
    /// A connection error, a timeout or a 5xx: the replica may be down.
    fn is_transport_failure(&self) -> bool;
}

/// The parent's URLs and the one in use; shared by every task that dials the parent, so that
/// one task's switch moves them all.
#[derive(Debug)]
pub struct ParentUrls {
    urls: Vec<Url>,
    /// INVARIANT: always an index into `urls`.
    current: AtomicUsize,
    switches: AtomicU64,
}

impl ParentUrls {
    /// The URLs in the order they are tried; each must be `https://` with a host, none twice.
    pub fn new(urls: Vec<Url>) -> Result<ParentUrls, ParentUrlsError> {
        if urls.is_empty() {
            return Err(ParentUrlsError::Empty);
        }
        for (i, url) in urls.iter().enumerate() {
            if url.scheme() != "https" || url.host().is_none() {
                return Err(ParentUrlsError::NotHttps(url.to_string()));
            }
            if urls[..i].contains(url) {
                return Err(ParentUrlsError::Duplicate(url.to_string()));
            }
        }
        Ok(ParentUrls {
            urls,
            current: AtomicUsize::new(0),
            switches: AtomicU64::new(0),
        })
    }

    /// Parses a setting: each item may itself hold several URLs separated by commas or
    /// whitespace (so that one environment variable can list them). No URL at all is `Ok(None)`:
    /// the node has no parent.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Option<ParentUrls>, ParentUrlsError> {
        let mut urls = Vec::new();
        for item in items {
            for text in item
                .as_ref()
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
            {
                let url = Url::parse(text).map_err(|e| ParentUrlsError::NotAUrl {
                    url: text.to_owned(),
                    reason: e.to_string(),
                })?;
                urls.push(url);
            }
        }
        if urls.is_empty() {
            return Ok(None);
        }
        ParentUrls::new(urls).map(Some)
    }

    /// Every URL, in the order they are tried.
    pub fn urls(&self) -> &[Url] {
        &self.urls
    }

    fn index(&self) -> usize {
        self.current.load(Ordering::Acquire) % self.urls.len()
    }

    /// The URL the next exchange goes to.
    pub fn current(&self) -> &Url {
        &self.urls[self.index()]
    }

    /// How many times the link moved to another URL since start.
    pub fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }

    /// Moves from `failed` (an index) to the next URL, unless another task already moved on:
    /// two tasks that saw the same replica fail switch once, not twice (which would land on the
    /// dead one again).
    fn switch_from(&self, failed: usize, error: &dyn std::fmt::Display) {
        let next = (failed + 1) % self.urls.len();
        if self
            .current
            .compare_exchange(failed, next, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.switches.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                from = %self.urls[failed],
                to = %self.urls[next],
                error = %error,
                "the parent did not answer; switching to its next URL"
            );
        }
    }

    /// Runs one exchange against the URL in use. After a transport failure the next URL is
    /// tried at once, each URL once at most; the last error is returned when none answered
    /// (the caller backs off as for a single parent). A refusal is returned as it came.
    pub async fn exchange<T, E, F, Fut>(&self, mut call: F) -> Result<T, E>
    where
        F: FnMut(Url) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Failover + std::fmt::Display,
    {
        let mut tried = 0;
        loop {
            let index = self.index();
            let result = call(self.urls[index].clone()).await;
            tried += 1;
            match result {
                Err(e) if e.is_transport_failure() && tried < self.urls.len() => {
                    self.switch_from(index, &e);
                }
                other => return other,
            }
        }
    }
}

impl Failover for super::client::LinkError {
    fn is_transport_failure(&self) -> bool {
        use super::client::LinkError;
        match self {
            LinkError::Transport(_) => true,
            LinkError::Refused { status, .. } => *status >= 500,
            LinkError::Store(_) => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_list_comes_from_an_array_a_comma_string_or_whitespace() {
        let array = ParentUrls::parse(&["https://a.example:9443", "https://b.example:9443"])
            .unwrap()
            .unwrap();
        let commas = ParentUrls::parse(&["https://a.example:9443, https://b.example:9443"])
            .unwrap()
            .unwrap();
        let spaces = ParentUrls::parse(&["https://a.example:9443\n\thttps://b.example:9443"])
            .unwrap()
            .unwrap();
        let want = [url("https://a.example:9443"), url("https://b.example:9443")];
        assert_eq!(array.urls(), want);
        assert_eq!(commas.urls(), want);
        assert_eq!(spaces.urls(), want);
        assert_eq!(array.current(), &want[0]);
        assert!(ParentUrls::parse(&[" , "]).unwrap().is_none());
        assert!(ParentUrls::parse::<&str>(&[]).unwrap().is_none());
    }

    #[test]
    fn plain_http_a_bad_url_and_a_repeated_one_are_refused() {
        assert_eq!(
            ParentUrls::parse(&["https://a.example, http://b.example"]).unwrap_err(),
            ParentUrlsError::NotHttps("http://b.example/".to_owned())
        );
        assert!(matches!(
            ParentUrls::parse(&["a.example:9443"]).unwrap_err(),
            ParentUrlsError::NotAUrl { .. } | ParentUrlsError::NotHttps(_)
        ));
        assert!(matches!(
            ParentUrls::parse(&["https://"]).unwrap_err(),
            ParentUrlsError::NotAUrl { .. }
        ));
        assert_eq!(
            ParentUrls::parse(&["https://a.example", "https://a.example/"]).unwrap_err(),
            ParentUrlsError::Duplicate("https://a.example/".to_owned())
        );
        assert_eq!(
            ParentUrls::new(Vec::new()).unwrap_err(),
            ParentUrlsError::Empty
        );
    }

    #[derive(Debug)]
    struct Failed(bool);
    impl std::fmt::Display for Failed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "failed (transport: {})", self.0)
        }
    }
    impl Failover for Failed {
        fn is_transport_failure(&self) -> bool {
            self.0
        }
    }

    #[tokio::test]
    async fn each_url_is_tried_once_per_exchange_and_a_refusal_stays() {
        let parents = ParentUrls::parse(&["https://a.test https://b.test https://c.test"])
            .unwrap()
            .unwrap();
        // All down: each tried once, the last error returned, the last tried stays in use.
        let mut seen = Vec::new();
        let r: Result<(), Failed> = parents
            .exchange(|u| {
                seen.push(u.host_str().unwrap().to_owned());
                async { Err(Failed(true)) }
            })
            .await;
        assert!(r.is_err());
        assert_eq!(seen, ["a.test", "b.test", "c.test"]);
        assert_eq!(parents.current().host_str(), Some("c.test"));
        assert_eq!(parents.switches(), 2);
        // A refusal is an answer: no switch.
        let r: Result<(), Failed> = parents.exchange(|_| async { Err(Failed(false)) }).await;
        assert!(r.is_err());
        assert_eq!(parents.current().host_str(), Some("c.test"));
        assert_eq!(parents.switches(), 2);
        // A switch another task already made is not made twice.
        parents.switch_from(1, &"stale");
        assert_eq!(parents.current().host_str(), Some("c.test"));
        assert_eq!(parents.switches(), 2);
    }
}
