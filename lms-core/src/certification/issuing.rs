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
use sha2::{Digest, Sha256};

use super::credential::{self, AchievementFacts, CertificatePayload, CredentialClaims, CredentialContent};
use super::eligibility::{CertifyError, certification_of_session, evaluate};
use super::jury::audit;
use super::keys::Signer;
use super::registry::CertificateStatus;
use super::status_list;
use crate::db::ids::{CertificateId, TrainingSessionId, UserId};
use crate::db::schema::{certificate_counters, certificates, users};
use crate::db::{self, DbConn, DbError, LockableTable};
use crate::documents::certificate::{CertificateDocument, render_certificate};

/// Default public base URL (the server's default address).
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// A public base URL as printed in documents: trimmed, without trailing `/`.
pub fn normalise_public_url(raw: &str) -> String {
    raw.trim().trim_end_matches('/').to_owned()
}

/// Where and as of when certificates are issued.
#[derive(Debug, Clone)]
pub struct IssueOptions {
    /// Public base URL for the verification page.
    pub public_url: String,
    /// Folder receiving the PDFs (`NUMBER.pdf`).
    pub pdf_dir: PathBuf,
    /// Award date (the jury's date or later, inside the validity window, not in the future);
    /// `None` awards on the date of the jury's decision, as the certificate should say.
    pub awarded_on: Option<NaiveDate>,
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
    pub status: CertificateStatus,
}

fn random_code() -> String {
    let mut bytes = [0_u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the printable document from what a credential states.
pub fn document_from_credential(
    content: &CredentialContent,
    number: &str,
    code: &str,
    jwt: &str,
) -> CertificateDocument {
    CertificateDocument {
        number: number.to_owned(),
        holder_name: content.holder_name.clone(),
        certification_title: content.certification_title.clone(),
        registry_code: content.registry_code.clone(),
        certifier: content.certifier.clone(),
        awarded_on: content.awarded_on,
        units: content.units.clone(),
        verification_url: content.verification_url.clone(),
        verification_code: code.to_owned(),
        credential_jwt: jwt.to_owned(),
    }
}

/// Renders the PDF of a stored credential (no signature check: the caller holds a trusted copy).
/// A stored credential that cannot be read back is refused, never printed with blanks.
pub fn render_stored(number: &str, code: &str, jwt: &str) -> Result<Vec<u8>, CertifyError> {
    let content = stored_content(number, jwt)?;
    Ok(render_certificate(&document_from_credential(&content, number, code, jwt))?)
}

/// What the credential stored with certificate `number` states.
pub(crate) fn stored_content(number: &str, jwt: &str) -> Result<CredentialContent, CertifyError> {
    credential::unverified_payload::<CertificatePayload>(jwt)
        .and_then(|payload| credential::read_content(&payload))
        .map_err(|problem| CertifyError::CorruptCertificate { number: number.to_owned(), problem })
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

/// A certificate already in the register for a holder and a session.
#[derive(Debug, Queryable)]
struct StoredCertificate {
    number: String,
    verification_code: String,
    credential_jwt: String,
    status: CertificateStatus,
}

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

/// The holder's identity as the credential names them.
#[derive(Debug, Queryable)]
struct HolderRow {
    email: String,
    first_names: Option<String>,
    birth_name: Option<String>,
    usage_name: Option<String>,
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
        let awarded_on = options.awarded_on.unwrap_or(decided_on);
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

        let holder: HolderRow = users::table
            .find(&trainee)
            .select((users::email, users::first_names, users::birth_name, users::usage_name))
            .first(conn)
            .map_err(DbError::from)?;
        let family = holder.usage_name.filter(|u| !u.trim().is_empty()).or(holder.birth_name).unwrap_or_default();
        let holder_name = format!("{} {}", holder.first_names.unwrap_or_default().trim(), family.trim().to_uppercase());
        let units: Vec<(i32, String)> = eligibility
            .units
            .iter()
            .filter(|u| candidate.units_validated.contains(&u.number))
            .map(|u| (u.number, u.title.clone()))
            .collect();
        let mut salt_bytes = [0_u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt_bytes);
        let now = db::now();
        let (status_list, status_index, status_entry) =
            status_list::allocate_entry(conn, signer, &options.public_url, now)?;
        let claims = CredentialClaims {
            credential_id: format!("urn:uuid:{id}"),
            holder_id: format!("urn:uuid:{trainee}"),
            number: number.clone(),
            verification_url: format!("{}/verify/{code}", options.public_url),
            issuer_name: certification.certifier.clone(),
            holder_name,
            holder_email: holder.email,
            salt: data_encoding::HEXLOWER.encode(&salt_bytes),
            achievement: AchievementFacts {
                public_url: options.public_url.clone(),
                registry: certification.registry.clone(),
                registry_code: certification.code.clone(),
                title: certification.title.clone(),
                criteria: certification.evaluation_modalities.clone(),
                units,
            },
            awarded_on,
            status: Some(status_entry),
        };
        let payload = credential::build_payload(&claims);
        let corrupt = |problem| CertifyError::CorruptCertificate { number: number.clone(), problem };
        let jwt = credential::sign(signer, &options.public_url, &payload).map_err(corrupt)?;
        let content = credential::read_content(&payload).map_err(corrupt)?;
        let pdf = render_certificate(&document_from_credential(&content, &number, &code, &jwt))?;
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
                certificates::status.eq(CertificateStatus::Valid),
                certificates::created_at.eq(now),
                certificates::status_list.eq(Some(status_list)),
                certificates::status_index.eq(Some(status_index)),
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
                status: CertificateStatus::Valid,
            })
        }
        Issued::Existing(stored) => {
            let path = options.pdf_dir.join(format!("{}.pdf", stored.number));
            if !path.exists() {
                let pdf = render_stored(&stored.number, &stored.verification_code, &stored.credential_jwt)?;
                write_pdf(&options.pdf_dir, &stored.number, &pdf)?;
            }
            Ok(IssuedCertificate {
                trainee: email,
                number: stored.number,
                code: stored.verification_code,
                credential: stored.credential_jwt,
                pdf: path.display().to_string(),
                newly_issued: false,
                status: stored.status,
            })
        }
    }
}

