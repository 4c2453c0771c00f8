//! Resident ID numbers (GB 11643): region, birth date, sequence and check character.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

use super::mask_middle;
use crate::Bilingual;
use crate::station::is_province_code;

// ---------------------------------------------------------------------------------------------
// Resident ID number (GB 11643)
// ---------------------------------------------------------------------------------------------

const RESIDENT_ID_LEN: usize = 18;
const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
pub(super) const EARLIEST_BIRTH: Date = time::macros::date!(1900 - 01 - 01);

/// A person's sex as encoded in the resident ID number (odd 17th digit male, even female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// 男.
    Male,
    /// 女.
    Female,
}

impl Sex {
    /// The name shown to operators.
    pub const fn label_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// An 18-character resident ID number (居民身份证号码, GB 11643), e.g. `11010519491231002X`.
///
/// INVARIANT: 17 ASCII digits with a valid province prefix and a real birth date not before
/// 1900-01-01, then the matching check character (`0`–`9` or uppercase `X`). `birth` is the date
/// in digits 7–14. Whether the birth date is in the future needs a clock, so it is the caller's
/// question: [`ResidentId::is_born_by`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResidentId {
    id: String,
    birth: Date,
}

impl ResidentId {
    /// Parses an 18-character ID. A lowercase `x` check character is accepted and stored as `X`;
    /// nothing else is normalised or trimmed. The 15-digit first-generation numbers are refused.
    pub fn parse(s: &str) -> Result<ResidentId, ResidentIdError> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != RESIDENT_ID_LEN {
            return Err(ResidentIdError::Length { found: chars.len() });
        }
        let mut digits = [0u8; 17];
        for (i, (&c, slot)) in chars.iter().zip(digits.iter_mut()).enumerate() {
            // `to_digit(10)` accepts ASCII digits only.
            let Some(d) = c.to_digit(10) else {
                return Err(ResidentIdError::NonDigit {
                    position: i + 1,
                    found: c,
                });
            };
            *slot = d as u8; // d < 10
        }
        let found = match chars[17] {
            'x' => 'X',
            c @ ('0'..='9' | 'X') => c,
            c => return Err(ResidentIdError::CheckSymbol { found: c }),
        };

        let province = digits[0] * 10 + digits[1];
        if !is_province_code(province) {
            return Err(ResidentIdError::UnknownProvince { province });
        }

        let number = |range: std::ops::Range<usize>| {
            digits[range]
                .iter()
                .fold(0u32, |n, &d| n * 10 + u32::from(d))
        };
        let year = i32::try_from(number(6..10)).unwrap_or(i32::MAX);
        let birth = Month::try_from(u8::try_from(number(10..12)).unwrap_or(0))
            .ok()
            .and_then(|month| {
                let day = u8::try_from(number(12..14)).ok()?;
                Date::from_calendar_date(year, month, day).ok()
            })
            .ok_or(ResidentIdError::InvalidBirthDate)?;
        if birth < EARLIEST_BIRTH {
            return Err(ResidentIdError::BirthDateTooEarly);
        }

        let expected = resident_id_check(&digits);
        if found != expected {
            return Err(ResidentIdError::CheckCharacter { expected, found });
        }

        let mut id: String = chars[..17].iter().collect();
        id.push(found);
        Ok(ResidentId { id, birth })
    }

    /// The check character for the first 17 characters of an ID, or `None` unless `first17` is
    /// exactly 17 ASCII digits. Does not check the province or the date.
    pub fn check_char(first17: &str) -> Option<char> {
        let bytes: &[u8; 17] = first17.as_bytes().try_into().ok()?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(resident_id_check(&bytes.map(|b| b - b'0')))
    }

    /// The full 18-character ID. Personal data: never log it; use [`ResidentId::masked`].
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The 6-digit address code of the place of first registration.
    pub fn region_code(&self) -> &str {
        &self.id[..6]
    }

    /// The birth date in digits 7–14.
    pub const fn birth_date(&self) -> Date {
        self.birth
    }

    /// Whether the person is born on or before `today`; a birth date after `today` means the ID
    /// is mistyped or forged. The caller supplies the date: this crate has no clock.
    pub fn is_born_by(&self, today: Date) -> bool {
        self.birth <= today
    }

    /// The sex encoded in the 17th digit: odd male, even female.
    pub fn sex(&self) -> Sex {
        if self.id.as_bytes()[16] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The form for lists and logs: first 4 and last 4 characters, 10 `*` between
    /// (`1101**********002X`).
    pub fn masked(&self) -> String {
        mask_middle(&self.id)
    }
}

