//! Identifiers of the people and organisations a case is about: resident ID numbers (GB 11643),
//! unified social credit codes (GB 32100), mainland mobile numbers, and masking for lists.
//!
//! Each type's only constructor validates. Personal data must never reach logs: `Debug` of
//! [`ResidentId`] and [`MobileNumber`] prints the masked form, and neither implements `Display`,
//! so writing the full value anywhere takes an explicit `as_str()`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

use crate::Bilingual;
use crate::station::is_province_code;

/// The ten `*` that replace the middle of an 18-character identifier.
const MIDDLE_MASK: &str = "**********";

// ---------------------------------------------------------------------------------------------
// Resident ID number (GB 11643)
// ---------------------------------------------------------------------------------------------

const RESIDENT_ID_LEN: usize = 18;
const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
const EARLIEST_BIRTH: Date = time::macros::date!(1900 - 01 - 01);

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

/// First 4 + ten `*` + last 4 of an 18-character ASCII identifier.
fn mask_middle(id: &str) -> String {
    format!("{}{MIDDLE_MASK}{}", &id[..4], &id[id.len() - 4..])
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

// ---------------------------------------------------------------------------------------------
// Unified social credit code (GB 32100)
// ---------------------------------------------------------------------------------------------

const CREDIT_CODE_LEN: usize = 18;
/// The 31 symbols, in value order 0–30. I, O, S, V and Z are never used.
const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
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

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// Masks a person's name for lists: the first character, then `*` for each further character,
/// at least one (`张三` → `张*`, `欧阳娜娜` → `欧***`, `张` → `张*`). Empty stays empty.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let stars = chars.count().max(1);
    let mut masked = String::with_capacity(first.len_utf8() + stars);
    masked.push(first);
    masked.extend(std::iter::repeat_n('*', stars));
    masked
}

/// A person's name (an applicant, a company's legal representative or contact, a recipient, who
/// signed for a result). Personal data: lists and the operator API show [`PersonName::masked`],
/// and `Debug` prints the masked form.
///
/// Any text is accepted, exactly as typed and on the wire as a plain string: whether a name is
/// required and how long it may be is checked with the event that carries it
/// (`Event::validate`), which names the field in its message.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn new(name: impl Into<String>) -> PersonName {
        PersonName(name.into())
    }

    /// The name in full. Personal data: never log it; use [`PersonName::masked`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form for lists and logs: `张三丰` → `张**` (see [`mask_name`]).
    pub fn masked(&self) -> String {
        mask_name(&self.0)
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Masked on purpose: a `{:?}` in a log line must not leak the name.
        f.debug_tuple("PersonName").field(&self.masked()).finish()
    }
}

impl From<String> for PersonName {
    fn from(name: String) -> Self {
        PersonName(name)
    }
}

impl From<&str> for PersonName {
    fn from(name: &str) -> Self {
        PersonName(name.to_owned())
    }
}

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

/// How many characters of an address lists show: about the district and the street.
const ADDRESS_SHOWN: usize = 6;

/// A postal address (where a courier delivers a result). Personal data: lists and the operator
/// API show [`Address::masked`], and `Debug` prints no part of it.
///
/// Any text is accepted and travels as a plain string; `Event::validate` checks that it is
/// given and not too long.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    pub fn new(address: impl Into<String>) -> Address {
        Address(address.into())
    }

    /// The address in full. Personal data: never log it; use [`Address::masked`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form for lists: the first six characters, then `****`
    /// (`河南省平顶山市新华区曙光街1号` → `河南省平顶山****`).
    pub fn masked(&self) -> String {
        let mut masked: String = self.0.chars().take(ADDRESS_SHOWN).collect();
        masked.push_str("****");
        masked
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Address(\"***\")")
    }
}

impl From<String> for Address {
    fn from(address: String) -> Self {
        Address(address)
    }
}

impl From<&str> for Address {
    fn from(address: &str) -> Self {
        Address(address.to_owned())
    }
}

