//! JWT bearer tokens: verification (HS256 for local use; RS256 from a PEM
//! public key or a JWKS file in production) and, for local development and
//! tests only, HS256 minting.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{AuthError, Principal, Role};
use crate::config::env_variable_for;
use crate::ids::TenantId;

/// The HS256 secret the local set-up signs and verifies with. For local
/// development and tests only: it is public, so any deployment reachable by
/// anyone else must configure its own secret or RS256 keys.
pub const LOCAL_DEV_HS256_SECRET: &str = "otc-local-development-only-hs256-secret-0001";

/// HS256 is only as strong as its secret; RFC 7518 asks for at least the
/// hash size (256 bits).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// More clock skew than this would let expired tokens live on noticeably.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

/// The `auth` section of the service configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// The `iss` every token must carry.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// The `aud` every token must carry (or include).
    #[serde(default = "default_audience")]
    pub audience: String,
    /// Local development: a shared HS256 secret (at least 32 bytes).
    pub hs256_secret: Option<SecretString>,
    /// Production: the identity provider's RS256 public key (PEM).
    pub rs256_public_key_file: Option<PathBuf>,
    /// Production with key rotation: a JWKS file; the token's `kid` picks the key.
    pub jwks_file: Option<PathBuf>,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[serde(default = "default_leeway_seconds")]
    pub leeway_seconds: u64,
    /// Tenants this deployment serves; empty means any.
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    /// A secret the suite's services share to sign the short-lived tokens
    /// they call one another with (HS256, role `service` only). Needed where
    /// user tokens are RS256 from an identity provider; locally the
    /// `hs256_secret` serves for both.
    pub service_hs256_secret: Option<SecretString>,
}

fn default_issuer() -> String {
    "otc-local".to_owned()
}

fn default_audience() -> String {
    "otc".to_owned()
}

fn default_leeway_seconds() -> u64 {
    30
}

/// A configuration error that names the setting and its variable.
fn setting_error(field: &str, reason: impl std::fmt::Display) -> AuthError {
    AuthError::Configuration(format!(
        "auth.{field} (env {}): {reason}",
        env_variable_for(&format!("auth.{field}"))
    ))
}

impl AuthSettings {
    /// Settings for the local set-up: HS256 with [`LOCAL_DEV_HS256_SECRET`].
    pub fn local_development() -> Self {
        Self {
            issuer: default_issuer(),
            audience: default_audience(),
            hs256_secret: Some(SecretString::from(LOCAL_DEV_HS256_SECRET)),
            rs256_public_key_file: None,
            jwks_file: None,
            leeway_seconds: default_leeway_seconds(),
            allowed_tenants: Vec::new(),
            service_hs256_secret: None,
        }
    }

    /// The secret service tokens are signed with, if this deployment has one.
    pub fn service_token_secret(&self) -> Option<&SecretString> {
        self.service_hs256_secret
            .as_ref()
            .or(self.hs256_secret.as_ref())
    }

    pub fn validate(&self) -> Result<(), AuthError> {
        let sources_set = [
            self.hs256_secret.is_some(),
            self.rs256_public_key_file.is_some(),
            self.jwks_file.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count();
        if sources_set != 1 {
            return Err(AuthError::Configuration(format!(
                "set exactly one key source: auth.hs256_secret (env {}), auth.rs256_public_key_file (env {}) or auth.jwks_file (env {}); {sources_set} are set",
                env_variable_for("auth.hs256_secret"),
                env_variable_for("auth.rs256_public_key_file"),
                env_variable_for("auth.jwks_file"),
            )));
        }
        if let Some(secret) = &self.hs256_secret
            && secret.expose_secret().len() < MIN_HS256_SECRET_BYTES
        {
            return Err(setting_error(
                "hs256_secret",
                format_args!("must be at least {MIN_HS256_SECRET_BYTES} bytes"),
            ));
        }
        if let Some(secret) = &self.service_hs256_secret
            && secret.expose_secret().len() < MIN_HS256_SECRET_BYTES
        {
            return Err(setting_error(
                "service_hs256_secret",
                format_args!("must be at least {MIN_HS256_SECRET_BYTES} bytes"),
            ));
        }
        if self.issuer.trim().is_empty() {
            return Err(setting_error("issuer", "must not be empty"));
        }
        if self.audience.trim().is_empty() {
            return Err(setting_error("audience", "must not be empty"));
        }
        if self.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(setting_error(
                "leeway_seconds",
                format_args!("must be at most {MAX_LEEWAY_SECONDS}"),
            ));
        }
        for tenant in &self.allowed_tenants {
            TenantId::parse(tenant).map_err(|error| setting_error("allowed_tenants", error))?;
        }
        Ok(())
    }
}

/// The claims our tokens carry. Registered claims keep their JWT names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Not before, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The tenant slug.
    pub tenant: String,
    /// Role names (see [`Role`]).
    pub roles: Vec<String>,
}

