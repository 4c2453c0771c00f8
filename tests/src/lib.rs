//! Cross-tier test helpers.
