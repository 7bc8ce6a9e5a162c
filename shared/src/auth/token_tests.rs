//! Unit tests of `token.rs` (kept apart to keep that file readable).

use std::path::PathBuf;

use serde_json::json;

use super::*;

const SECOND_SECRET: &str = "another-secret-that-is-32-bytes-long!!";

fn settings() -> AuthSettings {
    AuthSettings {
        leeway_seconds: 0,
        ..AuthSettings::local_development()
    }
}

fn verifier() -> TokenVerifier {
    TokenVerifier::from_settings(&settings()).unwrap()
}

fn issuer() -> TokenIssuer {
    TokenIssuer::new("otc-local", "otc", LOCAL_DEV_HS256_SECRET)
}

fn acme() -> TenantId {
    TenantId::parse("acme").unwrap()
}

fn minute() -> Duration {
    Duration::from_secs(60)
}

fn claims(roles: &[Role]) -> Claims {
    issuer().claims(&acme(), "alice", roles, minute())
}

fn sign(claims: &Claims) -> String {
    issuer().mint_claims(claims).unwrap()
}

/// Signs any JSON body with the local secret, for claims `Claims` cannot express.
fn sign_json(body: &serde_json::Value) -> String {
    let key = EncodingKey::from_secret(LOCAL_DEV_HS256_SECRET.as_bytes());
    encode(&Header::new(Algorithm::HS256), body, &key).unwrap()
}

fn invalid(reason: &str) -> Result<Principal, AuthError> {
    Err(AuthError::InvalidToken(reason.to_owned()))
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/auth/testdata")
        .join(name)
}

#[test]
fn a_valid_token_gives_tenant_subject_and_roles() {
    let token = issuer()
        .mint(
            &acme(),
            "alice",
            &[Role::ArClerk, Role::Collector],
            minute(),
        )
        .unwrap();
    let principal = verifier().verify(&token).unwrap();
    assert_eq!(
        principal,
        Principal {
            tenant: acme(),
            subject: "alice".to_owned(),
            roles: vec![Role::ArClerk, Role::Collector],
        }
    );
}

#[test]
fn unknown_roles_are_skipped_and_repeated_roles_kept_once() {
    let mut claims = claims(&[]);
    claims.roles = ["wizard", "collector", "collector"]
        .map(str::to_owned)
        .to_vec();
    let principal = verifier().verify(&sign(&claims)).unwrap();
    assert_eq!(principal.roles, vec![Role::Collector]);
}

#[test]
fn missing_or_garbage_tokens_are_malformed() {
    let verifier = verifier();
    for garbage in ["", "garbage", "a.b.c", "...", "eyJ.eyJ.sig"] {
        assert!(
            matches!(verifier.verify(garbage), Err(AuthError::InvalidToken(_))),
            "{garbage:?}"
        );
    }
}

#[test]
fn expiry_is_checked_with_the_configured_leeway() {
    let mut expired = claims(&[Role::ArClerk]);
    expired.exp -= 120;
    let token = sign(&expired);
    assert_eq!(verifier().verify(&token), Err(AuthError::Expired));

    let lenient = TokenVerifier::from_settings(&AuthSettings {
        leeway_seconds: 300,
        ..settings()
    })
    .unwrap();
    assert!(lenient.verify(&token).is_ok());
}

#[test]
fn a_token_not_yet_valid_is_refused() {
    let mut early = claims(&[Role::ArClerk]);
    early.nbf = Some(early.iat + 600);
    assert_eq!(
        verifier().verify(&sign(&early)),
        invalid("token not yet valid")
    );
}