// The OpenAPI schemas of these types: each travels as one string.
#[cfg(feature = "openapi")]
string_schema!(
    ResidentId,
    "居民身份证号码（18位，GB 11643）。Resident ID number (18 characters, GB 11643).",
    Some(r"^[0-9]{17}[0-9Xx]$"),
    "11010519491231002X"
);
#[cfg(feature = "openapi")]
string_schema!(
    CreditCode,
    "统一社会信用代码（18位，GB 32100）。Unified social credit code (18 characters, GB 32100).",
    None::<&str>,
    "91350100M000100Y43"
);
#[cfg(feature = "openapi")]
string_schema!(
    MobileNumber,
    "手机号码（11位）。Mainland mobile number (11 digits).",
    None::<&str>,
    "13812345678"
);
#[cfg(feature = "openapi")]
string_schema!(
    PersonName,
    "自然人姓名。A person's name.",
    None::<&str>,
    "张三"
);
#[cfg(feature = "openapi")]
string_schema!(
    Address,
    "收件地址。A postal address.",
    None::<&str>,
    "河南省平顶山市新华区曙光街1号"
);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    // --- Resident ID ----------------------------------------------------------------------------

    #[test]
    fn valid_resident_ids_parse() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.masked(), "1101**********002X");

        let id = ResidentId::parse("110105195001010039").unwrap();
        assert_eq!(id.birth_date(), date!(1950 - 01 - 01));
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.masked(), "1101**********0039");
        assert_eq!(Sex::Male.label_zh(), "男");
    }

    #[test]
    fn lowercase_x_is_normalised() {
        let id = ResidentId::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id, ResidentId::parse("11010519491231002X").unwrap());
    }

    #[test]
    fn resident_id_debug_is_masked() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        let debug = format!("{id:?}");
        assert_eq!(debug, "ResidentId(\"1101**********002X\")");
        assert!(!debug.contains("19491231"));
    }

    #[test]
    fn resident_id_serde_is_the_full_string_and_validates() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"11010519491231002X\"");
        assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ResidentId>("\"110105194912310021\"").is_err());
        assert_eq!(
            ResidentId::try_from("110105195001010039".to_owned()).unwrap(),
            "110105195001010039".parse().unwrap()
        );
    }

    #[test]
    fn born_by_compares_with_the_given_day() {
        let id = ResidentId::parse("110105195001010039").unwrap();
        assert!(id.is_born_by(date!(1950 - 01 - 01)));
        assert!(id.is_born_by(date!(2026 - 05 - 01)));
        assert!(!id.is_born_by(date!(1949 - 12 - 31)));
    }

    #[test]
    fn resident_id_check_char_helper() {
        assert_eq!(ResidentId::check_char("11010519491231002"), Some('X'));
        assert_eq!(ResidentId::check_char("11010519500101003"), Some('9'));
        assert_eq!(ResidentId::check_char("1101051950010100"), None);
        assert_eq!(ResidentId::check_char("1101051950010100a"), None);
        assert_eq!(ResidentId::check_char("１１010519500101003"), None);
    }

    fn id_err(s: &str) -> ResidentIdError {
        ResidentId::parse(s).unwrap_err()
    }

    #[test]
    fn resident_id_length_error() {
        let err = id_err("110105195001010");
        assert_eq!(err, ResidentIdError::Length { found: 15 });
        assert_eq!(err.code(), "resident_id.length");
        assert_eq!(
            err.to_string(),
            "resident ID number must be 18 characters, got 15"
        );
        assert_eq!(err.message_zh(), "身份证号码应为18位，实际为 15 位");
        assert_eq!(
            id_err(" 110105195001010039"),
            ResidentIdError::Length { found: 19 }
        );
    }

    #[test]
    fn resident_id_non_digit_error() {
        let err = id_err("1101051950O1010039");
        assert_eq!(
            err,
            ResidentIdError::NonDigit {
                position: 11,
                found: 'O'
            }
        );
        assert_eq!(err.code(), "resident_id.non_digit");
        assert!(err.message_zh().contains("第 11 位是“O”"));
        // X is only allowed last.
        assert!(matches!(
            id_err("X10105195001010039"),
            ResidentIdError::NonDigit { position: 1, .. }
        ));
    }

    #[test]
    fn resident_id_check_symbol_error() {
        let err = id_err("11010519491231002Y");
        assert_eq!(err, ResidentIdError::CheckSymbol { found: 'Y' });
        assert_eq!(err.code(), "resident_id.check_symbol");
        assert!(err.message_zh().contains("“Y”"));
    }

    #[test]
    fn resident_id_unknown_province_error() {
        let err = id_err("990105195001010039");
        assert_eq!(err, ResidentIdError::UnknownProvince { province: 99 });
        assert_eq!(err.code(), "resident_id.unknown_province");
        assert!(err.to_string().contains("99"));
        assert!(err.message_zh().contains("“99”"));
    }

    #[test]
    fn resident_id_invalid_birth_date_errors() {
        for bad in [
            "110105195002300039", // 30 February
            "110105195013010039", // month 13
            "110105195000010039", // month 0
            "110105195001000039", // day 0
            "110105190002290039", // 1900 is not a leap year
        ] {
            let err = id_err(bad);
            assert_eq!(err, ResidentIdError::InvalidBirthDate, "{bad}");
            assert_eq!(err.code(), "resident_id.invalid_birth_date");
        }
        assert!(!ResidentIdError::InvalidBirthDate.message_zh().is_empty());
        // 2000 is a leap year: 29 February passes the date check (then fails the check char).
        assert!(matches!(
            id_err("110105200002290030"),
            ResidentIdError::CheckCharacter { .. }
        ));
        let err = id_err("110105189912310039");
        assert_eq!(err, ResidentIdError::BirthDateTooEarly);
        assert_eq!(err.code(), "resident_id.birth_date_too_early");
        assert!(err.message_zh().contains("1900"));
    }

    #[test]
    fn resident_id_check_character_error_names_both() {
        let err = id_err("110105195001010033");
        assert_eq!(
            err,
            ResidentIdError::CheckCharacter {
                expected: '9',
                found: '3'
            }
        );
        assert_eq!(err.code(), "resident_id.check_character");
        assert_eq!(
            err.to_string(),
            "wrong check character in resident ID number: expected 9, got 3"
        );
        assert_eq!(err.message_zh(), "身份证号码校验位错误：应为 9，实际为 3");
        assert_eq!(
            id_err("110105194912310029"),
            ResidentIdError::CheckCharacter {
                expected: 'X',
                found: '9'
            }
        );
    }

    // --- Credit code ----------------------------------------------------------------------------

    #[test]
    fn valid_credit_codes_parse() {
        for s in [
            "91350100M000100Y43",
            "91310230MA1K314J7C",
            "91110000101623741K",
        ] {
            let code = CreditCode::parse(s).unwrap();
            assert_eq!(code.as_str(), s);
            assert!(!code.check_overridden());
            assert_eq!(code.to_string(), s);
        }
        let code = CreditCode::parse("91350100M000100Y43").unwrap();
        assert_eq!(code.region_code(), "350100");
        assert_eq!(code.masked(), "9135**********0Y43");
    }

    #[test]
    fn lowercase_credit_code_is_normalised() {
        let code = CreditCode::parse("91310230ma1k314j7c").unwrap();
        assert_eq!(code.as_str(), "91310230MA1K314J7C");
    }

    #[test]
    fn check_value_31_becomes_zero() {
        // 9·1 + 1·3 + 4·9 + 1·27 + 0·19 + 4·26 + 0·16 + 2·17 + M(21)·20 + A(10)·29
        //   + 0·(25+13+8+24+10+30) + 8·28 = 1147 = 37·31, so the sum mod 31 is 0 and
        // 31 − 0 = 31 must become '0'.
        assert_eq!(CreditCode::check_char("91410402MA0000008"), Some('0'));
        let code = CreditCode::parse("91410402MA00000080").unwrap();
        assert!(!code.check_overridden());
        assert_eq!(
            CreditCode::parse("91410402MA0000008Y").unwrap_err(),
            CreditCodeError::CheckCharacter {
                expected: '0',
                found: 'Y'
            }
        );
        assert_eq!(CreditCode::check_char("00000000000000000"), Some('0'));
    }

    #[test]
    fn credit_check_char_helper() {
        assert_eq!(CreditCode::check_char("91350100M000100Y4"), Some('3'));
        assert_eq!(CreditCode::check_char("91310230ma1k314j7"), Some('C'));
        assert_eq!(CreditCode::check_char("91350100M000100Y"), None);
        assert_eq!(CreditCode::check_char("91350100M000100Y43"), None);
        assert_eq!(CreditCode::check_char("91350100M000100I4"), None);
    }

    #[test]
    fn credit_code_errors() {
        let err = CreditCode::parse("91350100M000100Y4").unwrap_err();
        assert_eq!(err, CreditCodeError::Length { found: 17 });
        assert_eq!(err.code(), "credit_code.length");
        assert_eq!(err.message_zh(), "统一社会信用代码应为18位，实际为 17 位");

        let err = CreditCode::parse("91350100MO00100Y43").unwrap_err();
        assert_eq!(
            err,
            CreditCodeError::InvalidCharacter {
                position: 10,
                found: 'O'
            }
        );
        assert_eq!(err.code(), "credit_code.invalid_character");
        assert!(err.message_zh().contains("第 10 位是“O”"));
        // The position is reported as given, lowercase included.
        assert_eq!(
            CreditCode::parse("9135010om000100Y43").unwrap_err(),
            CreditCodeError::InvalidCharacter {
                position: 8,
                found: 'o'
            }
        );

        let err = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert_eq!(
            err,
            CreditCodeError::CheckCharacter {
                expected: '3',
                found: '4'
            }
        );
        assert_eq!(err.code(), "credit_code.check_character");
        assert_eq!(
            err.to_string(),
            "wrong check character in unified social credit code: expected 3, got 4"
        );
        assert!(
            err.message_zh()
                .starts_with("统一社会信用代码校验位错误：应为 3，实际为 4")
        );
    }

    #[test]
    fn override_accepts_only_a_wrong_check_character() {
        let code = CreditCode::parse_with_override("91350100M000100Y44").unwrap();
        assert!(code.check_overridden());
        assert_eq!(code.as_str(), "91350100M000100Y44");

        let fine = CreditCode::parse_with_override("91350100M000100Y43").unwrap();
        assert!(!fine.check_overridden());
        assert_eq!(fine, CreditCode::parse("91350100M000100Y43").unwrap());

        assert_eq!(
            CreditCode::parse_with_override("91350100M000100Y4").unwrap_err(),
            CreditCodeError::Length { found: 17 }
        );
        assert!(matches!(
            CreditCode::parse_with_override("91350100M000100YI3").unwrap_err(),
            CreditCodeError::InvalidCharacter { position: 17, .. }
        ));
    }

    #[test]
    fn credit_code_serde() {
        let code = CreditCode::parse("91110000101623741K").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"91110000101623741K\"");
        assert_eq!(serde_json::from_str::<CreditCode>(&json).unwrap(), code);
        // Strict by default ...
        assert!(serde_json::from_str::<CreditCode>("\"91110000101623741A\"").is_err());

        // ... and lenient only where a field opts in.
        #[derive(Serialize, Deserialize)]
        struct Record {
            #[serde(with = "credit_code_overridable")]
            code: CreditCode,
        }
        let rec: Record = serde_json::from_str(r#"{"code":"91110000101623741A"}"#).unwrap();
        assert!(rec.code.check_overridden());
        assert_eq!(
            serde_json::to_string(&rec).unwrap(),
            r#"{"code":"91110000101623741A"}"#
        );
        assert!(serde_json::from_str::<Record>(r#"{"code":"9111000010162374"}"#).is_err());
    }

    // --- Mobile ---------------------------------------------------------------------------------

    #[test]
    fn mobile_numbers_in_common_shapes() {
        for s in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+8613812345678",
            "+86 138 1234 5678",
            "8613812345678",
            "008613812345678",
            "0086-138-1234-5678",
        ] {
            let m = MobileNumber::parse(s).unwrap();
            assert_eq!(m.as_str(), "13812345678", "{s}");
            assert_eq!(m.masked(), "138****5678");
        }
        let m = MobileNumber::parse("19912345678").unwrap();
        assert_eq!(format!("{m:?}"), "MobileNumber(\"199****5678\")");
    }

    #[test]
    fn mobile_serde_validates_and_normalises() {
        let m: MobileNumber = serde_json::from_str("\"+86 138-1234-5678\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"13812345678\"");
        assert!(serde_json::from_str::<MobileNumber>("\"12812345678\"").is_err());
        assert_eq!(
            MobileNumber::try_from("13812345678".to_owned()).unwrap(),
            "13812345678".parse().unwrap()
        );
    }

    #[test]
    fn mobile_errors() {
        let err = MobileNumber::parse("138.1234.5678").unwrap_err();
        assert_eq!(
            err,
            MobileNumberError::InvalidCharacter {
                position: 4,
                found: '.'
            }
        );
        assert_eq!(err.code(), "mobile.invalid_character");
        assert!(err.message_zh().contains("第 4 个字符是“.”"));
        assert!(matches!(
            MobileNumber::parse("138+12345678").unwrap_err(),
            MobileNumberError::InvalidCharacter { position: 4, .. }
        ));

        let err = MobileNumber::parse("+85291234567").unwrap_err();
        assert_eq!(err, MobileNumberError::CountryCode);
        assert_eq!(err.code(), "mobile.country_code");
        assert!(err.message_zh().contains("+86"));

        let err = MobileNumber::parse("1381234567").unwrap_err();
        assert_eq!(err, MobileNumberError::Length { found: 10 });
        assert_eq!(err.code(), "mobile.length");
        assert_eq!(err.to_string(), "mobile number must have 11 digits, got 10");
        assert_eq!(err.message_zh(), "手机号码应为11位数字，实际为 10 位");
        assert_eq!(
            MobileNumber::parse("").unwrap_err(),
            MobileNumberError::Length { found: 0 }
        );
        // A landline with its area code is too long; without the leading 0 it is not a mobile.
        let err = MobileNumber::parse("037512345678").unwrap_err();
        assert_eq!(err, MobileNumberError::Length { found: 12 });

        let err = MobileNumber::parse("12812345678").unwrap_err();
        assert_eq!(
            err,
            MobileNumberError::NotMobile {
                prefix: "12".to_owned()
            }
        );
        assert_eq!(err.code(), "mobile.not_mobile");
        assert_eq!(err.message_zh(), "手机号码应以 13 至 19 开头，实际为 12");
        assert!(matches!(
            MobileNumber::parse("03751234567").unwrap_err(),
            MobileNumberError::NotMobile { .. }
        ));
    }

    // --- Names ----------------------------------------------------------------------------------

    #[test]
    fn names_keep_only_their_first_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("张"), "张*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("阿依古丽·买买提"), "阿*******");
    }

    // --- Properties -------------------------------------------------------------------------

    const PROVINCES: [u8; 34] = [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51,
        52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
    ];
    const ID_SYMBOLS: &str = "0123456789X";

    /// A valid ID's first 17 digits: real province, a date in 1900–2099, any sequence.
    fn first17() -> impl Strategy<Value = String> {
        let first = EARLIEST_BIRTH.to_julian_day();
        let last = date!(2099 - 12 - 31).to_julian_day();
        (
            prop::sample::select(&PROVINCES[..]),
            0u32..10_000,
            first..=last,
            0u32..1_000,
        )
            .prop_map(|(p, rest, day, seq)| {
                let d = Date::from_julian_day(day).unwrap();
                format!(
                    "{p:02}{rest:04}{:04}{:02}{:02}{seq:03}",
                    d.year(),
                    u8::from(d.month()),
                    d.day()
                )
            })
    }

    fn valid_id() -> impl Strategy<Value = String> {
        first17().prop_map(|f| {
            let check = ResidentId::check_char(&f).unwrap();
            format!("{f}{check}")
        })
    }

    fn credit_first17() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(&CREDIT_ALPHABET[..]), 17)
            .prop_map(|v| v.into_iter().map(char::from).collect())
    }

    fn valid_credit() -> impl Strategy<Value = String> {
        credit_first17().prop_map(|f| {
            let check = CreditCode::check_char(&f).unwrap();
            format!("{f}{check}")
        })
    }

    /// `s` with the character at `index` replaced by the `pick`-th other symbol of `alphabet`.
    fn flip(s: &str, index: usize, alphabet: &str, pick: usize) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        let others: Vec<char> = alphabet.chars().filter(|&c| c != chars[index]).collect();
        chars[index] = others[pick % others.len()];
        chars.into_iter().collect()
    }

    proptest! {
        #[test]
        fn generated_resident_ids_are_accepted(s in valid_id()) {
            let id = ResidentId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert_eq!(id.region_code(), &s[..6]);
            let birth = id.birth_date();
            prop_assert_eq!(
                format!("{:04}{:02}{:02}", birth.year(), u8::from(birth.month()), birth.day()),
                &s[6..14]
            );
            let odd = (s.as_bytes()[16] - b'0') % 2 == 1;
            prop_assert_eq!(id.sex(), if odd { Sex::Male } else { Sex::Female });
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id.clone());
            if s.ends_with('X') {
                let lower = s.replace('X', "x");
                prop_assert_eq!(ResidentId::parse(&lower).unwrap(), id);
            }
        }

        #[test]
        fn any_single_changed_character_breaks_a_resident_id(
            s in valid_id(),
            index in 0usize..18,
            pick in 0usize..10,
        ) {
            let alphabet = if index == 17 { ID_SYMBOLS } else { "0123456789" };
            let flipped = flip(&s, index, alphabet, pick);
            prop_assert!(ResidentId::parse(&flipped).is_err(), "{} accepted", flipped);
        }

        #[test]
        fn resident_id_masking_hides_the_middle(s in valid_id()) {
            let id = ResidentId::parse(&s).unwrap();
            let masked = id.masked();
            prop_assert_eq!(masked.len(), 18);
            prop_assert_eq!(&masked[..4], &s[..4]);
            prop_assert_eq!(&masked[4..14], MIDDLE_MASK);
            prop_assert_eq!(&masked[14..], &s[14..]);
            let debug = format!("{id:?}");
            prop_assert!(!debug.contains(&s[4..14]));
            prop_assert!(debug.contains(&masked));
        }

        #[test]
        fn generated_credit_codes_are_accepted(s in valid_credit()) {
            let code = CreditCode::parse(&s).unwrap();
            prop_assert_eq!(code.as_str(), s.as_str());
            prop_assert!(!code.check_overridden());
            prop_assert_eq!(CreditCode::parse(&s.to_lowercase()).unwrap(), code.clone());
            let json = serde_json::to_string(&code).unwrap();
            prop_assert_eq!(serde_json::from_str::<CreditCode>(&json).unwrap(), code.clone());
            let masked = code.masked();
            prop_assert_eq!(&masked[4..14], MIDDLE_MASK);
            prop_assert_eq!(&masked[..4], &s[..4]);
            prop_assert_eq!(&masked[14..], &s[14..]);
        }

        #[test]
        fn any_single_changed_symbol_breaks_a_credit_code_but_can_be_overridden(
            s in valid_credit(),
            index in 0usize..18,
            pick in 0usize..30,
        ) {
            let alphabet = std::str::from_utf8(CREDIT_ALPHABET).unwrap();
            let flipped = flip(&s, index, alphabet, pick);
            let is_check_error = matches!(
                CreditCode::parse(&flipped),
                Err(CreditCodeError::CheckCharacter { .. })
            );
            prop_assert!(is_check_error);
            let overridden = CreditCode::parse_with_override(&flipped).unwrap();
            prop_assert!(overridden.check_overridden());
        }

        #[test]
        fn mobile_numbers_survive_formatting(
            national in "1[3-9][0-9]{9}",
            prefix in prop::sample::select(vec!["", "+86", "86", "0086", "+86 ", "0086-"]),
            dashes in any::<bool>(),
        ) {
            let body = if dashes {
                format!("{}-{}-{}", &national[..3], &national[3..7], &national[7..])
            } else {
                national.clone()
            };
            let m = MobileNumber::parse(&format!("{prefix}{body}")).unwrap();
            prop_assert_eq!(m.as_str(), national.as_str());
            let masked = m.masked();
            prop_assert_eq!(&masked[3..7], "****");
            prop_assert_eq!(&masked[..3], &national[..3]);
            prop_assert_eq!(&masked[7..], &national[7..]);
            // Debug shows the masked form only (the middle digits may recur in the tail, so
            // compare with the masked form rather than search for the middle).
            let debug = format!("{m:?}");
            prop_assert!(debug.contains(&masked), "{}", debug);
            prop_assert!(!debug.contains(&national), "{}", debug);
        }

        #[test]
        fn names_mask_all_but_the_first_character(name in "\\PC{1,12}") {
            let masked = mask_name(&name);
            let mut chars = masked.chars();
            prop_assert_eq!(chars.next(), name.chars().next());
            let rest: Vec<char> = chars.collect();
            prop_assert_eq!(rest.len(), (name.chars().count() - 1).max(1));
            prop_assert!(rest.iter().all(|&c| c == '*'));
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".*") {
            let _ = ResidentId::parse(&s);
            let _ = ResidentId::check_char(&s);
            let _ = CreditCode::parse(&s);
            let _ = CreditCode::parse_with_override(&s);
            let _ = CreditCode::check_char(&s);
            let _ = MobileNumber::parse(&s);
            let _ = mask_name(&s);
        }

        #[test]
        fn near_miss_text_never_panics(
            id in "[0-9xX]{16,19}",
            credit in "[0-9A-Za-z]{16,19}",
            mobile in "[+0-9 -]{8,18}",
        ) {
            let _ = ResidentId::parse(&id);
            let _ = CreditCode::parse_with_override(&credit);
            let _ = MobileNumber::parse(&mobile);
        }
    }
}
