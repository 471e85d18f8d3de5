//! The verifiable credential of a certificate: an Open Badges 3.0 `OpenBadgeCredential` (a W3C
//! Verifiable Credential, data model 2.0) signed as a VC-JWT with EdDSA (Ed25519).
//!
//! VC-JWT form (OB 3.0 §8.2): the credential members sit at the top level of the JWT payload, with
//! the registered claims `iss` (= `issuer.id`), `jti` (= `id`), `sub` (= `credentialSubject.id`)
//! and `nbf` beside them. The JOSE header is `alg` `EdDSA`, `typ` `JWT` and a `kid` that is a URI
//! anyone can dereference: the server's JWKS with the key's RFC 7638 thumbprint as fragment.
//! The holder is named (that is what the certificate attests), identified by `urn:uuid:` of their
//! account and by a salted SHA-256 of the e-mail address, never the address itself.
//!
//! The payload is built from typed structs and read back through the same structs: a member that
//! is missing or malformed is refused, never replaced by a default.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate};
use ed25519_dalek::{Signature, Verifier};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::keys::{PublicJwk, Signer};
use super::status_list::StatusListEntry;

/// The JSON-LD contexts of an Open Badges 3.0 credential, in the required order.
pub const OB_CONTEXT: [&str; 2] =
    ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"];

/// The path, under the public base URL, of the issuer's profile (the credential's `issuer.id`).
pub const ISSUER_PATH: &str = "/issuer";
/// The path, under the public base URL, of the published signing keys.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The issuer's id: its profile URL.
pub fn issuer_id(public_url: &str) -> String {
    format!("{public_url}{ISSUER_PATH}")
}

/// The URL of an achievement (`{public_url}/achievements/rs5142`).
pub fn achievement_id(public_url: &str, registry_code: &str) -> String {
    format!("{public_url}/achievements/{}", registry_code.to_lowercase())
}

/// The `kid` of the JOSE header: the JWKS URL, the key's thumbprint as fragment.
pub fn key_id(public_url: &str, thumbprint: &str) -> String {
    format!("{public_url}{JWKS_PATH}#{thumbprint}")
}

/// The JOSE header of every JWT we sign.
#[derive(Debug, Serialize, Deserialize)]
struct JoseHeader {
    alg: String,
    typ: Option<String>,
    kid: String,
}

/// How every header we sign starts: `{"alg":"EdDSA","typ":"JWT","ki` (30 bytes, so that its
/// base64url form does not depend on what follows).
const HEADER_START: &[u8; 30] = br#"{"alg":"EdDSA","typ":"JWT","ki"#;
/// How the headers of credentials issued before `typ` was `JWT` start.
const LEGACY_HEADER_START: &[u8; 30] = br#"{"alg":"EdDSA","typ":"vc+jwt","#;

/// The base64url prefix every credential we sign starts with, used to find the credential
/// attached to a PDF.
pub fn jwt_prefix() -> String {
    URL_SAFE_NO_PAD.encode(HEADER_START)
}

/// The payload's `@context`, `id` and `type`: what every credential we sign starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialFrame {
    /// JSON-LD contexts.
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// The credential's URI (`urn:uuid:…` or a URL).
    pub id: String,
    /// `VerifiableCredential` and the kind of credential.
    #[serde(rename = "type")]
    pub types: Vec<String>,
}

/// The JWT registered claims a VC-JWT carries beside the credential (OB 3.0 §8.2.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtClaims {
    /// = `issuer.id`.
    pub iss: String,
    /// = the credential's `id`.
    pub jti: String,
    /// = `credentialSubject.id` (absent when the subject has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// = `validFrom`, seconds since the epoch.
    pub nbf: i64,
}

/// An issuer `Profile` (as embedded in a credential and as served at its `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The profile's URL.
    pub id: String,
    /// `["Profile"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// The certifier's name.
    pub name: String,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Contact e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// What the issuer is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An `IdentityObject` of the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityObject {
    /// `IdentityObject`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `name` or `emailAddress`.
    pub identity_type: String,
    /// Whether `identity_hash` is hashed.
    pub hashed: bool,
    /// The value, or its `sha256$…` hash.
    pub identity_hash: String,
    /// Salt of the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

