//! Unified social credit codes (GB 32100), with the supervisor override for real codes that
//! fail their check character.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::hash::{Hash, Hasher};

use super::mask_middle;
use crate::Bilingual;

// ---------------------------------------------------------------------------------------------
// Unified social credit code (GB 32100)
// ---------------------------------------------------------------------------------------------

const CREDIT_CODE_LEN: usize = 18;
/// The 31 symbols, in value order 0–30. I, O, S, V and Z are never used.
pub(super) const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn credit_value(c: char) -> Option<u32> {
    let c = u8::try_from(c).ok()?;
    CREDIT_ALPHABET
        .iter()
        .position(|&s| s == c)
        .and_then(|v| u32::try_from(v).ok())
}

fn credit_check(values: &[u32; 17]) -> char {
    let sum: u32 = values.iter().zip(CREDIT_WEIGHTS).map(|(v, w)| v * w).sum();
    // 31 - 0 would be 31, which is no symbol: the standard maps it to '0'.
    let check = (31 - sum % 31) % 31;
    char::from(CREDIT_ALPHABET[check as usize])
}

/// An 18-character unified social credit code (统一社会信用代码, GB 32100),
/// e.g. `91350100M000100Y43`.
///
/// INVARIANT: 18 symbols from the 31-symbol alphabet, uppercase; the check character matches
/// unless `check_overridden` is set, which only [`CreditCode::parse_with_override`] does.
///
/// Equality, ordering and hashing look at the code only, not at the override flag. Credit codes
/// are public registry data, so `Debug` and `Display` print them in full.
#[derive(Clone, Debug)]
pub struct CreditCode {
    code: String,
    check_overridden: bool,
}

/// A credit code whose symbols are fine, with the check character the code calls for.
struct CheckedCredit {
    code: String,
    expected: char,
    found: char,
}

impl CreditCode {
    /// Parses a code strictly: the check character must match. Lowercase letters are accepted
    /// and stored uppercase; nothing is trimmed.
    pub fn parse(s: &str) -> Result<CreditCode, CreditCodeError> {
        let checked = Self::check_symbols(s)?;
        if checked.expected != checked.found {
            return Err(CreditCodeError::CheckCharacter {
                expected: checked.expected,
                found: checked.found,
            });
        }
        Ok(CreditCode {
            code: checked.code,
            check_overridden: false,
        })
    }

    /// Parses a code whose only problem may be its check character: some real codes fail the
    /// check, and a supervisor may accept one. The result reports
    /// [`CreditCode::check_overridden`]; the caller must record who overrode it. Every other
    /// error still refuses.
    pub fn parse_with_override(s: &str) -> Result<CreditCode, CreditCodeError> {
        let checked = Self::check_symbols(s)?;
        Ok(CreditCode {
            check_overridden: checked.expected != checked.found,
            code: checked.code,
        })
    }

    fn check_symbols(s: &str) -> Result<CheckedCredit, CreditCodeError> {
        let len = s.chars().count();
        if len != CREDIT_CODE_LEN {
            return Err(CreditCodeError::Length { found: len });
        }
        let mut code = String::with_capacity(CREDIT_CODE_LEN);
        let mut values = [0u32; 17];
        for (i, c) in s.chars().enumerate() {
            let upper = c.to_ascii_uppercase();
            let Some(v) = credit_value(upper) else {
                return Err(CreditCodeError::InvalidCharacter {
                    position: i + 1,
                    found: c,
                });
            };
            if let Some(slot) = values.get_mut(i) {
                *slot = v;
            }
            code.push(upper);
        }
        let found = char::from(code.as_bytes()[17]);
        Ok(CheckedCredit {
            expected: credit_check(&values),
            found,
            code,
        })
    }

