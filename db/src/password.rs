//! Password hashing with argon2id at OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
//!
//! Hashing takes tens of milliseconds of CPU on purpose, so it runs on tokio's blocking pool and
//! never on the async worker threads that serve other requests.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::DbError;

/// The shortest password sign-up accepts.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted (argon2 does not care, but an unbounded input is a DoS vector).
pub const MAX_PASSWORD_BYTES: usize = 1024;

fn hasher() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` into a PHC string, off the async threads.
pub async fn hash(password: String) -> Result<String, DbError> {
    tokio::task::spawn_blocking(move || {
        let mut salt_bytes = [0u8; 16];
        getrandom::fill(&mut salt_bytes).map_err(|e| DbError::Invalid(format!("no randomness: {e}")))?;
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| DbError::Invalid(e.to_string()))?;
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DbError::Invalid(e.to_string()))
    })
    .await
    .map_err(|e| DbError::Invalid(format!("hashing task failed: {e}")))?
}

/// Checks `password` against a stored PHC string, off the async threads. A malformed stored hash
/// counts as a mismatch.
pub async fn verify(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when the email is unknown so that a wrong email
/// and a wrong password take the same time.
pub async fn decoy_hash() -> String {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY.get_or_init(|| async { hash("decoy-password-never-matches".into()).await.unwrap_or_default() }).await.clone()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn verifies_only_the_right_password() {
        let phc = super::hash("correct horse".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(super::verify("correct horse".into(), phc.clone()).await);
        assert!(!super::verify("wrong horse".into(), phc).await);
        assert!(!super::verify("x".into(), "not a hash".into()).await);
    }
}