/// The criteria of an achievement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criteria {
    /// How it is assessed.
    pub narrative: String,
}

/// An alignment to an external framework (the national register).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alignment {
    /// `["Alignment"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// Registry code.
    pub target_name: String,
    /// The register's page.
    pub target_url: String,
    /// `ext:FranceCompetences`.
    pub target_type: String,
}

/// One unit of the certification, as a possible result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultDescription {
    /// `{achievement}#unite-N`.
    pub id: String,
    /// `["ResultDescription"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// `Unité N — title`.
    pub name: String,
    /// `Status`.
    pub result_type: String,
}

/// The certification as an OB 3.0 `Achievement` (embedded in credentials, served at its `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Achievement {
    /// Its URL.
    pub id: String,
    /// `["Achievement"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// `Certificate`.
    pub achievement_type: String,
    /// Certification title.
    pub name: String,
    /// Registry code (`RS5142`).
    pub human_code: String,
    /// One sentence naming the register.
    pub description: String,
    /// Evaluation modalities.
    pub criteria: Criteria,
    /// The national register entry.
    pub alignment: Vec<Alignment>,
    /// The units.
    pub result_description: Vec<ResultDescription>,
}

/// One unit obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementResult {
    /// `["Result"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// The unit's `ResultDescription` id.
    pub result_description: String,
    /// `Completed`.
    pub status: String,
}

/// The holder and what they achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementSubject {
    /// `urn:uuid:` of the holder's account (absent from credentials issued before it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `["AchievementSubject"]`.
    #[serde(rename = "type")]
    pub types: Vec<String>,
    /// Name (plain) and e-mail (hashed).
    pub identifier: Vec<IdentityObject>,
    /// The certification.
    pub achievement: Achievement,
    /// The units obtained.
    pub result: Vec<AchievementResult>,
}

/// The `OpenBadgeCredential` members of a certificate's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenBadgeCredential {
    /// `@context`, `id`, `type`.
    #[serde(flatten)]
    pub frame: CredentialFrame,
    /// `Title (RS5142)`.
    pub name: String,
    /// Number and verification URL.
    pub description: String,
    /// The certifier.
    pub issuer: Profile,
    /// Award date, `YYYY-MM-DDT00:00:00Z`.
    pub valid_from: String,
    /// Holder and achievement.
    pub credential_subject: AchievementSubject,
    /// Where its revocation is published (absent from credentials issued before it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_status: Option<StatusListEntry>,
}

/// A VC-JWT payload: a credential with the JWT registered claims beside its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtPayload<T> {
    /// The credential's members.
    #[serde(flatten)]
    pub credential: T,
    /// The registered claims.
    #[serde(flatten)]
    pub claims: JwtClaims,
}

/// The payload of a certificate's credential.
pub type CertificatePayload = JwtPayload<OpenBadgeCredential>;

/// A JSON-LD document: a node with its `@context` (how the profile and the achievement are served).
#[derive(Debug, Clone, Serialize)]
pub struct JsonLd<T> {
    /// The OB 3.0 contexts.
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// The node.
    #[serde(flatten)]
    pub node: T,
}

impl<T> JsonLd<T> {
    /// `node` with the Open Badges 3.0 contexts.
    pub fn open_badges(node: T) -> Self {
        JsonLd { context: OB_CONTEXT.iter().map(|c| (*c).to_owned()).collect(), node }
    }
}

/// What the certification's achievement is built from.
#[derive(Debug, Clone)]
pub struct AchievementFacts {
    /// Public base URL.
    pub public_url: String,
    /// Registry (`RS`).
    pub registry: String,
    /// Registry code (`RS5142`).
    pub registry_code: String,
    /// Certification title.
    pub title: String,
    /// Evaluation modalities (criteria narrative).
    pub criteria: String,
    /// Units: number and title.
    pub units: Vec<(i32, String)>,
}