#[test]
fn issuer_audience_and_signature_must_match() {
    let verifier = verifier();
    let mut foreign = claims(&[Role::ArClerk]);
    foreign.aud = "someone-else".to_owned();
    assert_eq!(verifier.verify(&sign(&foreign)), invalid("wrong audience"));

    let mut other_issuer = claims(&[Role::ArClerk]);
    other_issuer.iss = "evil".to_owned();
    assert_eq!(
        verifier.verify(&sign(&other_issuer)),
        invalid("wrong issuer")
    );

    let forged = TokenIssuer::new("otc-local", "otc", SECOND_SECRET)
        .mint(&acme(), "mallory", &[Role::TenantAdmin], minute())
        .unwrap();
    assert_eq!(verifier.verify(&forged), invalid("bad signature"));
}

#[test]
fn an_audience_list_that_includes_ours_is_accepted() {
    let body = json!({
        "iss": "otc-local", "aud": ["crm", "otc"], "sub": "alice",
        "exp": jsonwebtoken::get_current_timestamp() + 60,
        "tenant": "acme", "roles": ["collector"],
    });
    assert_eq!(
        verifier().verify(&sign_json(&body)).unwrap().roles,
        vec![Role::Collector]
    );
}

#[test]
fn only_the_configured_algorithm_is_accepted() {
    let verifier = verifier();
    // `alg: none` with the body of a valid token and no signature.
    let valid = sign(&claims(&[Role::TenantAdmin]));
    let body = valid.split('.').nth(1).unwrap();
    // base64url of {"alg":"none","typ":"JWT"}
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{body}.");
    let refusal = verifier.verify(&unsigned).unwrap_err();
    assert!(matches!(refusal, AuthError::InvalidToken(_)), "{refusal}");

    // HS512 with the right secret is still not HS256.
    let key = EncodingKey::from_secret(LOCAL_DEV_HS256_SECRET.as_bytes());
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims(&[Role::ArClerk]),
        &key,
    )
    .unwrap();
    assert_eq!(verifier.verify(&hs512), invalid("algorithm not accepted"));
}

#[test]
fn claims_we_rely_on_must_be_there_and_sound() {
    let verifier = verifier();
    let mut no_roles = claims(&[]);
    no_roles.roles = vec!["wizard".to_owned()];
    assert_eq!(
        verifier.verify(&sign(&no_roles)),
        invalid("token carries no known role")
    );
    assert_eq!(
        verifier.verify(&sign(&claims(&[]))),
        invalid("token carries no known role")
    );

    let mut bad_tenant = claims(&[Role::ArClerk]);
    bad_tenant.tenant = "ACME Inc".to_owned();
    let refusal = verifier.verify(&sign(&bad_tenant)).unwrap_err();
    assert!(
        matches!(&refusal, AuthError::InvalidToken(reason) if reason.starts_with("tenant claim")),
        "{refusal}"
    );

    let mut nobody = claims(&[Role::ArClerk]);
    nobody.sub = " ".to_owned();
    assert_eq!(verifier.verify(&sign(&nobody)), invalid("empty subject"));

    let no_expiry = json!({
        "iss": "otc-local", "aud": "otc", "sub": "alice", "tenant": "acme", "roles": ["ar_clerk"],
    });
    assert_eq!(
        verifier.verify(&sign_json(&no_expiry)),
        invalid("missing claim `exp`")
    );
}

#[test]
fn tenants_outside_the_allowed_list_are_refused() {
    let restricted = TokenVerifier::from_settings(&AuthSettings {
        allowed_tenants: vec!["globex".to_owned()],
        ..settings()
    })
    .unwrap();
    let acme_token = issuer()
        .mint(&acme(), "alice", &[Role::ArClerk], minute())
        .unwrap();
    assert_eq!(
        restricted.verify(&acme_token),
        Err(AuthError::TenantNotAllowed("acme".to_owned()))
    );
    let globex = TenantId::parse("globex").unwrap();
    let globex_token = issuer()
        .mint(&globex, "gus", &[Role::ArClerk], minute())
        .unwrap();
    assert_eq!(restricted.verify(&globex_token).unwrap().tenant, globex);
}

