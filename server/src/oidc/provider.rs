//! One OpenID Connect provider as the server talks to it: discovery (cached), the authorization
//! URL with PKCE, `state` and `nonce`, the code exchange, and the ID token's verification by the
//! `openidconnect` crate: signature from the provider's JWKS (cached; fetched again, at most every
//! [`JWKS_REFRESH_EVERY`], when a token names a key id the cache does not have), issuer, audience,
//! expiry and nonce. Every failure becomes a [`SignInError`] with a sentence for the sign-in page.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdTokenClaims, CoreJsonWebKeySet,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, DiscoveryError, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, HttpClientError, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};

use super::OidcProviderConfig;

/// A client as built from discovery, with a redirect URL: the crate's typestates spelled out.
type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// How long discovery is trusted before it is fetched again (endpoints and keys may change).
pub const DISCOVERY_TTL: Duration = Duration::from_secs(24 * 3600);
/// The JWKS is fetched again for an unknown key id at most this often, so tokens with made-up key
/// ids cannot make the server hammer the provider.
pub const JWKS_REFRESH_EVERY: Duration = Duration::from_secs(30);
/// Clock difference tolerated between this server and the provider when checking expiry.
pub const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// Why a sign-in through a provider failed, as the person signing in is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignInError(pub String);

impl SignInError {
    fn new(text: impl Into<String>) -> SignInError {
        SignInError(text.into())
    }
}

/// The discovered configuration and a client built from it.
struct Discovered {
    metadata: CoreProviderMetadata,
    client: Client,
    at: Instant,
}

/// A sign-in started: where to send the browser, and what the callback needs to finish it.
pub struct Started {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

/// What the provider says about the person, once the ID token checked out.
pub struct Verified {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// One configured provider.
pub struct Provider {
    pub config: OidcProviderConfig,
    http: reqwest::Client,
    discovered: Mutex<Option<Arc<Discovered>>>,
    jwks_fetched: Mutex<Option<Instant>>,
}

impl Provider {
    /// The provider of `config`, talking to it with requests that give up after `timeout`.
    pub fn new(config: OidcProviderConfig, timeout: Duration) -> Result<Provider, String> {
        let http = reqwest::Client::builder()
            // Never follow redirects: the crate's advice against request forgery.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| format!("OIDC provider {}: {e}", config.id))?;
        Ok(Provider { config, http, discovered: Mutex::new(None), jwks_fetched: Mutex::new(None) })
    }

    /// The cached discovery, or a fresh one.
    async fn discovered(&self) -> Result<Arc<Discovered>, SignInError> {
        let cached = self.discovered.lock().ok().and_then(|d| d.clone());
        if let Some(d) = cached.filter(|d| d.at.elapsed() < DISCOVERY_TTL) {
            return Ok(d);
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|_| self.misconfigured("its issuer URL is not a URL"))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|e| {
            tracing::warn!(provider = %self.config.id, error = %e, "OIDC discovery failed");
            self.discovery_error(&e)
        })?;
        let discovered = Arc::new(self.build(metadata)?);
        if let Ok(mut slot) = self.discovered.lock() {
            *slot = Some(discovered.clone());
        }
        Ok(discovered)
    }

    fn build(&self, metadata: CoreProviderMetadata) -> Result<Discovered, SignInError> {
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|_| self.misconfigured("MOSAIC_PUBLIC_URL does not make a valid callback URL"))?;
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        Ok(Discovered { metadata, client, at: Instant::now() })
    }