/// The certification as an `Achievement`.
pub fn build_achievement(facts: &AchievementFacts) -> Achievement {
    let id = achievement_id(&facts.public_url, &facts.registry_code);
    let registry_url = if facts.registry == "RS" {
        format!("https://www.francecompetences.fr/recherche/rs/{}/", facts.registry_code.trim_start_matches("RS"))
    } else {
        format!("https://www.francecompetences.fr/recherche/rncp/{}/", facts.registry_code.trim_start_matches("RNCP"))
    };
    Achievement {
        types: vec!["Achievement".into()],
        achievement_type: "Certificate".into(),
        name: facts.title.clone(),
        human_code: facts.registry_code.clone(),
        description: format!(
            "Certification « {} » enregistrée au répertoire {} sous le n° {}.",
            facts.title, facts.registry, facts.registry_code
        ),
        criteria: Criteria { narrative: facts.criteria.clone() },
        alignment: vec![Alignment {
            types: vec!["Alignment".into()],
            target_name: facts.registry_code.clone(),
            target_url: registry_url,
            target_type: "ext:FranceCompetences".into(),
        }],
        result_description: facts
            .units
            .iter()
            .map(|(n, title)| ResultDescription {
                id: unit_uri(&id, *n),
                types: vec!["ResultDescription".into()],
                name: unit_name(*n, title),
                result_type: "Status".into(),
            })
            .collect(),
        id,
    }
}

fn unit_uri(achievement_id: &str, number: i32) -> String {
    format!("{achievement_id}#unite-{number}")
}

/// What a credential states about one award.
#[derive(Debug, Clone)]
pub struct CredentialClaims {
    /// The certificate's own identifier (`urn:uuid:…`).
    pub credential_id: String,
    /// The holder's identifier (`urn:uuid:` of their account).
    pub holder_id: String,
    /// Certificate number.
    pub number: String,
    /// Public verification URL.
    pub verification_url: String,
    /// Issuer name (the certifier).
    pub issuer_name: String,
    /// Holder's full name.
    pub holder_name: String,
    /// Holder's e-mail, hashed with `salt` into the identifier.
    pub holder_email: String,
    /// Salt of the hashed e-mail.
    pub salt: String,
    /// The certification (public URL included) and the units obtained.
    pub achievement: AchievementFacts,
    /// Award date.
    pub awarded_on: NaiveDate,
    /// Where the certificate's revocation will be published.
    pub status: Option<StatusListEntry>,
}

/// Builds the certificate's payload (the credential with the JWT registered claims).
pub fn build_payload(claims: &CredentialClaims) -> CertificatePayload {
    let achievement = build_achievement(&claims.achievement);
    let public_url = &claims.achievement.public_url;
    let identity_hash = {
        let digest = Sha256::digest(format!("{}{}", claims.holder_email.to_lowercase(), claims.salt).as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256${hex}")
    };
    let valid_from = claims.awarded_on.and_time(chrono::NaiveTime::MIN).and_utc();
    let result = claims
        .achievement
        .units
        .iter()
        .map(|(n, _)| AchievementResult {
            types: vec!["Result".into()],
            result_description: unit_uri(&achievement.id, *n),
            status: "Completed".into(),
        })
        .collect();
    let credential = OpenBadgeCredential {
        frame: CredentialFrame {
            context: OB_CONTEXT.iter().map(|c| (*c).to_owned()).collect(),
            id: claims.credential_id.clone(),
            types: vec!["VerifiableCredential".into(), "OpenBadgeCredential".into()],
        },
        name: format!("{} ({})", claims.achievement.title, claims.achievement.registry_code),
        description: format!("Certificat n° {} — vérification : {}", claims.number, claims.verification_url),
        issuer: Profile {
            id: issuer_id(public_url),
            types: vec!["Profile".into()],
            name: claims.issuer_name.clone(),
            url: None,
            email: None,
            description: None,
        },
        valid_from: valid_from.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        credential_subject: AchievementSubject {
            id: Some(claims.holder_id.clone()),
            types: vec!["AchievementSubject".into()],
            identifier: vec![
                IdentityObject {
                    kind: "IdentityObject".into(),
                    identity_type: "name".into(),
                    hashed: false,
                    identity_hash: claims.holder_name.clone(),
                    salt: None,
                },
                IdentityObject {
                    kind: "IdentityObject".into(),
                    identity_type: "emailAddress".into(),
                    hashed: true,
                    identity_hash,
                    salt: Some(claims.salt.clone()),
                },
            ],
            achievement,
            result,
        },
        credential_status: claims.status.clone(),
    };
    JwtPayload {
        claims: JwtClaims {
            iss: credential.issuer.id.clone(),
            jti: credential.frame.id.clone(),
            sub: credential.credential_subject.id.clone(),
            nbf: valid_from.timestamp(),
        },
        credential,
    }
}

/// Signs a payload as a compact JWS (`header.payload.signature`), naming the key by its URL.
pub fn sign<T: Serialize>(signer: &Signer, public_url: &str, payload: &T) -> Result<String, CredentialProblem> {
    let header =
        JoseHeader { alg: "EdDSA".into(), typ: Some("JWT".into()), kid: key_id(public_url, &signer.jwk().kid) };
    let header = serde_json::to_vec(&header).map_err(|e| CredentialProblem::Unreadable(e.to_string()))?;
    let body = serde_json::to_vec(payload).map_err(|e| CredentialProblem::Unreadable(e.to_string()))?;
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(body));
    let signature = URL_SAFE_NO_PAD.encode(signer.sign(signing_input.as_bytes()));
    Ok(format!("{signing_input}.{signature}"))
}