/// What the verifier reads after the library has checked signature, `iss`,
/// `aud`, `exp` and `nbf`. Leaving `aud` to the library lets identity
/// providers send it as an array.
#[derive(Deserialize)]
struct VerifiedClaims {
    sub: String,
    tenant: String,
    #[serde(default)]
    roles: Vec<String>,
}

enum VerificationKeys {
    /// An HS256 secret or an RS256 public key: every token is checked against it.
    Single(DecodingKey),
    /// A JWKS: the token header's `kid` picks the key.
    ByKeyId(HashMap<String, DecodingKey>),
}

/// Checks bearer tokens and turns them into [`Principal`]s.
pub struct TokenVerifier {
    keys: VerificationKeys,
    validation: Validation,
    /// Service-to-service tokens (HS256), when a service secret is set.
    service: Option<(DecodingKey, Validation)>,
    allowed_tenants: Vec<TenantId>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of logs, even public ones: less to reason about.
        formatter
            .debug_struct("TokenVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("allowed_tenants", &self.allowed_tenants)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, AuthError> {
        settings.validate()?;
        let (keys, algorithm) = if let Some(secret) = &settings.hs256_secret {
            let key = DecodingKey::from_secret(secret.expose_secret().as_bytes());
            (VerificationKeys::Single(key), Algorithm::HS256)
        } else if let Some(path) = &settings.rs256_public_key_file {
            let key = load_rsa_public_key(path)?;
            (VerificationKeys::Single(key), Algorithm::RS256)
        } else if let Some(path) = &settings.jwks_file {
            let keys = load_jwks(path)?;
            (VerificationKeys::ByKeyId(keys), Algorithm::RS256)
        } else {
            return Err(AuthError::Configuration("no key source is set".to_owned()));
        };
        // The algorithm comes from configuration, never from the token: this
        // refuses `none` and HS256 tokens "signed" with an RS256 public key.
        let validation_for = |algorithm: Algorithm| {
            let mut validation = Validation::new(algorithm);
            validation.set_issuer(&[settings.issuer.as_str()]);
            validation.set_audience(&[settings.audience.as_str()]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = settings.leeway_seconds;
            validation
        };
        let validation = validation_for(algorithm);
        let service = settings.service_hs256_secret.as_ref().map(|secret| {
            (
                DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                validation_for(Algorithm::HS256),
            )
        });
        let allowed_tenants = settings
            .allowed_tenants
            .iter()
            .map(|tenant| TenantId::parse(tenant).map_err(|e| setting_error("allowed_tenants", e)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            keys,
            validation,
            service,
            allowed_tenants,
        })
    }

    /// The caller a token stands for, or why it is refused. Refusal reasons
    /// never contain key material.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let (claims, service_token) = match self.decode_user_token(token) {
            Ok(claims) => (claims, false),
            Err(user_refusal) => match &self.service {
                Some((key, validation))
                    if decode_header(token).is_ok_and(|header| header.alg == Algorithm::HS256) =>
                {
                    let claims = decode::<VerifiedClaims>(token, key, validation)
                        .map_err(|_| user_refusal)?
                        .claims;
                    (claims, true)
                }
                _ => return Err(user_refusal),
            },
        };
        if claims.sub.trim().is_empty() {
            return Err(AuthError::InvalidToken("empty subject".to_owned()));
        }
        let tenant = TenantId::parse(&claims.tenant)
            .map_err(|error| AuthError::InvalidToken(format!("tenant claim: {error}")))?;
        if !self.allowed_tenants.is_empty() && !self.allowed_tenants.contains(&tenant) {
            return Err(AuthError::TenantNotAllowed(tenant.to_string()));
        }
        let roles = known_roles(&claims);
        if roles.is_empty() {
            return Err(AuthError::InvalidToken(
                "token carries no known role".to_owned(),
            ));
        }
        // The service secret signs calls between services, nothing else.
        if service_token && roles != [Role::Service] {
            return Err(AuthError::InvalidToken(
                "a service token carries only the `service` role".to_owned(),
            ));
        }
        Ok(Principal {
            tenant,
            subject: claims.sub,
            roles,
        })
    }

    fn decode_user_token(&self, token: &str) -> Result<VerifiedClaims, AuthError> {
        let key = self.key_for(token)?;
        Ok(decode::<VerifiedClaims>(token, key, &self.validation)
            .map_err(refusal)?
            .claims)
    }

    fn key_for(&self, token: &str) -> Result<&DecodingKey, AuthError> {
        let keys = match &self.keys {
            VerificationKeys::Single(key) => return Ok(key),
            VerificationKeys::ByKeyId(keys) => keys,
        };
        let header = decode_header(token).map_err(refusal)?;
        let Some(key_id) = header.kid else {
            return Err(AuthError::InvalidToken(
                "token header has no `kid`".to_owned(),
            ));
        };
        keys.get(&key_id)
            .ok_or_else(|| AuthError::InvalidToken(format!("no key `{key_id}` in the key set")))
    }
}

