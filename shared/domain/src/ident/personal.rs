//! Names and addresses of persons: personal data that travels as plain text and is masked by
//! type for lists, logs and the operator API. (Also the OpenAPI schemas of the identifiers.)

use std::fmt;

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use super::{CreditCode, MobileNumber, ResidentId};

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
        super::mask_name(&self.0)
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
