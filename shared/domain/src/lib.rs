//! Bangban's domain core: the vocabulary both nodes share.
//!
//! Pure by construction: no I/O, no clock and no randomness that is not passed in as an argument.
//! Everything here must be testable to the last branch without a runtime, a database or a network.

/// Implements the OpenAPI schema of a type that travels as one JSON string (identifiers,
/// codes, personal data): `string_schema!(Type, "description", pattern, example)`.
#[cfg(feature = "openapi")]
macro_rules! string_schema {
    ($ty:ty, $description:expr, $pattern:expr, $example:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .description(Some($description))
                    .pattern($pattern)
                    .examples([$example])
                    .into()
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}

pub mod account;
pub mod agent;
pub mod attachment;
pub mod calendar;
pub mod case;
pub mod catalogue;
pub mod event;
pub mod ident;
pub mod masked;
pub mod station;
pub mod summary;
pub mod topology;
pub mod wire;

/// An error an operator may read: English via `Display`, Chinese via [`Bilingual::message_zh`],
/// and a stable machine-readable code for clients and tests.
pub trait Bilingual: std::fmt::Display {
    /// Stable code such as `station_code.length`; never localised, safe to match on.
    fn code(&self) -> &'static str;
    /// The message in Simplified Chinese, for the operator UI.
    fn message_zh(&self) -> String;
    /// The message in English; the `Display` text by default.
    fn message_en(&self) -> String {
        self.to_string()
    }
}