/// Whom [`issue_certificates`] issues to.
#[derive(Debug, Clone)]
pub enum Candidates {
    /// One candidate, by e-mail.
    One(String),
    /// Every candidate of the session who is eligible now or already holds a certificate for it
    /// (so that issuing to every eligible candidate again is idempotent too).
    AllEligible,
}

/// A candidate [`issue_certificates`] did not issue to, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RefusedCandidate {
    /// The candidate's e-mail, as given or as registered.
    pub trainee: String,
    /// Stable code of the refusal (`not_eligible`, `award_date_refused`, …).
    pub code: &'static str,
    /// French explanation.
    pub message: String,
}

/// What [`issue_certificates`] did, candidate by candidate.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct IssueReport {
    /// Certificates issued now or found already issued, in candidate order.
    pub issued: Vec<IssuedCertificate>,
    /// Candidates refused, with their reason.
    pub refused: Vec<RefusedCandidate>,
}

/// Issues the certificates of one candidate or of every eligible candidate of `session`, one
/// transaction per certificate (a refusal of one never undoes another's). A candidate who is not
/// eligible, or whose award date is refused, is reported in [`IssueReport::refused`] and the others
/// are still issued; a storage, file or PDF failure stops the run and is returned.
///
/// `progress` is told `(done, total)` after each candidate.
pub fn issue_certificates(
    conn: &mut DbConn,
    signer: &Signer,
    session: &TrainingSessionId,
    candidates: &Candidates,
    options: &IssueOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<IssueReport, CertifyError> {
    let emails = match candidates {
        Candidates::One(email) => vec![email.clone()],
        Candidates::AllEligible => eligible_candidates(conn, session)?,
    };
    if emails.is_empty() {
        return Err(CertifyError::NoEligibleCandidate);
    }
    let mut report = IssueReport::default();
    for (done, email) in emails.iter().enumerate() {
        match issue_certificate(conn, signer, session, email, options) {
            Ok(certificate) => report.issued.push(certificate),
            Err(error @ (CertifyError::Db(_) | CertifyError::Io(_) | CertifyError::Pdf(_))) => return Err(error),
            Err(error) => report.refused.push(RefusedCandidate {
                trainee: email.clone(),
                code: crate::Classify::code(&error),
                message: error.to_string(),
            }),
        }
        progress(done + 1, emails.len());
    }
    Ok(report)
}

/// E-mails of the candidates of `session` who are eligible now or already hold a certificate
/// for it.
fn eligible_candidates(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<String>, CertifyError> {
    db::read_transaction(conn, |conn| {
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
    })
}