/// Why a credential does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialProblem {
    /// Not three base64url parts, or not JSON.
    #[error("jeton malformé")]
    Malformed,
    /// Not EdDSA, or signed by another key.
    #[error("clé ou algorithme inattendu")]
    WrongKey,
    /// The signature does not match the content.
    #[error("signature invalide : le contenu a été modifié ou n'a pas été signé par l'organisme")]
    BadSignature,
    /// Well-formed JSON, but not the content of a credential we issue (a member is missing, has
    /// the wrong shape, or the JWT claims contradict the credential).
    #[error("contenu du certificat illisible : {0}")]
    Unreadable(String),
}

/// What a certificate states, read back from a credential payload through typed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialContent {
    /// Holder's full name.
    pub holder_name: String,
    /// Certification title.
    pub certification_title: String,
    /// Registry code (`RS5142`).
    pub registry_code: String,
    /// Certifier (the issuer's name).
    pub certifier: String,
    /// Award date.
    pub awarded_on: NaiveDate,
    /// Units validated: number and title.
    pub units: Vec<(i32, String)>,
    /// Public verification URL.
    pub verification_url: String,
    /// Where the revocation is published, for credentials that say.
    pub status: Option<StatusListEntry>,
}

impl CredentialContent {
    /// The units as printed and listed (`Unité N — title`).
    pub fn unit_names(&self) -> Vec<String> {
        self.units.iter().map(|(n, title)| unit_name(*n, title)).collect()
    }

    /// The verification code at the end of the verification URL.
    pub fn verification_code(&self) -> Option<&str> {
        self.verification_url.rsplit_once("/verify/").map(|(_, code)| code)
    }
}

fn unit_name(number: i32, title: &str) -> String {
    format!("Unité {number} — {title}")
}

/// Reads a certificate's payload back into what it states; refuses a payload whose JWT claims
/// contradict its members, or whose members do not parse.
pub fn read_content(payload: &CertificatePayload) -> Result<CredentialContent, CredentialProblem> {
    let unreadable = |what: &str| CredentialProblem::Unreadable(what.to_owned());
    let credential = &payload.credential;
    let claims = &payload.claims;
    if claims.iss != credential.issuer.id
        || claims.jti != credential.frame.id
        || claims.sub != credential.credential_subject.id
    {
        return Err(unreadable("les champs iss, jti ou sub ne correspondent pas au certificat"));
    }
    let holder_name = credential
        .credential_subject
        .identifier
        .iter()
        .find(|i| i.identity_type == "name" && !i.hashed)
        .map(|i| i.identity_hash.clone())
        .ok_or_else(|| unreadable("nom du titulaire absent"))?;
    let units = credential
        .credential_subject
        .achievement
        .result_description
        .iter()
        .map(|r| {
            let (head, title) = r.name.split_once(" — ").ok_or_else(|| unreadable("unité sans titre"))?;
            let number = head
                .strip_prefix("Unité ")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| unreadable("numéro d'unité illisible"))?;
            Ok((number, title.to_owned()))
        })
        .collect::<Result<Vec<_>, CredentialProblem>>()?;
    let awarded_on = DateTime::parse_from_rfc3339(&credential.valid_from)
        .map(|at| at.date_naive())
        .map_err(|_| unreadable("date d'obtention illisible"))?;
    let verification_url = credential
        .description
        .rsplit(' ')
        .next()
        .filter(|url| url.contains("/verify/"))
        .ok_or_else(|| unreadable("adresse de vérification absente"))?
        .to_owned();
    Ok(CredentialContent {
        holder_name,
        certification_title: credential.credential_subject.achievement.name.clone(),
        registry_code: credential.credential_subject.achievement.human_code.clone(),
        certifier: credential.issuer.name.clone(),
        awarded_on,
        units,
        verification_url,
        status: credential.credential_status.clone(),
    })
}