fn resident_id_check(digits: &[u8; 17]) -> char {
    let sum: u32 = digits
        .iter()
        .zip(RESIDENT_ID_WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    RESIDENT_ID_CHECK[(sum % 11) as usize]
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Masked on purpose: a `{:?}` in a log line must not leak the number.
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

impl FromStr for ResidentId {
    type Err = ResidentIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResidentId::parse(s)
    }
}

impl TryFrom<String> for ResidentId {
    type Error = ResidentIdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        ResidentId::parse(&s)
    }
}

impl Serialize for ResidentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.id)
    }
}

impl<'de> Deserialize<'de> for ResidentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        ResidentId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a text is not a valid [`ResidentId`]. Messages never repeat the number or its birth date:
/// they may end up in logs, and the operator has the input in front of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    /// Not exactly 18 characters.
    #[error("resident ID number must be 18 characters, got {found}")]
    Length {
        /// Number of characters found.
        found: usize,
    },
    /// One of the first 17 characters is not a digit.
    #[error("resident ID number must start with 17 digits, but character {position} is {found:?}")]
    NonDigit {
        /// 1-based position of the first offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The 18th character is neither a digit nor X.
    #[error("the last character of a resident ID number must be a digit or X, got {found:?}")]
    CheckSymbol {
        /// The offending character.
        found: char,
    },
    /// The first two digits are not a province-level division.
    #[error("resident ID number starts with {province:02}, which is not a Chinese province code")]
    UnknownProvince {
        /// The first two digits.
        province: u8,
    },
    /// Digits 7–14 are not a real calendar date YYYYMMDD.
    #[error("the birth date in a resident ID number (characters 7-14) is not a real date")]
    InvalidBirthDate,
    /// Digits 7–14 are a date before 1900-01-01.
    #[error("the birth date in a resident ID number (characters 7-14) is before 1900-01-01")]
    BirthDateTooEarly,
    /// The 18th character does not match the first 17: a typo somewhere in the number.
    #[error("wrong check character in resident ID number: expected {expected}, got {found}")]
    CheckCharacter {
        /// The check character the first 17 digits call for.
        expected: char,
        /// The check character given.
        found: char,
    },
}

impl Bilingual for ResidentIdError {
    fn code(&self) -> &'static str {
        match self {
            ResidentIdError::Length { .. } => "resident_id.length",
            ResidentIdError::NonDigit { .. } => "resident_id.non_digit",
            ResidentIdError::CheckSymbol { .. } => "resident_id.check_symbol",
            ResidentIdError::UnknownProvince { .. } => "resident_id.unknown_province",
            ResidentIdError::InvalidBirthDate => "resident_id.invalid_birth_date",
            ResidentIdError::BirthDateTooEarly => "resident_id.birth_date_too_early",
            ResidentIdError::CheckCharacter { .. } => "resident_id.check_character",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            ResidentIdError::Length { found } => {
                format!("身份证号码应为18位，实际为 {found} 位")
            }
            ResidentIdError::NonDigit { position, found } => format!(
                "身份证号码前17位只能是数字，第 {position} 位是“{}”",
                found.escape_debug()
            ),
            ResidentIdError::CheckSymbol { found } => format!(
                "身份证号码最后一位应为数字或 X，实际为“{}”",
                found.escape_debug()
            ),
            ResidentIdError::UnknownProvince { province } => {
                format!("身份证号码前两位“{province:02}”不是有效的省级行政区划代码")
            }
            ResidentIdError::InvalidBirthDate => {
                "身份证号码中的出生日期（第7–14位）不是有效日期".to_owned()
            }
            ResidentIdError::BirthDateTooEarly => {
                "身份证号码中的出生日期（第7–14位）早于1900年1月1日".to_owned()
            }
            ResidentIdError::CheckCharacter { expected, found } => {
                format!("身份证号码校验位错误：应为 {expected}，实际为 {found}")
            }
        }
    }
}
