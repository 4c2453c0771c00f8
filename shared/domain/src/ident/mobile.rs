//! Mainland mobile numbers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Bilingual;

// ---------------------------------------------------------------------------------------------
// Mobile number
// ---------------------------------------------------------------------------------------------

/// A mainland China mobile number, stored as its 11 digits, e.g. `13812345678`.
///
/// INVARIANT: 11 ASCII digits, `1` then `3`–`9`. `Debug` is masked; there is no `Display`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MobileNumber(String);

impl MobileNumber {
    /// Parses a mobile number, tolerating a `+86`, `0086` or `86` country prefix and spaces or
    /// hyphens anywhere (`+86 138-1234-5678`).
    pub fn parse(s: &str) -> Result<MobileNumber, MobileNumberError> {
        let mut digits = String::with_capacity(s.len());
        let mut plus = false;
        for (i, c) in s.chars().enumerate() {
            match c {
                ' ' | '-' => {}
                '+' if digits.is_empty() && !plus => plus = true,
                '0'..='9' => digits.push(c),
                _ => {
                    return Err(MobileNumberError::InvalidCharacter {
                        position: i + 1,
                        found: c,
                    });
                }
            }
        }
        let national = if plus {
            digits
                .strip_prefix("86")
                .ok_or(MobileNumberError::CountryCode)?
        } else if let Some(rest) = digits.strip_prefix("0086") {
            rest
        } else if digits.len() == 13
            && let Some(rest) = digits.strip_prefix("86")
        {
            // Only a 13-digit number: an 11-digit one starting with 86 is simply not a mobile.
            rest
        } else {
            &digits
        };
        if national.len() != 11 {
            return Err(MobileNumberError::Length {
                found: national.len(),
            });
        }
        let b = national.as_bytes();
        if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
            return Err(MobileNumberError::NotMobile {
                prefix: national[..2].to_owned(),
            });
        }
        Ok(MobileNumber(national.to_owned()))
    }

    /// The 11 digits, without country code or separators. Personal data: never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form for lists and logs: `138****5678`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Masked on purpose: a `{:?}` in a log line must not leak the number.
        f.debug_tuple("MobileNumber").field(&self.masked()).finish()
    }
}

impl FromStr for MobileNumber {
    type Err = MobileNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MobileNumber::parse(s)
    }
}

impl TryFrom<String> for MobileNumber {
    type Error = MobileNumberError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        MobileNumber::parse(&s)
    }
}

impl Serialize for MobileNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MobileNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        MobileNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a text is not a valid [`MobileNumber`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MobileNumberError {
    /// A character other than a digit, space, hyphen or a leading `+`.
    #[error(
        "mobile number may contain only digits, spaces, hyphens and a leading +86, but character {position} is {found:?}"
    )]
    InvalidCharacter {
        /// 1-based position in the input of the first offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// A `+` country code other than +86.
    #[error("only mainland China mobile numbers (+86) are accepted")]
    CountryCode,
    /// Not 11 digits once the country code is removed.
    #[error("mobile number must have 11 digits, got {found}")]
    Length {
        /// Number of digits found, without the country code.
        found: usize,
    },
    /// 11 digits, but not starting with 13–19.
    #[error("mobile number must start with 13 to 19, got {prefix}")]
    NotMobile {
        /// The first two digits.
        prefix: String,
    },
}

impl Bilingual for MobileNumberError {
    fn code(&self) -> &'static str {
        match self {
            MobileNumberError::InvalidCharacter { .. } => "mobile.invalid_character",
            MobileNumberError::CountryCode => "mobile.country_code",
            MobileNumberError::Length { .. } => "mobile.length",
            MobileNumberError::NotMobile { .. } => "mobile.not_mobile",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            MobileNumberError::InvalidCharacter { position, found } => format!(
                "手机号码只能包含数字、空格、连字符和开头的 +86，第 {position} 个字符是“{}”",
                found.escape_debug()
            ),
            MobileNumberError::CountryCode => "仅支持中国大陆手机号码（+86）".to_owned(),
            MobileNumberError::Length { found } => {
                format!("手机号码应为11位数字，实际为 {found} 位")
            }
            MobileNumberError::NotMobile { prefix } => {
                format!("手机号码应以 13 至 19 开头，实际为 {prefix}")
            }
        }
    }
}
