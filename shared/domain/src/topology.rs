//! The district tree (topology).
