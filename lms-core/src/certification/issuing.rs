//! Issuing certificates: numbering, verification code, signed credential and PDF, in one
//! transaction per certificate.
//!
//! - Idempotent: a holder gets one certificate per award (training session); issuing again returns
//!   the stored certificate (and rewrites its PDF file if it went missing).
//! - Gapless yearly numbers (`RS5142-2026-0001`): issuers of one certification are serialised on
//!   the certification's row (`SELECT … FOR UPDATE` on PostgreSQL, the database write lock on
//!   SQLite), then the `certificate_counters` row for the award year moves by one in the same
//!   transaction as the certificate row; a refused or failed issue rolls both back, so no number is
//!   ever skipped or given twice, whatever the number of concurrent administrators.
//! - The verification code is 128 random bits (26 base32 characters).
//! - The PDF is rendered from the signed credential's own content, so it can be rebuilt
//!   byte-for-byte and its SHA-256 is stored with the certificate.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::credential::{self, CredentialClaims};
use super::eligibility::{CertifyError, certification_of_session, evaluate};
use super::jury::audit;
use super::keys::Signer;
use crate::db::ids::{CertificateId, TrainingSessionId, UserId};
use crate::db::schema::{certificate_counters, certificates, users};
use crate::db::{self, DbConn, DbError, LockableTable};
use crate::documents::certificate::{CertificateDocument, render_certificate};

/// Environment variable giving the public base URL printed in QR codes and credentials.
pub const PUBLIC_URL_ENV: &str = "LMS_PUBLIC_URL";
/// Default public base URL (the server's default address).
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// The public base URL (`LMS_PUBLIC_URL`, default `http://127.0.0.1:8080`), without trailing `/`.
pub fn public_url_from_env() -> String {
    std::env::var(PUBLIC_URL_ENV)
        .ok()
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_PUBLIC_URL.into())
}

/// Where and as of when certificates are issued.
#[derive(Debug, Clone)]
pub struct IssueOptions {
    /// Public base URL for the verification page.
    pub public_url: String,
    /// Folder receiving the PDFs (`NUMBER.pdf`).
    pub pdf_dir: PathBuf,
    /// Award date (the jury's date or later, inside the validity window, not in the future).
    pub awarded_on: NaiveDate,
    /// Today in Paris.
    pub today: NaiveDate,
}

/// One issued certificate (`lms certify issue --json` item).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IssuedCertificate {
    /// Holder's e-mail.
    pub trainee: String,
    /// Certificate number.
    pub number: String,
    /// Verification code.
    pub code: String,
    /// The signed credential (VC-JWT).
    pub credential: String,
    /// Path of the PDF.
    pub pdf: String,
    /// False when the certificate already existed (idempotent re-issue).
    pub newly_issued: bool,
    /// `valid` or `revoked`.
    pub status: String,
}

