//! Session tokens: 256 random bits for the cookie, and the SHA-256 of it for the database, so a
//! leaked database does not hand out live sessions.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::DbError;

/// A new random session token, URL-safe base64 of 32 bytes.
pub fn generate() -> Result<String, DbError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DbError::Internal(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The value stored in `sessions.token_hash` for `token`.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = super::generate().expect("token");
        let b = super::generate().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43); // 256 bits
        assert_eq!(super::hash(&a).len(), 32);
        assert_eq!(super::hash(&a), super::hash(&a));
    }
}
