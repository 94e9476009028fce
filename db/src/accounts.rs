//! Sign-in methods beyond the password: accounts at OpenID Connect providers, found by the
//! provider's subject and created or linked at the first sign-in; and the password's own changes.

/// What a provider said about the person signing in, after the ID token was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderIdentity {
    /// The provider's id in Mosaic's configuration (`accounts.provider_id`).
    pub provider: String,
    /// The provider's stable id of the person (`sub`; `accounts.account_id`).
    pub subject: String,
    pub email: String,
    /// Whether the provider vouches for the email (`email_verified`).
    pub email_verified: bool,
    pub name: String,
}

/// The rules of a provider sign-in that are the operator's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkPolicy {
    /// Whether an existing account with the same (verified) email is linked to the provider.
    pub link_verified_email: bool,
    /// Whether a new account is made admin (its email is listed in MOSAIC_ADMIN_EMAIL); only when
    /// the provider verified the email.
    pub make_admin: bool,
}

/// How a provider sign-in found its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// The provider account was known.
    Existing,
    /// An account with the same email, verified before, was linked to the provider.
    Linked,
    /// An account with the same email that nobody had verified was taken over by the provider's
    /// verified owner of the address: its password, other providers, sessions and tokens ended.
    Claimed,
    /// A new user was created.
    Created,
}

impl crate::Store {
    /// The user behind a verified provider identity: found by (provider, subject); else an
    /// existing account with the same email, linked only when the provider verified the email and
    /// `policy` allows it (otherwise [`crate::DbError::Conflict`]), and claimed (its other ways in
    /// ended) when nobody had verified that account's email before; else a new user. One
    /// transaction. The caller refuses banned users.
    pub async fn sign_in_with_provider(
        &self,
        who: &ProviderIdentity,
        policy: LinkPolicy,
    ) -> crate::DbResult<(crate::model::User, Found)> {
        let (user, found) = dispatch!(self.sign_in_with_provider(who, policy))?;
        if found == Found::Claimed {
            self.revocations().announce([crate::revocations::Revoked::User(user.id)]);
        }
        Ok((user, found))
    }

    /// The user's password hash, if they have an email + password account.
    pub async fn password_hash(&self, user_id: uuid::Uuid) -> crate::DbResult<Option<String>> {
        dispatch!(self.password_hash(user_id))
    }

    /// Sets a new password hash and ends every other session of the user (the one changing it
    /// stays signed in).
    pub async fn change_password(
        &self,
        user_id: uuid::Uuid,
        hash: &str,
        keep_session: uuid::Uuid,
    ) -> crate::DbResult<()> {
        let ended = dispatch!(self.change_password(user_id, hash, keep_session))?;
        self.sessions_ended(ended);
        Ok(())
    }

    /// Ends every session of the user but `keep_session` ("sign out everywhere else"); returns how many.
    pub async fn revoke_other_sessions(&self, user_id: uuid::Uuid, keep_session: uuid::Uuid) -> crate::DbResult<usize> {
        let ended = dispatch!(self.revoke_other_sessions(user_id, keep_session))?;
        let count = ended.len();
        self.sessions_ended(ended);
        Ok(count)
    }

    /// Keeps a value for a moment under `identifier` (a sign-in in progress: its PKCE verifier and
    /// nonce), until `expires_at`; the sweep deletes it if nobody takes it.
    pub async fn put_verification(&self, identifier: &str, value: &str, expires_at: i64) -> crate::DbResult<()> {
        dispatch!(self.put_verification(identifier, value, expires_at))
    }

    /// Takes (and deletes) the value kept under `identifier`, if it has not expired: each can be
    /// taken once, so a replayed callback finds nothing.
    pub async fn take_verification(&self, identifier: &str) -> crate::DbResult<Option<String>> {
        dispatch!(self.take_verification(identifier))
    }
}