fn decode_json<T: DeserializeOwned>(part: &str) -> Result<T, CredentialProblem> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| CredentialProblem::Malformed)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| CredentialProblem::Malformed)?;
    T::deserialize(value).map_err(|e| CredentialProblem::Unreadable(e.to_string()))
}

/// Decodes a JWT's payload WITHOUT checking its signature (for a copy read from our own register,
/// or to name the code a forged credential claims).
pub fn unverified_payload<T: DeserializeOwned>(jwt: &str) -> Result<T, CredentialProblem> {
    let body = jwt.trim().split('.').nth(1).ok_or(CredentialProblem::Malformed)?;
    decode_json(body)
}

/// Checks a compact JWS against the organisation's public key; returns the typed payload if valid.
pub fn verify<T: DeserializeOwned>(jwt: &str, key: &PublicJwk) -> Result<T, CredentialProblem> {
    let mut parts = jwt.trim().split('.');
    let (Some(header), Some(body), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CredentialProblem::Malformed);
    };
    let header_fields: JoseHeader = decode_json(header).map_err(|_| CredentialProblem::Malformed)?;
    // The kid is the JWKS URL with the thumbprint as fragment (or, before that, the bare thumbprint).
    let thumbprint = header_fields.kid.rsplit_once('#').map_or(header_fields.kid.as_str(), |(_, t)| t);
    if header_fields.alg != "EdDSA" || thumbprint != key.kid {
        return Err(CredentialProblem::WrongKey);
    }
    let verifying = key.verifying_key().map_err(|_| CredentialProblem::WrongKey)?;
    let signature_bytes = URL_SAFE_NO_PAD.decode(signature).map_err(|_| CredentialProblem::Malformed)?;
    let signature_bytes: [u8; 64] = signature_bytes.try_into().map_err(|_| CredentialProblem::Malformed)?;
    let signature = Signature::from_bytes(&signature_bytes);
    verifying.verify(format!("{header}.{body}").as_bytes(), &signature).map_err(|_| CredentialProblem::BadSignature)?;
    decode_json(body)
}