    /// Starts a sign-in: the provider's authorization URL with a PKCE challenge, a `state` and a
    /// `nonce`, all fresh.
    pub async fn start(&self) -> Result<Started, SignInError> {
        let d = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = d
            .client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            url: url.to_string(),
            state: state.into_secret(),
            pkce_verifier: verifier.into_secret(),
            nonce: nonce.secret().clone(),
        })
    }

    /// Finishes a sign-in: exchanges the code (with the PKCE verifier) and verifies the ID token
    /// against the nonce this sign-in started with.
    pub async fn finish(&self, code: String, pkce_verifier: String, nonce: String) -> Result<Verified, SignInError> {
        let d = self.discovered().await?;
        let request = d
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|_| self.misconfigured("its configuration has no token endpoint"))?;
        let response = request.set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier)).request_async(&self.http).await;
        let response = response.map_err(|e| {
            tracing::warn!(provider = %self.config.id, error = %e, "OIDC code exchange failed");
            self.token_error(&e)
        })?;
        let id_token = response.id_token().ok_or_else(|| self.refused("it sent no ID token"))?;
        let nonce = Nonce::new(nonce);
        let verify = |client: &Client| -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
            let verifier = client.id_token_verifier().set_time_fn(|| chrono::Utc::now() - CLOCK_SKEW);
            id_token.claims(&verifier, &nonce).cloned()
        };
        let claims = match verify(&d.client) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                // The provider may have rotated its keys: fetch them again (rate-limited), once.
                let fresh = self.refresh_keys(&d).await?;
                verify(&fresh.client)
            }
            other => other,
        }
        .map_err(|e| {
            tracing::warn!(provider = %self.config.id, error = %e, "OIDC ID token refused");
            self.claims_error(&e)
        })?;
        Ok(Verified {
            subject: claims.subject().as_str().to_string(),
            email: claims.email().map(|e| e.as_str().to_string()),
            email_verified: claims.email_verified() == Some(true),
            name: claims
                .name()
                .and_then(|n| n.get(None).or_else(|| n.iter().next().map(|(_, v)| v)))
                .map(|n| n.as_str().to_string()),
        })
    }

    /// Fetches the provider's keys again, unless that was done a moment ago.
    async fn refresh_keys(&self, d: &Discovered) -> Result<Arc<Discovered>, SignInError> {
        let recently =
            self.jwks_fetched.lock().ok().and_then(|t| *t).is_some_and(|at| at.elapsed() < JWKS_REFRESH_EVERY);
        if recently {
            return Err(self.refused("its ID token is signed with a key it does not publish"));
        }
        if let Ok(mut t) = self.jwks_fetched.lock() {
            *t = Some(Instant::now());
        }
        let jwks = CoreJsonWebKeySet::fetch_async(d.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| self.discovery_error(&e))?;
        let fresh = Arc::new(self.build(d.metadata.clone().set_jwks(jwks))?);
        if let Ok(mut slot) = self.discovered.lock() {
            *slot = Some(fresh.clone());
        }
        Ok(fresh)
    }

    fn misconfigured(&self, what: &str) -> SignInError {
        SignInError::new(format!(
            "Sign-in with {} is not set up correctly: {what}. Tell your administrator.",
            self.config.name
        ))
    }

    fn refused(&self, what: &str) -> SignInError {
        SignInError::new(format!("Sign-in with {} failed: {what}. Try again.", self.config.name))
    }

    fn unreachable(&self, e: &HttpClientError<reqwest::Error>) -> SignInError {
        let name = &self.config.name;
        SignInError::new(match e {
            HttpClientError::Reqwest(r) if r.is_timeout() => {
                format!("{name} did not answer in time. Try again in a moment, or sign in with your password.")
            }
            _ => format!("{name} cannot be reached right now. Try again in a moment, or sign in with your password."),
        })
    }

    fn discovery_error(&self, e: &DiscoveryError<HttpClientError<reqwest::Error>>) -> SignInError {
        match e {
            DiscoveryError::Request(h) => self.unreachable(h),
            DiscoveryError::Response(status, _, _) => {
                self.misconfigured(&format!("its configuration answered HTTP {}", status.as_u16()))
            }
            DiscoveryError::Validation(_) => {
                self.misconfigured("its configuration names another issuer than the one configured")
            }
            _ => self.misconfigured("its configuration could not be read"),
        }
    }

    fn token_error(
        &self,
        e: &RequestTokenError<
            HttpClientError<reqwest::Error>,
            openidconnect::StandardErrorResponse<CoreErrorResponseType>,
        >,
    ) -> SignInError {
        match e {
            RequestTokenError::ServerResponse(r) => match r.error() {
                CoreErrorResponseType::InvalidGrant => self.refused("the sign-in code was already used or has expired"),
                CoreErrorResponseType::InvalidClient | CoreErrorResponseType::UnauthorizedClient => {
                    self.misconfigured("it does not accept this server's client id and secret")
                }
                _ => self.refused("it refused to issue a token"),
            },
            RequestTokenError::Request(h) => self.unreachable(h),
            RequestTokenError::Parse(..) => self.refused("it sent a token that is not valid"),
            RequestTokenError::Other(_) => self.refused("it answered with an error"),
        }
    }

    fn claims_error(&self, e: &ClaimsVerificationError) -> SignInError {
        self.refused(match e {
            ClaimsVerificationError::Expired(_) => "its ID token has expired (check that the clocks agree)",
            ClaimsVerificationError::InvalidNonce(_) => "its ID token belongs to another sign-in",
            ClaimsVerificationError::InvalidAudience(_) => "its ID token was issued for another application",
            ClaimsVerificationError::InvalidIssuer(_) => "its ID token comes from another issuer",
            ClaimsVerificationError::SignatureVerification(_) => "its ID token's signature does not check out",
            _ => "its ID token was not accepted",
        })
    }
}