    /// The check character for the first 17 symbols of a code, or `None` unless `first17` is
    /// exactly 17 symbols of the alphabet (lowercase accepted).
    pub fn check_char(first17: &str) -> Option<char> {
        let mut values = [0u32; 17];
        let mut chars = first17.chars();
        for slot in &mut values {
            *slot = credit_value(chars.next()?.to_ascii_uppercase())?;
        }
        if chars.next().is_some() {
            return None;
        }
        Some(credit_check(&values))
    }

    /// The full 18-character code, uppercase.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Whether this code was accepted despite a wrong check character (a supervisor override).
    pub const fn check_overridden(&self) -> bool {
        self.check_overridden
    }

    /// The 6-character region code in positions 3–8.
    pub fn region_code(&self) -> &str {
        &self.code[2..8]
    }

    /// First 4 and last 4 characters with 10 `*` between, for lists.
    pub fn masked(&self) -> String {
        mask_middle(&self.code)
    }
}

impl PartialEq for CreditCode {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl Eq for CreditCode {}

impl Hash for CreditCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code.hash(state);
    }
}

impl PartialOrd for CreditCode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CreditCode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.code.cmp(&other.code)
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl FromStr for CreditCode {
    type Err = CreditCodeError;

    /// Strict, like [`CreditCode::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CreditCode::parse(s)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;

    /// Strict, like [`CreditCode::parse`].
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CreditCode::parse(&s)
    }
}

impl Serialize for CreditCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.code)
    }
}

impl<'de> Deserialize<'de> for CreditCode {
    /// Strict: a stored code that was accepted by override must be read back with
    /// [`credit_code_overridable`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        CreditCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde for a field that may hold a code accepted by supervisor override
/// (`#[serde(with = "bangban_domain::ident::credit_code_overridable")]`): reads with
/// [`CreditCode::parse_with_override`], so a stored record with an overridden code stays readable.
/// Use it only where the override itself is recorded alongside.
pub mod credit_code_overridable {
    use super::CreditCode;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the code as its string.
    pub fn serialize<S: Serializer>(code: &CreditCode, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(code.as_str())
    }

    /// Reads the code, accepting a wrong check character (then `check_overridden()` is true).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<CreditCode, D::Error> {
        let s = String::deserialize(deserializer)?;
        CreditCode::parse_with_override(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a text is not a valid [`CreditCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not exactly 18 characters.
    #[error("unified social credit code must be 18 characters, got {found}")]
    Length {
        /// Number of characters found.
        found: usize,
    },
    /// A character outside the alphabet (digits and letters except I, O, S, V, Z).
    #[error(
        "unified social credit code may contain only digits and letters other than I, O, S, V, Z, but character {position} is {found:?}"
    )]
    InvalidCharacter {
        /// 1-based position of the first offending character.
        position: usize,
        /// The offending character, as given.
        found: char,
    },
    /// The 18th character does not match the first 17.
    #[error(
        "wrong check character in unified social credit code: expected {expected}, got {found}"
    )]
    CheckCharacter {
        /// The check character the first 17 symbols call for.
        expected: char,
        /// The check character given.
        found: char,
    },
}

impl Bilingual for CreditCodeError {
    fn code(&self) -> &'static str {
        match self {
            CreditCodeError::Length { .. } => "credit_code.length",
            CreditCodeError::InvalidCharacter { .. } => "credit_code.invalid_character",
            CreditCodeError::CheckCharacter { .. } => "credit_code.check_character",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CreditCodeError::Length { found } => {
                format!("统一社会信用代码应为18位，实际为 {found} 位")
            }
            CreditCodeError::InvalidCharacter { position, found } => format!(
                "统一社会信用代码只能包含数字和除 I、O、S、V、Z 以外的英文字母，第 {position} 位是“{}”",
                found.escape_debug()
            ),
            CreditCodeError::CheckCharacter { expected, found } => format!(
                "统一社会信用代码校验位错误：应为 {expected}，实际为 {found}（如确认代码无误，可由负责人核准后受理）"
            ),
        }
    }
}
