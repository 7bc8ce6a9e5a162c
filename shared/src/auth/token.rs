//! JWT verification (HS256 for local use, RS256 from a PEM key or a JWKS file
//! in production) and, for local development and tests, minting.

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{AuthError, Permission, Role, permissions_of};
use crate::ids::TenantId;

/// The HS256 secret the local set-up signs and verifies with. For local
/// development and tests only: production configures its own keys.
pub const LOCAL_DEV_HS256_SECRET: &str = "otc-local-development-only-hs256-secret-0001";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    #[serde(default = "default_issuer")]
    pub issuer: String,
    #[serde(default = "default_audience")]
    pub audience: String,
    pub hs256_secret: Option<SecretString>,
    pub rs256_public_key_file: Option<PathBuf>,
    pub jwks_file: Option<PathBuf>,
    #[serde(default = "default_leeway_seconds")]
    pub leeway_seconds: u64,
    /// Tenants this deployment serves; empty means any.
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
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

impl AuthSettings {
    pub fn validate(&self) -> Result<(), AuthError> {
        let sources = [
            self.hs256_secret.is_some(),
            self.rs256_public_key_file.is_some(),
            self.jwks_file.is_some(),
        ];
        if sources.iter().filter(|set| **set).count() != 1 {
            return Err(AuthError::Configuration(
                "set exactly one of auth.hs256_secret (OTC_AUTH__HS256_SECRET), auth.rs256_public_key_file, auth.jwks_file"
                    .to_owned(),
            ));
        }
        if let Some(secret) = &self.hs256_secret
            && secret.expose_secret().len() < 32
        {
            return Err(AuthError::Configuration(
                "auth.hs256_secret (OTC_AUTH__HS256_SECRET) must be at least 32 bytes".to_owned(),
            ));
        }
        for tenant in &self.allowed_tenants {
            TenantId::parse(tenant).map_err(|error| {
                AuthError::Configuration(format!("auth.allowed_tenants: {error}"))
            })?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
    pub tenant: String,
    pub roles: Vec<String>,
}

/// Who is calling: established by the interceptor from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub subject: String,
    pub roles: Vec<Role>,
}

impl Principal {
    pub fn has(&self, permission: Permission) -> bool {
        self.roles
            .iter()
            .any(|role| permissions_of(*role).contains(&permission))
    }

