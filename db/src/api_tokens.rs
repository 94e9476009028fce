//! Personal API tokens: a secret shown once, kept only as its SHA-256 hash, acting for its user
//! with a scope until it expires or is revoked.

use crate::error::DbError;
use crate::model::{ApiToken, TokenScope, User};

/// Every token's secret starts with this, so a leaked one is recognisable (secret scanners, logs).
pub const PREFIX: &str = "mosaic_";
/// The longest token name accepted.
pub const MAX_NAME_CHARS: usize = 100;
/// Tokens one user may hold at once.
pub const MAX_PER_USER: i64 = 50;

/// A new token's secret: the prefix and 256 random bits. Only [`crate::token::hash`] of it is stored.
pub fn generate_secret() -> Result<String, DbError> {
    Ok(format!("{PREFIX}{}", crate::token::generate()?))
}

/// Trims and checks a token's name.
pub fn clean_name(name: &str) -> Result<String, DbError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(DbError::Invalid(format!("a token name is 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_string())
}

/// A request authenticated by a token: its user and the token.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenAuth {
    pub user: User,
    pub token: ApiToken,
}

impl TokenAuth {
    /// The scope in effect: an admin-scoped token of a user who is no longer admin only writes.
    pub fn scope(&self) -> TokenScope {
        match self.token.scope {
            TokenScope::Admin if self.user.role != crate::model::Role::Admin => TokenScope::Write,
            scope => scope,
        }
    }
}

impl crate::Store {
    /// Creates a token for `user` from the hash of its secret (see [`generate_secret`]). Only admins
    /// may create admin-scoped tokens (audited); an expiry must be in the future.
    pub async fn create_api_token(
        &self,
        user: &User,
        name: &str,
        scope: TokenScope,
        expires_at: Option<i64>,
        token_hash: &[u8],
    ) -> crate::DbResult<ApiToken> {
        dispatch!(self.create_api_token(user, name, scope, expires_at, token_hash))
    }

    /// The user's tokens, newest first.
    pub async fn list_api_tokens(&self, user_id: uuid::Uuid) -> crate::DbResult<Vec<ApiToken>> {
        dispatch!(self.list_api_tokens(user_id))
    }

    /// Revokes one of the user's tokens: it is refused from now on and its connections close.
    pub async fn revoke_api_token(&self, user_id: uuid::Uuid, id: uuid::Uuid) -> crate::DbResult<()> {
        dispatch!(self.revoke_api_token(user_id, id))?;
        self.revocations().announce([crate::revocations::Revoked::Token(id)]);
        Ok(())
    }

    /// The live token (not expired, user not banned) with this secret hash, noting its use.
    pub async fn resolve_api_token(&self, token_hash: &[u8]) -> crate::DbResult<Option<TokenAuth>> {
        dispatch!(self.resolve_api_token(token_hash))
    }
}
