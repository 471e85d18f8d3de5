//! The verifiable credential of a certificate: an Open Badges 3.0 `OpenBadgeCredential` (a W3C
//! Verifiable Credential, data model 2.0) signed as a VC-JWT with EdDSA (Ed25519).
//!
//! VC-JWT form (OB 3.0 §8.2): the credential members sit at the top level of the JWT payload, with
//! the registered claims `iss`, `jti`, `sub`, `nbf` beside them; the JOSE header carries `alg`
//! `EdDSA`, `typ` `vc+jwt` and the key's `kid` (its RFC 7638 thumbprint, published as a JWKS).
//! The holder is named (that is what the certificate attests) and identified by a salted SHA-256
//! of the e-mail address, never the address itself.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use ed25519_dalek::{Signature, Verifier};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::keys::{PublicJwk, Signer};

/// The fixed JOSE header, whose base64url form also marks the credential inside a PDF.
fn header_json(kid: &str) -> String {
    format!(r#"{{"alg":"EdDSA","typ":"vc+jwt","kid":"{kid}"}}"#)
}

/// The base64url prefix every credential we sign starts with (`{"alg":"EdDSA","typ":"vc+jwt",`),
/// used to find the credential attached to a PDF.
pub fn jwt_prefix() -> String {
    // 30 bytes encode to exactly 40 characters with no dependency on what follows.
    URL_SAFE_NO_PAD.encode(&br#"{"alg":"EdDSA","typ":"vc+jwt","kid":""#[..30])
}

/// What a credential states about one award.
#[derive(Debug, Clone)]
pub struct CredentialClaims {
    /// The certificate's own identifier (`urn:uuid:…`).
    pub credential_id: String,
    /// Certificate number.
    pub number: String,
    /// Public verification URL.
    pub verification_url: String,
    /// Base URL of the organisation (issuer id).
    pub issuer_url: String,
    /// Issuer name (the certifier).
    pub issuer_name: String,
    /// Holder's full name.
    pub holder_name: String,
    /// Holder's e-mail, hashed with `salt` into the identifier.
    pub holder_email: String,
    /// Salt of the hashed e-mail.
    pub salt: String,
    /// Registry code (`RS5142`).
    pub registry_code: String,
    /// Registry (`RS`).
    pub registry: String,
    /// Certification title.
    pub certification_title: String,
    /// Evaluation modalities (criteria narrative).
    pub criteria: String,
    /// Award date.
    pub awarded_on: NaiveDate,
    /// Units validated: number and title.
    pub units: Vec<(i32, String)>,
}

/// Builds the OpenBadgeCredential payload (with the JWT registered claims).
pub fn build_payload(claims: &CredentialClaims) -> Value {
    let achievement_id = format!("{}/achievements/{}", claims.issuer_url, claims.registry_code.to_lowercase());
    let unit_uri = |n: i32| format!("{achievement_id}#unite-{n}");
    let identity_hash = {
        let digest = Sha256::digest(format!("{}{}", claims.holder_email.to_lowercase(), claims.salt).as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256${hex}")
    };
    let valid_from = format!("{}T00:00:00Z", claims.awarded_on.format("%Y-%m-%d"));
    let nbf = claims.awarded_on.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp()).unwrap_or(0);
    let registry_url = if claims.registry == "RS" {
        format!("https://www.francecompetences.fr/recherche/rs/{}/", claims.registry_code.trim_start_matches("RS"))
    } else {
        format!("https://www.francecompetences.fr/recherche/rncp/{}/", claims.registry_code.trim_start_matches("RNCP"))
    };
    json!({
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        ],
        "id": claims.credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": format!("{} ({})", claims.certification_title, claims.registry_code),
        "description": format!("Certificat n° {} — vérification : {}", claims.number, claims.verification_url),
        "issuer": { "id": claims.issuer_url, "type": ["Profile"], "name": claims.issuer_name },
        "validFrom": valid_from,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                { "type": "IdentityObject", "identityType": "name", "hashed": false, "identityHash": claims.holder_name },
                { "type": "IdentityObject", "identityType": "emailAddress", "hashed": true,
                  "identityHash": identity_hash, "salt": claims.salt }
            ],
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": claims.certification_title,
                "humanCode": claims.registry_code,
                "description": format!("Certification « {} » enregistrée au répertoire {} sous le n° {}.",
                    claims.certification_title, claims.registry, claims.registry_code),
                "criteria": { "narrative": claims.criteria },
                "alignment": [{ "type": ["Alignment"], "targetName": claims.registry_code, "targetUrl": registry_url,
                                "targetType": "ext:FranceCompetences" }],
                "resultDescription": claims.units.iter().map(|(n, title)| json!({
                    "id": unit_uri(*n), "type": ["ResultDescription"], "name": unit_name(*n, title),
                    "resultType": "Status"
                })).collect::<Vec<_>>()
            },
            "result": claims.units.iter().map(|(n, _)| json!({
                "type": ["Result"], "resultDescription": unit_uri(*n), "status": "Completed"
            })).collect::<Vec<_>>()
        },
        "iss": claims.issuer_url,
        "jti": claims.credential_id,
        "sub": identity_hash,
        "nbf": nbf,
    })
}