    pub fn require(&self, permission: Permission) -> Result<(), AuthError> {
        if self.has(permission) {
            return Ok(());
        }
        let roles: Vec<&str> = self.roles.iter().map(|role| role.as_str()).collect();
        Err(AuthError::PermissionDenied {
            permission: permission.name(),
            roles: roles.join(", "),
        })
    }
}

enum Keys {
    Single(DecodingKey),
    Set(JwkSet),
}

pub struct TokenVerifier {
    keys: Keys,
    validation: Validation,
    allowed_tenants: Vec<TenantId>,
}

impl TokenVerifier {
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, AuthError> {
        settings.validate()?;
        let (keys, algorithm) = if let Some(secret) = &settings.hs256_secret {
            (
                Keys::Single(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
                Algorithm::HS256,
            )
        } else if let Some(path) = &settings.rs256_public_key_file {
            let pem = std::fs::read(path).map_err(|error| {
                AuthError::Configuration(format!(
                    "auth.rs256_public_key_file {}: {error}",
                    path.display()
                ))
            })?;
            let key = DecodingKey::from_rsa_pem(&pem).map_err(|error| {
                AuthError::Configuration(format!(
                    "auth.rs256_public_key_file {}: {error}",
                    path.display()
                ))
            })?;
            (Keys::Single(key), Algorithm::RS256)
        } else if let Some(path) = &settings.jwks_file {
            let text = std::fs::read_to_string(path).map_err(|error| {
                AuthError::Configuration(format!("auth.jwks_file {}: {error}", path.display()))
            })?;
            let set: JwkSet = serde_json::from_str(&text).map_err(|error| {
                AuthError::Configuration(format!("auth.jwks_file {}: {error}", path.display()))
            })?;
            (Keys::Set(set), Algorithm::RS256)
        } else {
            return Err(AuthError::Configuration("no key configured".to_owned()));
        };
        // The algorithm is pinned by configuration, never taken from the token.
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_audience(&[settings.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = settings.leeway_seconds;
        let allowed_tenants = settings
            .allowed_tenants
            .iter()
            .map(|tenant| {
                TenantId::parse(tenant).map_err(|error| AuthError::Configuration(error.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            keys,
            validation,
            allowed_tenants,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let key = match &self.keys {
            Keys::Single(key) => key.clone(),
            Keys::Set(set) => {
                let header = decode_header(token)
                    .map_err(|error| AuthError::InvalidToken(error.to_string()))?;
                let kid = header.kid.ok_or_else(|| {
                    AuthError::InvalidToken("token header has no `kid`".to_owned())
                })?;
                let jwk = set.find(&kid).ok_or_else(|| {
                    AuthError::InvalidToken(format!("no key `{kid}` in the key set"))
                })?;
                DecodingKey::from_jwk(jwk)
                    .map_err(|error| AuthError::InvalidToken(error.to_string()))?
            }
        };
        let data = decode::<Claims>(token, &key, &self.validation).map_err(|error| match error
            .kind()
        {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidAudience => AuthError::InvalidToken("wrong audience".to_owned()),
            ErrorKind::InvalidIssuer => AuthError::InvalidToken("wrong issuer".to_owned()),
            ErrorKind::InvalidSignature => AuthError::InvalidToken("bad signature".to_owned()),
            ErrorKind::InvalidAlgorithm => {
                AuthError::InvalidToken("algorithm not accepted".to_owned())
            }
            _ => AuthError::InvalidToken(error.to_string()),
        })?;
        let claims = data.claims;
        let tenant = TenantId::parse(&claims.tenant)
            .map_err(|error| AuthError::InvalidToken(error.to_string()))?;
        if !self.allowed_tenants.is_empty() && !self.allowed_tenants.contains(&tenant) {
            return Err(AuthError::TenantNotAllowed(tenant.to_string()));
        }
        let mut roles = Vec::new();
        for role in &claims.roles {
            match role.parse::<Role>() {
                Ok(role) => roles.push(role),
                Err(_) => tracing::debug!(role, "ignoring unknown role in token"),
            }
        }
        if roles.is_empty() {
            return Err(AuthError::InvalidToken(
                "token carries no known role".to_owned(),
            ));
        }
        Ok(Principal {
            tenant,
            subject: claims.sub,
            roles,
        })
    }
}

/// Mints HS256 tokens: for local development (`otc-dev-token`) and tests.
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

    /// Signs arbitrary claims (tests use it for expired or foreign tokens).
    pub fn mint_claims(&self, claims: &Claims) -> Result<String, AuthError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.key)
            .map_err(|error| AuthError::Configuration(format!("cannot sign token: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        AuthSettings {
            issuer: default_issuer(),
            audience: default_audience(),
            hs256_secret: Some(SecretString::from(LOCAL_DEV_HS256_SECRET)),
            rs256_public_key_file: None,
            jwks_file: None,
            leeway_seconds: 0,
            allowed_tenants: Vec::new(),
        }
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new("otc-local", "otc", LOCAL_DEV_HS256_SECRET)
    }

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[test]
    fn a_valid_token_gives_the_principal() {
        let verifier = TokenVerifier::from_settings(&settings()).unwrap();
        let token = issuer()
            .mint(&acme(), "alice", &[Role::ArClerk], Duration::from_secs(60))
            .unwrap();
        let principal = verifier.verify(&token).unwrap();
        assert_eq!(principal.tenant, acme());
        assert_eq!(principal.subject, "alice");
        assert!(principal.has(Permission::InvoicesWrite));
        assert!(matches!(
            principal.require(Permission::WriteOffsApprove),
            Err(AuthError::PermissionDenied {
                permission: "write_offs.approve",
                ..
            })
        ));
    }

    #[test]
    fn bad_tokens_are_refused_with_the_reason() {
        let verifier = TokenVerifier::from_settings(&settings()).unwrap();
        let issuer = issuer();
        let mut expired = issuer.claims(&acme(), "alice", &[Role::ArClerk], Duration::ZERO);
        expired.exp -= 120;
        assert_eq!(
            verifier.verify(&issuer.mint_claims(&expired).unwrap()),
            Err(AuthError::Expired)
        );

        let mut foreign =
            issuer.claims(&acme(), "alice", &[Role::ArClerk], Duration::from_secs(60));
        foreign.aud = "someone-else".to_owned();
        assert_eq!(
            verifier.verify(&issuer.mint_claims(&foreign).unwrap()),
            Err(AuthError::InvalidToken("wrong audience".to_owned()))
        );

        let mut other_issuer =
            issuer.claims(&acme(), "alice", &[Role::ArClerk], Duration::from_secs(60));
        other_issuer.iss = "evil".to_owned();
        assert_eq!(
            verifier.verify(&issuer.mint_claims(&other_issuer).unwrap()),
            Err(AuthError::InvalidToken("wrong issuer".to_owned()))
        );

        let forged = TokenIssuer::new("otc-local", "otc", "another-secret-that-is-32-bytes-long!!")
            .mint(
                &acme(),
                "mallory",
                &[Role::TenantAdmin],
                Duration::from_secs(60),
            )
            .unwrap();
        assert_eq!(
            verifier.verify(&forged),
            Err(AuthError::InvalidToken("bad signature".to_owned()))
        );

        // alg "none": header {"alg":"none"}, no signature.
        let claims = issuer.claims(
            &acme(),
            "mallory",
            &[Role::TenantAdmin],
            Duration::from_secs(60),
        );
        let body = serde_json::to_vec(&claims).unwrap();
        let unsigned = format!(
            "{}.{}.",
            base64_url_safe(br#"{"alg":"none","typ":"JWT"}"#),
            base64_url_safe(&body)
        );
        assert!(matches!(
            verifier.verify(&unsigned),
            Err(AuthError::InvalidToken(_))
        ));

        assert!(matches!(
            verifier.verify("garbage"),
            Err(AuthError::InvalidToken(_))
        ));

        let mut no_roles = issuer.claims(&acme(), "alice", &[], Duration::from_secs(60));
        no_roles.roles = vec!["wizard".to_owned()];
        assert_eq!(
            verifier.verify(&issuer.mint_claims(&no_roles).unwrap()),
            Err(AuthError::InvalidToken(
                "token carries no known role".to_owned()
            ))
        );

        let mut bad_tenant =
            issuer.claims(&acme(), "alice", &[Role::ArClerk], Duration::from_secs(60));
        bad_tenant.tenant = "ACME Inc".to_owned();
        assert!(matches!(
            verifier.verify(&issuer.mint_claims(&bad_tenant).unwrap()),
            Err(AuthError::InvalidToken(_))
        ));
    }

    fn base64_url_safe(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut text = String::new();
        for chunk in bytes.chunks(3) {
            let bits = chunk.iter().fold(0u32, |accumulator, byte| {
                (accumulator << 8) | u32::from(*byte)
            }) << (8 * (3 - chunk.len()));
            for index in 0..=chunk.len() {
                let sextet = (bits >> (18 - 6 * index)) & 0x3F;
                text.push(char::from(ALPHABET[usize::try_from(sextet).unwrap()]));
            }
        }
        text
    }

    #[test]
    fn tenants_outside_the_allowed_list_are_refused() {
        let mut restricted = settings();
        restricted.allowed_tenants = vec!["globex".to_owned()];
        let verifier = TokenVerifier::from_settings(&restricted).unwrap();
        let token = issuer()
            .mint(&acme(), "alice", &[Role::ArClerk], Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            verifier.verify(&token),
            Err(AuthError::TenantNotAllowed("acme".to_owned()))
        );
    }

    #[test]
    fn configuration_is_validated() {
        let mut none = settings();
        none.hs256_secret = None;
        assert!(none.validate().is_err());
        let mut short = settings();
        short.hs256_secret = Some(SecretString::from("short"));
        let error = short.validate().unwrap_err().to_string();
        assert!(error.contains("OTC_AUTH__HS256_SECRET"), "{error}");
    }

    fn rs256_token(kid: Option<&str>) -> String {
        let private = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/auth/testdata/test-rs256-private.pem"
        ))
        .unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        let claims = issuer().claims(
            &acme(),
            "rsa-user",
            &[Role::Executive],
            Duration::from_secs(60),
        );
        encode(
            &header,
            &claims,
            &EncodingKey::from_rsa_pem(&private).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn rs256_from_a_public_key_file_and_from_a_jwks_file() {
        let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/auth/testdata");
        let mut pem = settings();
        pem.hs256_secret = None;
        pem.rs256_public_key_file = Some(testdata.join("test-rs256-public.pem"));
        let verifier = TokenVerifier::from_settings(&pem).unwrap();
        assert_eq!(
            verifier.verify(&rs256_token(None)).unwrap().subject,
            "rsa-user"
        );
        // An HS256 token signed with anything is refused by an RS256 verifier.
        let hs256 = issuer()
            .mint(&acme(), "alice", &[Role::ArClerk], Duration::from_secs(60))
            .unwrap();
        assert!(matches!(
            verifier.verify(&hs256),
            Err(AuthError::InvalidToken(_))
        ));

        let mut jwks = settings();
        jwks.hs256_secret = None;
        jwks.jwks_file = Some(testdata.join("test-jwks.json"));
        let verifier = TokenVerifier::from_settings(&jwks).unwrap();
        assert_eq!(
            verifier
                .verify(&rs256_token(Some("test-key-1")))
                .unwrap()
                .subject,
            "rsa-user"
        );
        assert_eq!(
            verifier.verify(&rs256_token(Some("rotated-away"))),
            Err(AuthError::InvalidToken(
                "no key `rotated-away` in the key set".to_owned()
            ))
        );
        assert!(matches!(
            verifier.verify(&rs256_token(None)),
            Err(AuthError::InvalidToken(_))
        ));
    }
}