#[test]
fn settings_deserialize_with_defaults_and_hide_the_secret() {
    let settings: AuthSettings =
        serde_json::from_value(json!({ "hs256_secret": LOCAL_DEV_HS256_SECRET })).unwrap();
    assert_eq!(settings.issuer, "otc-local");
    assert_eq!(settings.audience, "otc");
    assert_eq!(settings.leeway_seconds, 30);
    assert!(settings.allowed_tenants.is_empty());
    settings.validate().unwrap();
    assert!(!format!("{settings:?}").contains(LOCAL_DEV_HS256_SECRET));
    let verifier = TokenVerifier::from_settings(&settings).unwrap();
    assert!(!format!("{verifier:?}").contains(LOCAL_DEV_HS256_SECRET));

    let typo = serde_json::from_value::<AuthSettings>(json!({ "hs256_secert": "x" }));
    assert!(typo.is_err());
}

#[test]
fn settings_errors_name_the_field() {
    let message = |settings: AuthSettings| settings.validate().unwrap_err().to_string();

    let none = message(AuthSettings {
        hs256_secret: None,
        ..settings()
    });
    assert!(none.contains("exactly one"), "{none}");
    let two = message(AuthSettings {
        jwks_file: Some(testdata("test-jwks.json")),
        ..settings()
    });
    assert!(
        two.contains("exactly one") && two.contains("2 are set"),
        "{two}"
    );

    let short = message(AuthSettings {
        hs256_secret: Some(SecretString::from("short")),
        ..settings()
    });
    assert!(short.contains("auth.hs256_secret"), "{short}");
    assert!(short.contains("OTC_AUTH__HS256_SECRET"), "{short}");
    assert!(short.contains("32 bytes"), "{short}");
    assert!(!short.contains("short\""), "{short}");

    let leeway = message(AuthSettings {
        leeway_seconds: 3600,
        ..settings()
    });
    assert!(leeway.contains("auth.leeway_seconds"), "{leeway}");

    let tenants = message(AuthSettings {
        allowed_tenants: vec!["Not A Slug".to_owned()],
        ..settings()
    });
    assert!(tenants.contains("auth.allowed_tenants"), "{tenants}");

    let issuer = message(AuthSettings {
        issuer: String::new(),
        ..settings()
    });
    assert!(issuer.contains("auth.issuer"), "{issuer}");
}

fn rs256_settings() -> AuthSettings {
    AuthSettings {
        hs256_secret: None,
        rs256_public_key_file: Some(testdata("test-rs256-public.pem")),
        ..settings()
    }
}

fn jwks_settings(file: PathBuf) -> AuthSettings {
    AuthSettings {
        hs256_secret: None,
        jwks_file: Some(file),
        ..settings()
    }
}

