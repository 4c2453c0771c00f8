//! Attachments of a case (scans and photos of the applicant's materials): what the log records
//! of one — its content hash, type, size, a safe file name and the material it is for.
//!
//! Pure: the bytes themselves, their checks and their storage live with the node (kit's
//! `attachments`). Only the three types below are ever accepted, decided from the bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The SHA-256 of an attachment's stored bytes, as 64 lowercase hex digits: its name everywhere
/// (the blob store, the log, the inter-node transfer). Once held, it is well-formed, so it is
/// safe in a file path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentHash(String);

#[cfg(feature = "openapi")]
string_schema!(
    ContentHash,
    "内容摘要：SHA-256，64位小写十六进制。The SHA-256 of the stored bytes, 64 lowercase hex digits.",
    Some("^[0-9a-f]{64}$"),
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
);

/// Not 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a content hash is 64 lowercase hex digits (SHA-256)")]
pub struct ContentHashError;

impl ContentHash {
    pub fn parse(s: &str) -> Result<ContentHash, ContentHashError> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(ContentHash(s.to_owned()))
        } else {
            Err(ContentHashError)
        }
    }

    /// The hash of 32 digest bytes.
    pub fn from_digest(digest: &[u8; 32]) -> ContentHash {
        let mut s = String::with_capacity(64);
        for b in digest {
            s.push_str(&format!("{b:02x}"));
        }
        ContentHash(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ContentHash {
    type Err = ContentHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContentHash::parse(s)
    }
}

impl TryFrom<String> for ContentHash {
    type Error = ContentHashError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ContentHash::parse(&s)
    }
}

impl From<ContentHash> for String {
    fn from(h: ContentHash) -> String {
        h.0
    }
}

/// The types an attachment may have, told from the first bytes (never from the name or what
/// the client says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MediaType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "application/pdf")]
    Pdf,
}

impl MediaType {
    pub const ALL: [MediaType; 3] = [MediaType::Jpeg, MediaType::Png, MediaType::Pdf];

    /// The type the bytes start like: JPEG `FF D8 FF`, PNG `89 50 4E 47 0D 0A 1A 0A`, PDF
    /// `%PDF-`. Anything else is `None`.
    pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaType::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(MediaType::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Some(MediaType::Pdf)
        } else {
            None
        }
    }

    /// The MIME type, as served and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Pdf => "application/pdf",
        }
    }

    pub fn parse(s: &str) -> Option<MediaType> {
        MediaType::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The file extension that matches the type (served names always end in it).
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Jpeg => "jpg",
            MediaType::Png => "png",
            MediaType::Pdf => "pdf",
        }
    }

    /// A short label for lists.
    pub fn label(self) -> &'static str {
        match self {
            MediaType::Jpeg => "JPEG",
            MediaType::Png => "PNG",
            MediaType::Pdf => "PDF",
        }
    }
}

/// The longest file name kept, in characters (the extension included).
pub const MAX_FILE_NAME: usize = 80;

/// A file name safe to store, show and send back in `Content-Disposition`: the last path
/// component only, control characters, quotes, slashes and other characters that mean something
/// to a shell or a header dropped, at most [`MAX_FILE_NAME`] characters, and ending in the
/// extension of the type the bytes really have. An empty result becomes `attachment.<ext>`.
pub fn sanitize_file_name(raw: &str, media_type: MediaType) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(
                    c,
                    '"' | '\'' | '<' | '>' | ':' | '*' | '?' | '|' | ';' | '%'
                )
        })
        .collect();
    let cleaned = cleaned.trim().trim_matches('.').trim();
    let ext = media_type.extension();
    // The stem: the name without an extension that lies about the type.
    let stem = match cleaned.rsplit_once('.') {
        Some((stem, _)) => stem.trim(),
        None => cleaned,
    };
    let room = MAX_FILE_NAME - ext.len() - 1;
    let stem: String = stem.chars().take(room).collect();
    let stem = stem.trim();
    if stem.is_empty() {
        format!("attachment.{ext}")
    } else {
        format!("{stem}.{ext}")
    }
}

/// The largest attachment any node accepts, whatever its settings say (the per-node limit is
/// a setting and usually far lower).
pub const MAX_ATTACHMENT_BYTES: u64 = 64 * 1024 * 1024;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hashes_are_64_lowercase_hex_digits() {
        let good = "a".repeat(64);
        assert!(ContentHash::parse(&good).is_ok());
        for bad in [
            "A".repeat(64),
            "a".repeat(63),
            "a".repeat(65),
            format!("{}/", "a".repeat(63)),
            format!("../{}", "a".repeat(61)),
            String::new(),
        ] {
            assert_eq!(ContentHash::parse(&bad), Err(ContentHashError), "{bad}");
        }
        assert!(serde_json::from_str::<ContentHash>("\"../../etc/passwd\"").is_err());
        let h = ContentHash::from_digest(&[0xAB; 32]);
        assert_eq!(h.as_str(), "ab".repeat(32));
    }

    #[test]
    fn the_type_comes_from_the_first_bytes_only() {
        assert_eq!(
            MediaType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(MediaType::Jpeg)
        );
        assert_eq!(
            MediaType::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(MediaType::Png)
        );
        assert_eq!(MediaType::sniff(b"%PDF-1.7\n"), Some(MediaType::Pdf));
        for other in [
            &b""[..],
            b"\xFF\xD8",
            b"GIF89a",
            b"PK\x03\x04",
            b"<html>",
            b"%PDF",
            b"\x89PNG\r\n",
        ] {
            assert_eq!(MediaType::sniff(other), None, "{other:?}");
        }
        for m in MediaType::ALL {
            assert_eq!(MediaType::parse(m.as_str()), Some(m));
            let json = serde_json::to_string(&m).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
    }

    #[test]
    fn file_names_are_made_safe_and_end_in_the_real_type() {
        let cases = [
            ("身份证正面.jpg", MediaType::Jpeg, "身份证正面.jpg"),
            (
                "C:\\Users\\张\\营业执照.PNG",
                MediaType::Png,
                "营业执照.png",
            ),
            ("../../etc/passwd", MediaType::Pdf, "passwd.pdf"),
            ("evil\".pdf\r\nX-Header: 1", MediaType::Pdf, "evil.pdf"),
            ("photo.exe", MediaType::Jpeg, "photo.jpg"),
            ("", MediaType::Png, "attachment.png"),
            ("...", MediaType::Png, "attachment.png"),
            ("a;b%c.jpeg", MediaType::Jpeg, "abc.jpg"),
        ];
        for (raw, m, want) in cases {
            assert_eq!(sanitize_file_name(raw, m), want, "{raw:?}");
        }
        let long = format!("{}.pdf", "长".repeat(500));
        let name = sanitize_file_name(&long, MediaType::Pdf);
        assert_eq!(name.chars().count(), MAX_FILE_NAME);
        assert!(name.ends_with(".pdf"));
    }
}
