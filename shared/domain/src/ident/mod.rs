//! Identifiers of the people and organisations a case is about: resident ID numbers (GB 11643),
//! unified social credit codes (GB 32100), mainland mobile numbers, and masking for lists.
//!
//! Each type's only constructor validates. Personal data must never reach logs: `Debug` of
//! [`ResidentId`] and [`MobileNumber`] prints the masked form, and neither implements `Display`,
//! so writing the full value anywhere takes an explicit `as_str()`.

mod credit;
mod mobile;
mod personal;
mod resident;

pub use credit::*;
pub use mobile::*;
pub use personal::*;
pub use resident::*;

/// The ten `*` that replace the middle of an 18-character identifier.
const MIDDLE_MASK: &str = "**********";

/// First 4 + ten `*` + last 4 of an 18-character ASCII identifier.
fn mask_middle(id: &str) -> String {
    format!("{}{MIDDLE_MASK}{}", &id[..4], &id[id.len() - 4..])
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
