//! Session tokens: random, given to the client once, stored only as a salted digest.

use argon2::Params;

use super::*;

// ---------------------------------------------------------------------------------------------
// Hashing and tokens
// ---------------------------------------------------------------------------------------------

/// 256 bits from the operating system's CSPRNG, as 64 lowercase hex digits. The randomness comes
/// through password-hash's salt generator (`getrandom`), the one CSPRNG in our dependencies.
pub(super) fn new_token() -> Result<SessionToken, AuthError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    for chunk in bytes.chunks_mut(16) {
        let random = argon2::password_hash::try_generate_salt()
            .map_err(|e| AuthError::Hashing(format!("no secure randomness: {e}")))?;
        chunk.copy_from_slice(&random[..chunk.len()]);
    }
    Ok(SessionToken(hex(&bytes)))
}

pub(super) fn well_formed_token(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The stored form of a token: a one-way digest, so a copy of the database (a backup, a stolen
/// disk) yields no live session, and the lookup by primary key leaks nothing through timing.
///
/// The token already has 256 bits of entropy, so no stretching is needed; argon2id at its minimum
/// cost (8 KiB, one pass: microseconds) serves as the hash function because it is the one
/// already in our dependencies (no SHA-2 crate is a direct dependency).
pub(super) fn token_digest(token: &str) -> Result<String, AuthError> {
    let params = Params::new(8, 1, 1, Some(32)).map_err(|e| AuthError::Hashing(e.to_string()))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(token.as_bytes(), TOKEN_DIGEST_SALT, &mut out)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    Ok(hex(&out))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// The CSRF token of a browser session: derived one way from the session token (which the
/// browser keeps in an HttpOnly cookie), so it is fixed for the session, unguessable without the
/// cookie, and needs no storage. A different salt from [`token_digest`] keeps it from revealing
/// the stored digest.
pub fn csrf_token(session_token: &str) -> Result<String, AuthError> {
    let params = Params::new(8, 1, 1, Some(32)).map_err(|e| AuthError::Hashing(e.to_string()))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(session_token.as_bytes(), CSRF_SALT, &mut out)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    Ok(hex(&out))
}

const CSRF_SALT: &[u8] = b"bangban-csrf-token-v1";
