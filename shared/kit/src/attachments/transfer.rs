//! (transfer: written next)