/// Finds the credential attached to a PDF made by [`crate::documents::certificate`] (stored
/// uncompressed), by its fixed header prefix (today's or the one of earlier credentials).
pub fn extract_from_pdf(pdf: &[u8]) -> Option<String> {
    [jwt_prefix(), URL_SAFE_NO_PAD.encode(LEGACY_HEADER_START)].iter().find_map(|prefix| {
        let start = pdf.windows(prefix.len()).position(|w| w == prefix.as_bytes())?;
        let end = pdf[start..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' || *b == b'.'))
            .map(|n| start + n)
            .unwrap_or(pdf.len());
        std::str::from_utf8(&pdf[start..end]).ok().map(str::to_owned)
    })
}

/// The verification code carried in a credential's `description` (`…/verify/CODE`).
pub fn verification_code_of(payload: &CertificatePayload) -> Option<String> {
    let url = payload.credential.description.rsplit(' ').next()?;
    url.rsplit_once("/verify/").map(|(_, code)| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims() -> CredentialClaims {
        CredentialClaims {
            credential_id: "urn:uuid:0192".into(),
            holder_id: "urn:uuid:0193".into(),
            number: "RS5142-2026-0001".into(),
            verification_url: "http://127.0.0.1:8080/verify/abc".into(),
            issuer_name: "La Coopérative des Tiers-Lieux".into(),
            holder_name: "Léa Dubois".into(),
            holder_email: "lea@example.org".into(),
            salt: "s".into(),
            achievement: AchievementFacts {
                public_url: "http://127.0.0.1:8080".into(),
                registry: "RS".into(),
                registry_code: "RS5142".into(),
                title: "Piloter un tiers-lieu".into(),
                criteria: "Jury".into(),
                units: vec![(1, "Élaborer".into()), (2, "Structurer".into())],
            },
            awarded_on: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_default(),
            status: None,
        }
    }

    fn signed(signer: &Signer, payload: &CertificatePayload) -> String {
        sign(signer, "http://127.0.0.1:8080", payload).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_signed_credential_verifies_and_a_tampered_one_does_not() {
        let signer = Signer::ephemeral();
        let payload = build_payload(&claims());
        let jwt = signed(&signer, &payload);
        assert!(jwt.starts_with(&jwt_prefix()));
        let verified = verify::<CertificatePayload>(&jwt, signer.jwk());
        assert_eq!(verified.as_ref().ok(), Some(&payload));
        assert_eq!(verified.ok().and_then(|p| verification_code_of(&p)).as_deref(), Some("abc"));
        assert!(!jwt.contains("lea@example.org"));
        assert!(!serde_json::to_string(&payload).unwrap_or_default().contains("lea@example.org"));
        assert_eq!(payload.claims.sub.as_deref(), Some("urn:uuid:0193"));

        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        let forged = serde_json::to_string(&payload).unwrap_or_default().replace("Léa Dubois", "Mallory");
        parts[1] = URL_SAFE_NO_PAD.encode(forged.as_bytes());
        assert_eq!(verify::<CertificatePayload>(&parts.join("."), signer.jwk()), Err(CredentialProblem::BadSignature));
        assert_eq!(verify::<CertificatePayload>(&jwt, Signer::ephemeral().jwk()), Err(CredentialProblem::WrongKey));
        assert_eq!(verify::<CertificatePayload>("a.b", signer.jwk()), Err(CredentialProblem::Malformed));
        let in_pdf = format!("%PDF-1.7 stream\n{jwt}\nendstream");
        assert_eq!(extract_from_pdf(in_pdf.as_bytes()), Some(jwt));
    }

    #[test]
    fn the_content_reads_back_and_a_malformed_one_is_refused() {
        let payload = build_payload(&claims());
        let Ok(content) = read_content(&payload) else { panic!("content of a built payload refused") };
        assert_eq!(content.holder_name, "Léa Dubois");
        assert_eq!(content.awarded_on, NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_default());
        assert_eq!(content.units, vec![(1, "Élaborer".into()), (2, "Structurer".into())]);
        assert_eq!(content.unit_names()[0], "Unité 1 — Élaborer");
        assert_eq!(content.verification_code(), Some("abc"));
        assert_eq!(content.certifier, "La Coopérative des Tiers-Lieux");

        let mut no_date = payload.clone();
        no_date.credential.valid_from = "demain".into();
        assert!(matches!(read_content(&no_date), Err(CredentialProblem::Unreadable(_))));
        let mut other_subject = payload.clone();
        other_subject.claims.sub = Some("urn:uuid:autre".into());
        assert!(matches!(read_content(&other_subject), Err(CredentialProblem::Unreadable(_))));
        let mut bad_unit = payload.clone();
        bad_unit.credential.credential_subject.achievement.result_description[0].name = "Bloc A".into();
        assert!(matches!(read_content(&bad_unit), Err(CredentialProblem::Unreadable(_))));

        let mut no_subject = serde_json::to_value(&payload).unwrap_or_default();
        no_subject["credentialSubject"] = Value::Null;
        assert!(CertificatePayload::deserialize(&no_subject).is_err());
        let mut no_valid_from = serde_json::to_value(&payload).unwrap_or_default();
        no_valid_from.as_object_mut().map(|o| o.remove("validFrom"));
        assert!(CertificatePayload::deserialize(&no_valid_from).is_err());
        let text = URL_SAFE_NO_PAD.encode(json!({"nbf": "x"}).to_string());
        assert!(matches!(
            unverified_payload::<CertificatePayload>(&format!("h.{text}.s")),
            Err(CredentialProblem::Unreadable(_))
        ));
        assert_eq!(unverified_payload::<CertificatePayload>("pas un jeton"), Err(CredentialProblem::Malformed));
    }
}
