//! The single sign-on variables (see the table in [`super`]): the providers, their callbacks under
//! MOSAIC_PUBLIC_URL, the timeout and MOSAIC_ADMIN_EMAIL.

use std::time::Duration;

use super::{boolean, seconds, ConfigError};
use crate::oidc::{OidcProviderConfig, OidcSettings};

/// MOSAIC_OIDC_PROVIDERS=id,… with MOSAIC_OIDC_<ID>_ISSUER / _CLIENT_ID / _CLIENT_SECRET / _NAME /
/// _LINK_EXISTING, MOSAIC_OIDC_TIMEOUT_SECS and MOSAIC_ADMIN_EMAIL. Callbacks go to
/// MOSAIC_PUBLIC_URL, which providers need to know, so it is required with any provider.
pub(super) fn settings(
    get: &impl Fn(&str) -> Option<String>,
    public_origin: Option<&str>,
) -> Result<OidcSettings, ConfigError> {
    let admin_emails = get("MOSAIC_ADMIN_EMAIL")
        .map(|v| v.split(',').map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()).collect())
        .unwrap_or_default();
    let timeout = seconds(get, "MOSAIC_OIDC_TIMEOUT_SECS", Duration::from_secs(10), 120)?;
    let mut providers: Vec<OidcProviderConfig> = Vec::new();
    let names = get("MOSAIC_OIDC_PROVIDERS").unwrap_or_default();
    for id in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || id == mosaic_db::users::CREDENTIAL_PROVIDER
            || providers.iter().any(|p| p.id == id)
        {
            return Err(ConfigError::new(
                "MOSAIC_OIDC_PROVIDERS",
                format!("{id:?}: ids are distinct, of lower-case letters, digits and '-' (and not \"credential\")"),
            ));
        }
        let Some(origin) = public_origin else {
            return Err(ConfigError::new(
                "MOSAIC_PUBLIC_URL",
                "is required with MOSAIC_OIDC_PROVIDERS: providers send people back to <MOSAIC_PUBLIC_URL>/auth/oidc/<id>/callback",
            ));
        };
        let prefix = format!("MOSAIC_OIDC_{}", id.to_uppercase().replace('-', "_"));
        let required = |suffix: &str, what: &str| {
            let var = format!("{prefix}_{suffix}");
            get(&var).ok_or_else(|| ConfigError::new(&var, format!("is required for each OIDC provider: {what}")))
        };
        let issuer = required("ISSUER", "the issuer URL, like https://keycloak.example.com/realms/main")?;
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|p| issuer.starts_with(p));
        if !issuer.starts_with("https://") && !loopback {
            return Err(ConfigError::new(
                format!("{prefix}_ISSUER"),
                "must be an https:// URL (http only on this machine)",
            ));
        }
        let mut display = id.to_string();
        if let Some(first) = display.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        providers.push(OidcProviderConfig {
            id: id.to_string(),
            name: get(&format!("{prefix}_NAME")).unwrap_or(display),
            issuer,
            client_id: required("CLIENT_ID", "the client id registered at the provider")?,
            client_secret: required("CLIENT_SECRET", "the client secret registered at the provider")?,
            link_existing: boolean(get, &format!("{prefix}_LINK_EXISTING"), false)?,
            redirect_url: format!("{origin}/auth/oidc/{id}/callback"),
        });
    }
    Ok(OidcSettings { providers, timeout, admin_emails })
}

#[cfg(test)]
mod tests {
    use crate::config::tests::with;

    #[test]
    fn oidc_providers_are_read_with_their_callback_and_checked() {
        let base = [
            ("MOSAIC_PUBLIC_URL", "https://chat.example.com/"),
            ("MOSAIC_OIDC_PROVIDERS", "keycloak, google"),
            ("MOSAIC_OIDC_KEYCLOAK_ISSUER", "https://kc.example.com/realms/main"),
            ("MOSAIC_OIDC_KEYCLOAK_CLIENT_ID", "mosaic"),
            ("MOSAIC_OIDC_KEYCLOAK_CLIENT_SECRET", "s1"),
            ("MOSAIC_OIDC_KEYCLOAK_LINK_EXISTING", "true"),
            ("MOSAIC_OIDC_GOOGLE_ISSUER", "https://accounts.google.com"),
            ("MOSAIC_OIDC_GOOGLE_CLIENT_ID", "g"),
            ("MOSAIC_OIDC_GOOGLE_CLIENT_SECRET", "s2"),
            ("MOSAIC_OIDC_GOOGLE_NAME", "Google"),
            ("MOSAIC_ADMIN_EMAIL", "IT@example.com, ops@example.com"),
        ];
        let c = with(&base).expect("config");
        let kc = &c.oidc.providers[0];
        assert_eq!((kc.id.as_str(), kc.name.as_str(), kc.link_existing), ("keycloak", "Keycloak", true));
        assert_eq!(kc.redirect_url, "https://chat.example.com/auth/oidc/keycloak/callback");
        assert_eq!(c.oidc.providers[1].name, "Google");
        assert!(!c.oidc.providers[1].link_existing, "linking is off unless asked for");
        assert_eq!(c.oidc.admin_emails, ["it@example.com", "ops@example.com"]);
        assert_eq!(c.oidc.timeout.as_secs(), 10);
        let without = |var: &str| {
            let vars: Vec<(&str, &str)> = base.iter().copied().filter(|(k, _)| *k != var).collect();
            with(&vars).expect_err("refused").var
        };
        assert_eq!(without("MOSAIC_PUBLIC_URL"), "MOSAIC_PUBLIC_URL");
        assert_eq!(without("MOSAIC_OIDC_GOOGLE_CLIENT_SECRET"), "MOSAIC_OIDC_GOOGLE_CLIENT_SECRET");
        let mut plain_http = base.to_vec();
        plain_http.push(("MOSAIC_OIDC_KEYCLOAK_ISSUER", "http://kc.example.com/realms/main"));
        assert_eq!(with(&plain_http).expect_err("http").var, "MOSAIC_OIDC_KEYCLOAK_ISSUER");
        let mut local = base.to_vec();
        local.push(("MOSAIC_OIDC_KEYCLOAK_ISSUER", "http://127.0.0.1:4111"));
        assert!(with(&local).is_ok(), "plain http on this machine, for tests");
        let mut reserved = base.to_vec();
        reserved.push(("MOSAIC_OIDC_PROVIDERS", "credential"));
        assert_eq!(with(&reserved).expect_err("reserved").var, "MOSAIC_OIDC_PROVIDERS");
        assert!(with(&[]).expect("defaults").oidc.providers.is_empty());
    }
}