fn rs256_token(key_id: Option<&str>) -> String {
    let private = std::fs::read(testdata("test-rs256-private.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = key_id.map(str::to_owned);
    let claims = issuer().claims(&acme(), "rsa-user", &[Role::Executive], minute());
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap()
}

#[test]
fn rs256_with_a_public_key_file() {
    let verifier = TokenVerifier::from_settings(&rs256_settings()).unwrap();
    let principal = verifier.verify(&rs256_token(None)).unwrap();
    assert_eq!(principal.subject, "rsa-user");
    assert_eq!(principal.roles, vec![Role::Executive]);

    let hs256 = issuer()
        .mint(&acme(), "alice", &[Role::ArClerk], minute())
        .unwrap();
    assert_eq!(verifier.verify(&hs256), invalid("algorithm not accepted"));

    // Key confusion: HS256 "signed" with the public key as the HMAC secret.
    let public_pem = std::fs::read_to_string(testdata("test-rs256-public.pem")).unwrap();
    let confused = TokenIssuer::new("otc-local", "otc", &public_pem)
        .mint(&acme(), "mallory", &[Role::TenantAdmin], minute())
        .unwrap();
    assert_eq!(
        verifier.verify(&confused),
        invalid("algorithm not accepted")
    );
}

#[test]
fn rs256_with_a_jwks_file_picks_the_key_by_kid() {
    let verifier =
        TokenVerifier::from_settings(&jwks_settings(testdata("test-jwks.json"))).unwrap();
    assert_eq!(
        verifier
            .verify(&rs256_token(Some("test-key-1")))
            .unwrap()
            .subject,
        "rsa-user"
    );
    assert_eq!(
        verifier.verify(&rs256_token(Some("rotated-away"))),
        invalid("no key `rotated-away` in the key set")
    );
    assert_eq!(
        verifier.verify(&rs256_token(None)),
        invalid("token header has no `kid`")
    );
}

#[test]
fn unusable_key_files_are_configuration_errors() {
    let missing = TokenVerifier::from_settings(&jwks_settings(testdata("no-such.json")))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("auth.jwks_file"), "{missing}");

    // A JWKS with only an encryption key has nothing to verify signatures with.
    let file = std::env::temp_dir().join(format!("otc-auth-jwks-{}.json", std::process::id()));
    let mut set: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testdata("test-jwks.json")).unwrap())
            .unwrap();
    set["keys"][0]["use"] = json!("enc");
    std::fs::write(&file, set.to_string()).unwrap();
    let no_signing_key = TokenVerifier::from_settings(&jwks_settings(file.clone()))
        .unwrap_err()
        .to_string();
    std::fs::remove_file(&file).unwrap();
    assert!(
        no_signing_key.contains("no RS256 signing key"),
        "{no_signing_key}"
    );

    let not_rsa = TokenVerifier::from_settings(&AuthSettings {
        rs256_public_key_file: Some(testdata("test-jwks.json")),
        ..rs256_settings()
    })
    .unwrap_err()
    .to_string();
    assert!(not_rsa.contains("auth.rs256_public_key_file"), "{not_rsa}");
}

#[test]
fn service_tokens_beside_rs256_user_tokens_carry_only_the_service_role() {
    const SERVICE_SECRET: &str = "service-to-service-secret-32-bytes-long";
    let verifier = TokenVerifier::from_settings(&AuthSettings {
        service_hs256_secret: Some(SecretString::from(SERVICE_SECRET)),
        ..rs256_settings()
    })
    .unwrap();
    // Users still come in with RS256 tokens.
    assert_eq!(
        verifier.verify(&rs256_token(None)).unwrap().subject,
        "rsa-user"
    );
    let services = TokenIssuer::new("otc-local", "otc", SERVICE_SECRET);
    let service_token = services
        .mint(&acme(), "service:order", &[Role::Service], minute())
        .unwrap();
    let principal = verifier.verify(&service_token).unwrap();
    assert_eq!(principal.roles, [Role::Service]);
    // The service secret cannot mint a person's powers.
    let forged = services
        .mint(
            &acme(),
            "mallory",
            &[Role::Service, Role::CreditManager],
            minute(),
        )
        .unwrap();
    assert!(matches!(
        verifier.verify(&forged),
        Err(AuthError::InvalidToken(_))
    ));
    // Without a service secret, HS256 tokens are refused outright.
    let plain = TokenVerifier::from_settings(&rs256_settings()).unwrap();
    assert!(plain.verify(&service_token).is_err());
    // Another HS256 secret is not the service secret.
    let other = TokenIssuer::new("otc-local", "otc", SECOND_SECRET)
        .mint(&acme(), "service:order", &[Role::Service], minute())
        .unwrap();
    assert!(verifier.verify(&other).is_err());
    // A short service secret is refused at start-up, naming the setting.
    let short = TokenVerifier::from_settings(&AuthSettings {
        service_hs256_secret: Some(SecretString::from("short")),
        ..rs256_settings()
    })
    .unwrap_err();
    assert!(
        short.to_string().contains("auth.service_hs256_secret"),
        "{short}"
    );
}