/// Signs a payload as a compact JWS (`header.payload.signature`).
pub fn sign(signer: &Signer, payload: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(header_json(&signer.jwk().kid).as_bytes());
    let body = URL_SAFE_NO_PAD.encode(payload.to_string().as_bytes());
    let signing_input = format!("{header}.{body}");
    let signature = URL_SAFE_NO_PAD.encode(signer.sign(signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
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
    /// Well-formed JSON, but not the content of a certificate we issue (a member is missing or
    /// has the wrong shape).
    #[error("contenu du certificat illisible : {0}")]
    Unreadable(String),
}

/// What a certificate states, read back from a credential payload through typed fields. A member
/// that is missing or malformed is refused ([`CredentialProblem::Unreadable`]), never replaced by
/// a blank or a default date.
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

/// The members of the payload a certificate is read back from (others are ignored).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayloadShape {
    description: String,
    valid_from: String,
    issuer: IssuerShape,
    credential_subject: SubjectShape,
}

#[derive(Deserialize)]
struct IssuerShape {
    name: String,
}

#[derive(Deserialize)]
struct SubjectShape {
    identifier: Vec<IdentifierShape>,
    achievement: AchievementShape,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentifierShape {
    identity_type: String,
    identity_hash: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AchievementShape {
    name: String,
    human_code: String,
    result_description: Vec<ResultShape>,
}

#[derive(Deserialize)]
struct ResultShape {
    name: String,
}

/// Reads a payload built by [`build_payload`] back into what it states.
pub fn read_content(payload: &Value) -> Result<CredentialContent, CredentialProblem> {
    let unreadable = |what: &str| CredentialProblem::Unreadable(what.to_owned());
    let shape = PayloadShape::deserialize(payload).map_err(|e| CredentialProblem::Unreadable(e.to_string()))?;
    let holder_name = shape
        .credential_subject
        .identifier
        .into_iter()
        .find(|i| i.identity_type == "name")
        .map(|i| i.identity_hash)
        .ok_or_else(|| unreadable("nom du titulaire absent"))?;
    let units = shape
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
    let awarded_on = shape
        .valid_from
        .get(..10)
        .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .ok_or_else(|| unreadable("date d'obtention illisible"))?;
    let verification_url = shape
        .description
        .rsplit(' ')
        .next()
        .filter(|url| url.contains("/verify/"))
        .ok_or_else(|| unreadable("adresse de vérification absente"))?
        .to_owned();
    Ok(CredentialContent {
        holder_name,
        certification_title: shape.credential_subject.achievement.name,
        registry_code: shape.credential_subject.achievement.human_code,
        certifier: shape.issuer.name,
        awarded_on,
        units,
        verification_url,
    })
}

/// Decodes a credential's payload WITHOUT checking its signature (for a copy read from our own
/// register, or to name the code a forged credential claims).
pub fn unverified_payload(jwt: &str) -> Result<Value, CredentialProblem> {
    let body = jwt.trim().split('.').nth(1).ok_or(CredentialProblem::Malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| CredentialProblem::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| CredentialProblem::Malformed)
}

/// Checks a compact JWS against the organisation's public key; returns the payload if valid.
pub fn verify(jwt: &str, key: &PublicJwk) -> Result<Value, CredentialProblem> {
    let mut parts = jwt.trim().split('.');
    let (Some(header), Some(body), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CredentialProblem::Malformed);
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| CredentialProblem::Malformed)?;
    let header_value: Value = serde_json::from_slice(&header_bytes).map_err(|_| CredentialProblem::Malformed)?;
    if header_value["alg"] != "EdDSA" || header_value["kid"] != key.kid.as_str() {
        return Err(CredentialProblem::WrongKey);
    }
    let verifying = key.verifying_key().map_err(|_| CredentialProblem::WrongKey)?;
    let signature_bytes = URL_SAFE_NO_PAD.decode(signature).map_err(|_| CredentialProblem::Malformed)?;
    let signature_bytes: [u8; 64] = signature_bytes.try_into().map_err(|_| CredentialProblem::Malformed)?;
    let signature = Signature::from_bytes(&signature_bytes);
    verifying.verify(format!("{header}.{body}").as_bytes(), &signature).map_err(|_| CredentialProblem::BadSignature)?;
    let body_bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| CredentialProblem::Malformed)?;
    serde_json::from_slice(&body_bytes).map_err(|_| CredentialProblem::Malformed)
}

/// Finds the credential attached to a PDF made by [`crate::documents::certificate`] (stored
/// uncompressed), by its fixed header prefix.
pub fn extract_from_pdf(pdf: &[u8]) -> Option<String> {
    let prefix = jwt_prefix();
    let start = pdf.windows(prefix.len()).position(|w| w == prefix.as_bytes())?;
    let end = pdf[start..]
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' || *b == b'.'))
        .map(|n| start + n)
        .unwrap_or(pdf.len());
    std::str::from_utf8(&pdf[start..end]).ok().map(str::to_owned)
}

/// The verification code carried in a credential's `id`/`description` (`…/verify/CODE`).
pub fn verification_code_of(payload: &Value) -> Option<String> {
    let description = payload["description"].as_str()?;
    let url = description.rsplit(' ').next()?;
    url.rsplit_once("/verify/").map(|(_, code)| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> CredentialClaims {
        CredentialClaims {
            credential_id: "urn:uuid:0192".into(),
            number: "RS5142-2026-0001".into(),
            verification_url: "http://127.0.0.1:8080/verify/abc".into(),
            issuer_url: "http://127.0.0.1:8080".into(),
            issuer_name: "La Coopérative des Tiers-Lieux".into(),
            holder_name: "Léa Dubois".into(),
            holder_email: "lea@example.org".into(),
            salt: "s".into(),
            registry_code: "RS5142".into(),
            registry: "RS".into(),
            certification_title: "Piloter un tiers-lieu".into(),
            criteria: "Jury".into(),
            awarded_on: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_default(),
            units: vec![(1, "Élaborer".into()), (2, "Structurer".into())],
        }
    }

    #[test]
    fn a_signed_credential_verifies_and_a_tampered_one_does_not() {
        let signer = Signer::ephemeral();
        let payload = build_payload(&claims());
        let jwt = sign(&signer, &payload);
        assert!(jwt.starts_with(&jwt_prefix()));
        let verified = verify(&jwt, signer.jwk());
        assert_eq!(verified.as_ref().ok(), Some(&payload));
        assert_eq!(verified.ok().and_then(|p| verification_code_of(&p)).as_deref(), Some("abc"));
        assert!(!jwt.contains("lea@example.org") && !payload.to_string().contains("lea@example.org"));

        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        let forged = payload.to_string().replace("Léa Dubois", "Mallory");
        parts[1] = URL_SAFE_NO_PAD.encode(forged.as_bytes());
        assert_eq!(verify(&parts.join("."), signer.jwk()), Err(CredentialProblem::BadSignature));
        assert_eq!(verify(&jwt, Signer::ephemeral().jwk()), Err(CredentialProblem::WrongKey));
        assert_eq!(verify("a.b", signer.jwk()), Err(CredentialProblem::Malformed));
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
        no_date["validFrom"] = json!("demain");
        assert!(matches!(read_content(&no_date), Err(CredentialProblem::Unreadable(_))));
        let mut no_subject = payload.clone();
        no_subject["credentialSubject"] = Value::Null;
        assert!(matches!(read_content(&no_subject), Err(CredentialProblem::Unreadable(_))));
        let mut bad_unit = payload;
        bad_unit["credentialSubject"]["achievement"]["resultDescription"][0]["name"] = json!("Bloc A");
        assert!(matches!(read_content(&bad_unit), Err(CredentialProblem::Unreadable(_))));
        assert_eq!(unverified_payload("pas un jeton"), Err(CredentialProblem::Malformed));
    }
}