fn random_code() -> String {
    let mut bytes = [0_u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the printable document from a verified credential payload.
pub fn document_from_credential(payload: &Value, number: &str, code: &str, jwt: &str) -> CertificateDocument {
    let subject = &payload["credentialSubject"];
    let achievement = &subject["achievement"];
    let holder_name = subject["identifier"]
        .as_array()
        .and_then(|ids| ids.iter().find(|i| i["identityType"] == "name"))
        .and_then(|i| i["identityHash"].as_str())
        .unwrap_or_default()
        .to_owned();
    let units = achievement["resultDescription"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|r| {
                    let name = r["name"].as_str()?;
                    let (head, title) = name.split_once(" — ")?;
                    let number = head.trim_start_matches("Unité ").parse().ok()?;
                    Some((number, title.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    let awarded_on = payload["validFrom"]
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())
        .unwrap_or_default();
    let verification_url =
        payload["description"].as_str().and_then(|d| d.rsplit(' ').next()).unwrap_or_default().to_owned();
    CertificateDocument {
        number: number.to_owned(),
        holder_name,
        certification_title: achievement["name"].as_str().unwrap_or_default().to_owned(),
        registry_code: achievement["humanCode"].as_str().unwrap_or_default().to_owned(),
        certifier: payload["issuer"]["name"].as_str().unwrap_or_default().to_owned(),
        awarded_on,
        units,
        verification_url,
        verification_code: code.to_owned(),
        credential_jwt: jwt.to_owned(),
    }
}

/// Renders the PDF of a stored credential (no signature check: the caller holds a trusted copy).
pub fn render_stored(number: &str, code: &str, jwt: &str) -> Result<Vec<u8>, CertifyError> {
    let payload = decode_payload(jwt).ok_or_else(|| CertifyError::Invalid("certificat stocké illisible".into()))?;
    Ok(render_certificate(&document_from_credential(&payload, number, code, jwt))?)
}

fn decode_payload(jwt: &str) -> Option<Value> {
    use base64::Engine as _;
    let body = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_pdf(dir: &Path, number: &str, bytes: &[u8]) -> Result<PathBuf, CertifyError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CertifyError::Io(format!("impossible de créer {} : {e}", dir.display())))?;
    let path = dir.join(format!("{number}.pdf"));
    let temporary = dir.join(format!(".{number}.pdf.tmp"));
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|e| CertifyError::Io(format!("écriture de {} impossible : {e}", path.display())))?;
    Ok(path)
}

type StoredCertificate = (String, String, String, String);

fn existing_certificate(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    holder: &UserId,
) -> Result<Option<StoredCertificate>, DbError> {
    certificates::table
        .filter(certificates::training_session_id.eq(session))
        .filter(certificates::holder_id.eq(holder))
        .order(certificates::created_at.asc())
        .select((
            certificates::number,
            certificates::verification_code,
            certificates::credential_jwt,
            certificates::status,
        ))
        .first(conn)
        .optional()
        .map_err(DbError::from)
}

enum Issued {
    New { number: String, code: String, jwt: String, pdf: Vec<u8> },
    Existing(StoredCertificate),
}

/// Issues (or returns) the certificate of one candidate. Refused, with every reason, when the
/// candidate is not eligible or the date is outside the certification's validity window.
pub fn issue_certificate(
    conn: &mut DbConn,
    signer: &Signer,
    session: &TrainingSessionId,
    trainee_email: &str,
    options: &IssueOptions,
) -> Result<IssuedCertificate, CertifyError> {
    let email = trainee_email.trim().to_lowercase();
    let issued = db::write_transaction(conn, |conn| -> Result<Issued, CertifyError> {
        let certification = certification_of_session(conn, session)?;
        let trainee = crate::people::user_id_by_email(conn, &email)?
            .ok_or_else(|| CertifyError::UnknownTrainee(email.clone()))?;
        // Serialise issuers of this certification before reading anything they may write.
        db::lock_row_for_update(conn, LockableTable::Certifications, certification.id.as_str())?;
        if let Some(stored) = existing_certificate(conn, session, &trainee)? {
            return Ok(Issued::Existing(stored));
        }
        let eligibility = evaluate(conn, session, Some(&trainee))?;
        let candidate =
            eligibility.candidates.into_iter().next().ok_or_else(|| CertifyError::NotACandidate(email.clone()))?;
        if !candidate.eligible {
            return Err(CertifyError::NotEligible { trainee: email.clone(), reasons: candidate.reasons });
        }
        let (decision_id, decided_on) = candidate
            .admitted_decision
            .clone()
            .ok_or_else(|| CertifyError::NotEligible { trainee: email.clone(), reasons: vec![] })?;
        let awarded_on = options.awarded_on;
        if let Some(from) = certification.valid_from
            && awarded_on < from
        {
            return Err(CertifyError::BadAwardDate(format!(
                "date d'obtention {awarded_on} antérieure à l'enregistrement de {} ({from})",
                certification.code
            )));
        }
        if let Some(until) = certification.valid_until
            && awarded_on > until
        {
            return Err(CertifyError::BadAwardDate(format!(
                "date d'obtention {awarded_on} postérieure à l'échéance de l'enregistrement de {} ({until})",
                certification.code
            )));
        }
        if awarded_on < decided_on {
            return Err(CertifyError::BadAwardDate(format!(
                "date d'obtention {awarded_on} antérieure à la décision du jury ({decided_on})"
            )));
        }
        if awarded_on > options.today {
            return Err(CertifyError::BadAwardDate(format!("date d'obtention {awarded_on} dans le futur")));
        }

        let year = awarded_on.year();
        let last: Option<i64> = certificate_counters::table
            .filter(certificate_counters::certification_id.eq(&certification.id))
            .filter(certificate_counters::year.eq(year))
            .select(certificate_counters::last_seq)
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        let seq = last.unwrap_or(0) + 1;
        if last.is_some() {
            diesel::update(
                certificate_counters::table
                    .filter(certificate_counters::certification_id.eq(&certification.id))
                    .filter(certificate_counters::year.eq(year)),
            )
            .set(certificate_counters::last_seq.eq(seq))
            .execute(conn)
            .map_err(DbError::from)?;
        } else {
            diesel::insert_into(certificate_counters::table)
                .values((
                    certificate_counters::certification_id.eq(&certification.id),
                    certificate_counters::year.eq(year),
                    certificate_counters::last_seq.eq(seq),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
        }
        let number = format!("{}-{year}-{seq:04}", certification.code);
        let code = random_code();
        let id = CertificateId::generate();

        let (email_stored, first_names, birth_name, usage_name): (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = users::table
            .find(&trainee)
            .select((users::email, users::first_names, users::birth_name, users::usage_name))
            .first(conn)
            .map_err(DbError::from)?;
        let family = usage_name.filter(|u| !u.trim().is_empty()).or(birth_name).unwrap_or_default();
        let holder_name = format!("{} {}", first_names.unwrap_or_default().trim(), family.trim().to_uppercase());
        let units: Vec<(i32, String)> = eligibility
            .units
            .iter()
            .filter(|u| candidate.units_validated.contains(&u.number))
            .map(|u| (u.number, u.title.clone()))
            .collect();
        let mut salt_bytes = [0_u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt_bytes);
        let claims = CredentialClaims {
            credential_id: format!("urn:uuid:{id}"),
            number: number.clone(),
            verification_url: format!("{}/verify/{code}", options.public_url),
            issuer_url: options.public_url.clone(),
            issuer_name: certification.certifier.clone(),
            holder_name,
            holder_email: email_stored,
            salt: data_encoding::HEXLOWER.encode(&salt_bytes),
            registry_code: certification.code.clone(),
            registry: certification.registry.clone(),
            certification_title: certification.title.clone(),
            criteria: certification.evaluation_modalities.clone(),
            awarded_on,
            units,
        };
        let payload = credential::build_payload(&claims);
        let jwt = credential::sign(signer, &payload);
        let pdf = render_certificate(&document_from_credential(&payload, &number, &code, &jwt))?;
        diesel::insert_into(certificates::table)
            .values((
                certificates::id.eq(&id),
                certificates::number.eq(&number),
                certificates::certification_id.eq(&certification.id),
                certificates::year.eq(year),
                certificates::seq.eq(seq),
                certificates::holder_id.eq(&trainee),
                certificates::training_session_id.eq(Some(session)),
                certificates::jury_decision_id.eq(&decision_id),
                certificates::awarded_on.eq(awarded_on),
                certificates::verification_code.eq(&code),
                certificates::credential_jwt.eq(&jwt),
                certificates::pdf_sha256.eq(Some(sha256_hex(&pdf))),
                certificates::status.eq("valid"),
                certificates::created_at.eq(db::now()),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        audit(conn, None, "certificate_issued", "certificate", id.as_str(), &number)?;
        Ok(Issued::New { number, code, jwt, pdf })
    })?;
    match issued {
        Issued::New { number, code, jwt, pdf } => {
            let path = write_pdf(&options.pdf_dir, &number, &pdf)?;
            Ok(IssuedCertificate {
                trainee: email,
                number,
                code,
                credential: jwt,
                pdf: path.display().to_string(),
                newly_issued: true,
                status: "valid".into(),
            })
        }
        Issued::Existing((number, code, jwt, status)) => {
            let path = options.pdf_dir.join(format!("{number}.pdf"));
            if !path.exists() {
                write_pdf(&options.pdf_dir, &number, &render_stored(&number, &code, &jwt)?)?;
            }
            Ok(IssuedCertificate {
                trainee: email,
                number,
                code,
                credential: jwt,
                pdf: path.display().to_string(),
                newly_issued: false,
                status,
            })
        }
    }
}

/// E-mails of the candidates of `session` who are eligible now or already hold a certificate
/// for it (so that `--all-eligible` is idempotent too).
pub fn eligible_candidates(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<String>, CertifyError> {
    let checked = super::eligibility::check_session(conn, session, None)?;
    let holders: Vec<String> = certificates::table
        .inner_join(users::table.on(users::id.eq(certificates::holder_id)))
        .filter(certificates::training_session_id.eq(session))
        .select(users::email)
        .load(conn)
        .map_err(DbError::from)?;
    Ok(checked
        .candidates
        .into_iter()
        .filter(|c| c.eligible || holders.contains(&c.trainee))
        .map(|c| c.trainee)
        .collect())
}