/// Roles we know, once each. Unknown names are skipped rather than refused so
/// an identity provider can carry roles for other systems in the same token.
fn known_roles(claims: &VerifiedClaims) -> Vec<Role> {
    let mut roles: Vec<Role> = Vec::new();
    for name in &claims.roles {
        match name.parse::<Role>() {
            Ok(role) if !roles.contains(&role) => roles.push(role),
            Ok(_) => {}
            Err(_) => {
                tracing::debug!(role = %name, subject = %claims.sub, "ignoring unknown role in token")
            }
        }
    }
    roles
}

/// The caller-facing reason for a library refusal.
fn refusal(error: JwtError) -> AuthError {
    let reason = match error.kind() {
        ErrorKind::ExpiredSignature => return AuthError::Expired,
        ErrorKind::ImmatureSignature => "token not yet valid".to_owned(),
        ErrorKind::InvalidAudience => "wrong audience".to_owned(),
        ErrorKind::InvalidIssuer => "wrong issuer".to_owned(),
        ErrorKind::InvalidSignature => "bad signature".to_owned(),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            "algorithm not accepted".to_owned()
        }
        ErrorKind::MissingRequiredClaim(claim) => format!("missing claim `{claim}`"),
        ErrorKind::InvalidClaimFormat(claim) => format!("malformed claim `{claim}`"),
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            "malformed token".to_owned()
        }
        // Serde's message names the field or value at fault, which is the
        // caller's own data: e.g. `unknown variant "none"` for `alg: none`.
        ErrorKind::Json(error) => format!("malformed token: {error}"),
        _ => format!("token not accepted: {error}"),
    };
    AuthError::InvalidToken(reason)
}

fn load_rsa_public_key(path: &Path) -> Result<DecodingKey, AuthError> {
    let field = "rs256_public_key_file";
    let pem = std::fs::read(path)
        .map_err(|error| setting_error(field, format_args!("{}: {error}", path.display())))?;
    DecodingKey::from_rsa_pem(&pem).map_err(|error| {
        setting_error(
            field,
            format_args!("{}: not an RSA public key: {error}", path.display()),
        )
    })
}

/// The RS256 signing keys of a JWKS file, by `kid`. Keys for other uses or
/// algorithms are skipped: providers publish those in the same set.
fn load_jwks(path: &Path) -> Result<HashMap<String, DecodingKey>, AuthError> {
    let field = "jwks_file";
    let text = std::fs::read_to_string(path)
        .map_err(|error| setting_error(field, format_args!("{}: {error}", path.display())))?;
    let set: JwkSet = serde_json::from_str(&text).map_err(|error| {
        setting_error(
            field,
            format_args!("{}: not a JWKS: {error}", path.display()),
        )
    })?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(key_id) = &jwk.common.key_id else {
            tracing::debug!("skipping a JWKS key without `kid`");
            continue;
        };
        let signs = !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption));
        let rs256 = matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256));
        if !(signs && rs256 && matches!(jwk.algorithm, AlgorithmParameters::RSA(_))) {
            tracing::debug!(kid = %key_id, "skipping a JWKS key that is not an RS256 signing key");
            continue;
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|error| {
            setting_error(
                field,
                format_args!("{}: key `{key_id}`: {error}", path.display()),
            )
        })?;
        keys.insert(key_id.clone(), key);
    }
    if keys.is_empty() {
        return Err(setting_error(
            field,
            format_args!("{}: no RS256 signing key with a `kid`", path.display()),
        ));
    }
    Ok(keys)
}

/// Mints HS256 tokens, for local development (`otcctl token`) and tests.
/// Production tokens come from the identity provider.
pub struct TokenIssuer {
    issuer: String,
    audience: String,
    key: EncodingKey,
}

impl TokenIssuer {
    pub fn new(issuer: &str, audience: &str, secret: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            key: EncodingKey::from_secret(secret.as_bytes()),
        }
    }

    /// The claims [`TokenIssuer::mint`] would sign, valid from now for `ttl`;
    /// tests change them (an `exp` in the past, another `aud`) and sign them
    /// with [`TokenIssuer::mint_claims`].
    pub fn claims(
        &self,
        tenant: &TenantId,
        subject: &str,
        roles: &[Role],
        ttl: Duration,
    ) -> Claims {
        let now = jsonwebtoken::get_current_timestamp();
        Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.to_owned(),
            exp: now.saturating_add(ttl.as_secs()),
            iat: now,
            nbf: None,
            tenant: tenant.to_string(),
            roles: roles.iter().map(|role| role.as_str().to_owned()).collect(),
        }
    }

    pub fn mint(
        &self,
        tenant: &TenantId,
        subject: &str,
        roles: &[Role],
        ttl: Duration,
    ) -> Result<String, AuthError> {
        self.mint_claims(&self.claims(tenant, subject, roles, ttl))
    }

    /// Signs `claims` as they are, whatever they say.
    pub fn mint_claims(&self, claims: &Claims) -> Result<String, AuthError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.key)
            .map_err(|error| AuthError::Signing(error.to_string()))
    }
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
