//! The register of issued certificates: list, show, revoke (never delete, and publish the
//! revocation in the certificate's status list), verify (signature, register and published status
//! list), the public view behind `/verify/{code}` and `GET /api/v1/certificates/{code}`, and a
//! holder's own certificates (`/me/certificates`).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::credential::{
    self, Achievement, AchievementFacts, CertificatePayload, CredentialContent, CredentialProblem, Profile,
};
use super::eligibility::CertifyError;
use super::jury::audit;
use super::keys::{PublicJwk, Signer};
use super::status_list;
use crate::access::Caller;
use crate::db::ids::{CertificateId, TrainingSessionId};
use crate::db::schema::{certificates, certifications, jury_decisions, training_sessions, users};
use crate::db::{self, DbConn, DbError};

crate::text_enum! {
    /// Where a certificate stands in the register. A revoked certificate stays there.
    pub enum CertificateStatus: "statut de certificat" {
        /// Valid.
        Valid = "valid", "Valide";
        /// Revoked (with a date and a reason).
        Revoked = "revoked", "Révoqué";
    }
}

crate::text_enum! {
    /// What the register says about a verified credential: its status, or unknown.
    pub enum RegisterStatus: "statut au registre" {
        /// In the register, valid.
        Valid = "valid", "Valide";
        /// In the register, revoked.
        Revoked = "revoked", "Révoqué";
        /// Not in the register.
        Unknown = "unknown", "Inconnu";
    }
}

impl From<CertificateStatus> for RegisterStatus {
    fn from(status: CertificateStatus) -> Self {
        match status {
            CertificateStatus::Valid => RegisterStatus::Valid,
            CertificateStatus::Revoked => RegisterStatus::Revoked,
        }
    }
}

/// A certificate as administrators see it (`lms certify list|show --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CertificateView {
    /// Number.
    pub number: String,
    /// Verification code.
    pub code: String,
    /// Holder's e-mail.
    pub trainee: String,
    /// Holder's name as certified.
    pub holder_name: String,
    /// Registry code.
    pub certification: String,
    /// Certification title.
    pub certification_title: String,
    /// Training session reference.
    pub session: Option<String>,
    /// Award date.
    pub awarded_on: NaiveDate,
    /// `valid` or `revoked`.
    pub status: CertificateStatus,
    /// Revocation time (UTC).
    pub revoked_at: Option<NaiveDateTime>,
    /// Revocation reason.
    pub revocation_reason: Option<String>,
    /// Units validated, `Unité N — title`.
    pub units: Vec<String>,
    /// SHA-256 of the PDF issued.
    pub pdf_sha256: Option<String>,
}

/// What anyone may see about a certificate: what was certified, and nothing more personal than
/// the holder's name.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PublicCertificate {
    /// Number.
    pub number: String,
    /// `valid` or `revoked`.
    pub status: CertificateStatus,
    /// Holder's name.
    pub holder_name: String,
    /// Certification title.
    pub certification: String,
    /// Registry code (`RS5142`).
    pub registry_code: String,
    /// Certifier.
    pub certifier: String,
    /// Award date.
    pub awarded_on: NaiveDate,
    /// Units validated.
    pub units: Vec<String>,
    /// Revocation date (UTC), if revoked.
    pub revoked_at: Option<NaiveDateTime>,
    /// Revocation reason, if revoked.
    pub revocation_reason: Option<String>,
}

/// One certificate of the register with what it needs from the holder, the certification and
/// the session (the columns of `base_query!`, in order).
#[derive(Debug, Queryable)]
struct Row {
    _id: CertificateId,
    number: String,
    verification_code: String,
    trainee: String,
    certification_code: String,
    certification_title: String,
    session: Option<String>,
    awarded_on: NaiveDate,
    status: CertificateStatus,
    revoked_at: Option<NaiveDateTime>,
    revocation_reason: Option<String>,
    credential_jwt: String,
    pdf_sha256: Option<String>,
    certifier: String,
}

impl Row {
    fn content(&self) -> Result<CredentialContent, CertifyError> {
        super::issuing::stored_content(&self.number, &self.credential_jwt)
    }
}

/// The joined select every lookup shares (a macro: diesel's query types are not nameable here).
macro_rules! base_query {
    () => {
        certificates::table
            .inner_join(users::table.on(users::id.eq(certificates::holder_id)))
            .inner_join(certifications::table)
            .left_join(training_sessions::table)
            .select((
                certificates::id,
                certificates::number,
                certificates::verification_code,
                users::email,
                certifications::code,
                certifications::title,
                training_sessions::reference.nullable(),
                certificates::awarded_on,
                certificates::status,
                certificates::revoked_at,
                certificates::revocation_reason,
                certificates::credential_jwt,
                certificates::pdf_sha256,
                certifications::certifier,
            ))
    };
}

fn to_view(row: Row) -> Result<CertificateView, CertifyError> {
    let content = row.content()?;
    Ok(CertificateView {
        holder_name: content.holder_name.clone(),
        units: content.unit_names(),
        number: row.number,
        code: row.verification_code,
        trainee: row.trainee,
        certification: row.certification_code,
        certification_title: row.certification_title,
        session: row.session,
        awarded_on: row.awarded_on,
        status: row.status,
        revoked_at: row.revoked_at,
        revocation_reason: row.revocation_reason,
        pdf_sha256: row.pdf_sha256,
    })
}

/// Filters for [`list_certificates`].
#[derive(Debug, Clone, Default)]
pub struct CertificateFilter {
    /// Only this training session.
    pub session: Option<TrainingSessionId>,
    /// Only certificates with this status.
    pub status: Option<CertificateStatus>,
    /// Only awards in this year.
    pub year: Option<i32>,
}

/// Certificates by number.
pub fn list_certificates(conn: &mut DbConn, filter: &CertificateFilter) -> Result<Vec<CertificateView>, CertifyError> {
    let mut query = base_query!().order(certificates::number.asc()).into_boxed();
    if let Some(session) = &filter.session {
        query = query.filter(certificates::training_session_id.eq(session.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(certificates::status.eq(*status));
    }
    if let Some(year) = filter.year {
        query = query.filter(certificates::year.eq(year));
    }
    let rows: Vec<Row> = query.load(conn).map_err(DbError::from)?;
    rows.into_iter().map(to_view).collect()
}

/// One certificate by number or verification code.
pub fn show_certificate(conn: &mut DbConn, number_or_code: &str) -> Result<CertificateView, CertifyError> {
    let row = find_row(conn, number_or_code)?.ok_or_else(|| CertifyError::UnknownCertificate(short(number_or_code)))?;
    to_view(row)
}

fn short(raw: &str) -> String {
    raw.trim().chars().take(40).collect()
}

fn find_row(conn: &mut DbConn, number_or_code: &str) -> Result<Option<Row>, CertifyError> {
    let key = number_or_code.trim();
    let by_number: Option<Row> = base_query!()
        .filter(certificates::number.eq(key.to_uppercase()))
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    if by_number.is_some() {
        return Ok(by_number);
    }
    base_query!()
        .filter(certificates::verification_code.eq(key.to_lowercase()))
        .first(conn)
        .optional()
        .map_err(|e| CertifyError::Db(e.into()))
}

/// The public view of a certificate by verification code; `None` for an unknown code.
pub fn public_certificate(conn: &mut DbConn, code: &str) -> Result<Option<PublicCertificate>, CertifyError> {
    let code = code.trim().to_lowercase();
    if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let row: Option<Row> = base_query!()
        .filter(certificates::verification_code.eq(&code))
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let Some(row) = row else { return Ok(None) };
    let content = row.content()?;
    let status = standing(conn, None, &row, &content)?.status;
    Ok(Some(PublicCertificate {
        holder_name: content.holder_name.clone(),
        units: content.unit_names(),
        number: row.number,
        status,
        certification: row.certification_title,
        registry_code: row.certification_code,
        certifier: row.certifier,
        awarded_on: row.awarded_on,
        revoked_at: row.revoked_at,
        revocation_reason: row.revocation_reason,
    }))
}

/// Revokes a certificate with a reason; it stays in the register, shown as revoked everywhere, and
/// its status list is signed again with its bit set, in the same transaction.
pub fn revoke_certificate(
    conn: &mut DbConn,
    signer: &Signer,
    number: &str,
    reason: &str,
) -> Result<CertificateView, CertifyError> {
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.chars().count() < 3 || reason.chars().count() > 500 {
        return Err(CertifyError::Invalid("le motif de révocation doit faire de 3 à 500 caractères".into()));
    }
    if let Some(problem) = crate::text::control_character_problem(&reason) {
        return Err(CertifyError::Invalid(format!("motif de révocation : {problem}")));
    }
    let number = number.trim().to_uppercase();
    db::write_transaction(conn, |conn| {
        let current: Option<(CertificateId, CertificateStatus, Option<i32>)> = certificates::table
            .filter(certificates::number.eq(&number))
            .select((certificates::id, certificates::status, certificates::status_list))
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        let (id, status, list) = current.ok_or_else(|| CertifyError::UnknownCertificate(short(&number)))?;
        if status == CertificateStatus::Revoked {
            return Err(CertifyError::AlreadyRevoked(number.clone()));
        }
        // Conditional on the status so two concurrent revocations cannot both succeed.
        let now = db::now();
        let updated =
            diesel::update(certificates::table.find(&id).filter(certificates::status.eq(CertificateStatus::Valid)))
                .set((
                    certificates::status.eq(CertificateStatus::Revoked),
                    certificates::revoked_at.eq(Some(now)),
                    certificates::revocation_reason.eq(Some(&reason)),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
        if updated == 0 {
            return Err(CertifyError::AlreadyRevoked(number.clone()));
        }
        if let Some(list) = list {
            status_list::republish(conn, signer, list, now)?;
        }
        audit(conn, None, "certificate_revoked", "certificate", id.as_str(), &reason)?;
        Ok(())
    })?;
    show_certificate(conn, &number)
}

/// Result of a verification (`lms certify verify --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VerificationReport {
    /// Certificate number, when the credential could be matched to the register.
    pub number: Option<String>,
    /// `valid` or `revoked` per the register; `unknown` when not found.
    pub status: RegisterStatus,
    /// True when the credential's signature is the organisation's, its content is the one
    /// registered and, for a PDF, the file is the one issued.
    pub signature_ok: bool,
    /// For a PDF: whether the file is byte-for-byte the one issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf_intact: Option<bool>,
    /// Holder's name (from the credential).
    pub holder_name: Option<String>,
    /// Award date.
    pub awarded_on: Option<NaiveDate>,
    /// Revocation date and reason.
    pub revoked_at: Option<NaiveDateTime>,
    /// Revocation reason.
    pub revocation_reason: Option<String>,
    /// What the published status list says (true: revoked), for credentials that carry an entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_revoked: Option<bool>,
    /// What is wrong, in French, when something is.
    pub problems: Vec<String>,
}

impl VerificationReport {
    /// Valid signature and not revoked.
    pub fn is_valid(&self) -> bool {
        self.signature_ok && self.status == RegisterStatus::Valid
    }
}

/// What is being verified.
#[derive(Debug, Clone)]
pub enum VerifyInput {
    /// A verification code or a certificate number.
    Code(String),
    /// A credential (compact JWS text).
    Credential(String),
    /// A certificate PDF's bytes.
    Pdf(Vec<u8>),
}

/// A certificate's standing: the register's status, joined with what its published status list
/// says (revoked if either says so).
struct Standing {
    status: CertificateStatus,
    published_revoked: Option<bool>,
    problem: Option<&'static str>,
}

fn standing(
    conn: &mut DbConn,
    key: Option<&PublicJwk>,
    row: &Row,
    content: &CredentialContent,
) -> Result<Standing, CertifyError> {
    let published = match &content.status {
        Some(entry) => status_list::published_status(conn, key, entry)?,
        None => None,
    };
    let register_revoked = row.status == CertificateStatus::Revoked;
    let problem = match (register_revoked, published) {
        (true, Some(false)) => Some("la liste de statut publiée n'indique pas la révocation"),
        (false, Some(true)) => Some("révoqué d'après la liste de statut publiée"),
        _ => None,
    };
    let status =
        if register_revoked || published == Some(true) { CertificateStatus::Revoked } else { CertificateStatus::Valid };
    Ok(Standing { status, published_revoked: published, problem })
}

/// Verifies a code, a credential or a PDF: signature with the organisation's public key, content
/// against the register, status (revoked or not) in the register and in the published status list
/// (whose signature is checked with the same key).
pub fn verify(conn: &mut DbConn, key: &PublicJwk, input: &VerifyInput) -> Result<VerificationReport, CertifyError> {
    let mut problems = Vec::new();
    let (jwt, pdf_hash) = match input {
        VerifyInput::Code(code) => {
            let row = find_row(conn, code)?.ok_or_else(|| CertifyError::UnknownCertificate(short(code)))?;
            (row.credential_jwt.clone(), None)
        }
        VerifyInput::Credential(text) => (text.trim().to_owned(), None),
        VerifyInput::Pdf(bytes) => {
            let Some(jwt) = credential::extract_from_pdf(bytes) else {
                return Ok(VerificationReport {
                    number: None,
                    status: RegisterStatus::Unknown,
                    signature_ok: false,
                    pdf_intact: Some(false),
                    holder_name: None,
                    awarded_on: None,
                    revoked_at: None,
                    revocation_reason: None,
                    published_revoked: None,
                    problems: vec!["aucun certificat signé dans ce PDF".into()],
                });
            };
            let hash: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
            (jwt, Some(hash))
        }
    };
    let verified = credential::verify::<CertificatePayload>(&jwt, key);
    let payload = match &verified {
        Ok(payload) => Some(payload.clone()),
        Err(problem) => {
            problems.push(problem.to_string());
            None
        }
    };
    // Even a forged credential names a code: report what the register says about it.
    let code = payload.as_ref().and_then(credential::verification_code_of).or_else(|| {
        if matches!(verified, Err(CredentialProblem::BadSignature)) {
            credential::unverified_payload::<CertificatePayload>(&jwt)
                .ok()
                .as_ref()
                .and_then(credential::verification_code_of)
        } else {
            None
        }
    });
    let row = match &code {
        Some(code) => find_row(conn, code)?,
        None => None,
    };
    let mut signature_ok = payload.is_some();
    let mut pdf_intact = None;
    if let Some(row) = &row {
        if payload.is_some() && row.credential_jwt != jwt {
            signature_ok = false;
            problems.push("le certificat ne correspond pas à celui enregistré".into());
        }
        if let Some(hash) = &pdf_hash {
            let intact = row.pdf_sha256.as_deref() == Some(hash.as_str());
            pdf_intact = Some(intact);
            if !intact {
                signature_ok = false;
                problems.push("le fichier PDF a été modifié depuis sa délivrance".into());
            }
        }
    } else if payload.is_some() {
        signature_ok = false;
        problems.push("certificat absent du registre".into());
    }
    // A signed credential whose content is not a certificate's is reported, not shown blank.
    let content = match payload.as_ref().map(credential::read_content) {
        Some(Ok(content)) => Some(content),
        Some(Err(problem)) => {
            signature_ok = false;
            problems.push(problem.to_string());
            None
        }
        None => None,
    };
    let (status, published_revoked) = match (&row, &content) {
        (Some(row), Some(content)) => {
            let standing = standing(conn, Some(key), row, content)?;
            if let Some(problem) = standing.problem {
                problems.push(problem.into());
            }
            (standing.status.into(), standing.published_revoked)
        }
        (Some(row), None) => (row.status.into(), None),
        (None, _) => (RegisterStatus::Unknown, None),
    };
    if status == RegisterStatus::Revoked {
        problems.push("certificat révoqué".into());
    }
    Ok(VerificationReport {
        number: row.as_ref().map(|r| r.number.clone()),
        status,
        signature_ok,
        pdf_intact,
        holder_name: content.map(|c| c.holder_name),
        awarded_on: row.as_ref().map(|r| r.awarded_on),
        revoked_at: row.as_ref().and_then(|r| r.revoked_at),
        revocation_reason: row.as_ref().and_then(|r| r.revocation_reason.clone()),
        published_revoked,
        problems,
    })
}

/// A certificate number with its holder's e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct HeldCertificate {
    /// Holder's e-mail.
    pub trainee: String,
    /// Certificate number.
    pub number: String,
}

/// Certificates of a session (for tests and the demo): numbers by holder e-mail.
pub fn numbers_of_session(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<HeldCertificate>, DbError> {
    certificates::table
        .inner_join(users::table.on(users::id.eq(certificates::holder_id)))
        .filter(certificates::training_session_id.eq(session))
        .order(certificates::number.asc())
        .select((users::email, certificates::number))
        .load(conn)
        .map_err(DbError::from)
}

/// The issuer's `Profile`, served as JSON-LD at the credentials' `issuer.id`: the certifier named
/// in the référentiel (the one credentials name) with the organisation's contact e-mail. `None`
/// when no certification is loaded.
pub fn issuer_profile(conn: &mut DbConn, public_url: &str) -> Result<Option<Profile>, CertifyError> {
    db::read_transaction(conn, |conn| {
        let certified: Vec<(String, String)> = certifications::table
            .order(certifications::code.asc())
            .select((certifications::certifier, certifications::code))
            .load(conn)
            .map_err(DbError::from)?;
        let Some((certifier, _)) = certified.first() else { return Ok(None) };
        let identity = crate::documents::organisation::OrganisationIdentity::load(conn)?;
        let codes: Vec<&str> = certified.iter().map(|(_, code)| code.as_str()).collect();
        Ok(Some(Profile {
            id: credential::issuer_id(public_url),
            types: vec!["Profile".into()],
            name: certifier.clone(),
            url: Some(public_url.to_owned()),
            email: identity.email,
            description: Some(format!("Organisme certificateur de : {}.", codes.join(", "))),
        }))
    })
}

/// The certification `slug` (its registry code, any case) as an OB 3.0 `Achievement`, served at the
/// credentials' `achievement.id`; `None` for an unknown code.
pub fn achievement(conn: &mut DbConn, public_url: &str, slug: &str) -> Result<Option<Achievement>, CertifyError> {
    let code = slug.trim().to_uppercase();
    if code.is_empty() || code.len() > 32 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    db::read_transaction(conn, |conn| {
        let Some(certification) = super::find_certification(conn, &code)? else { return Ok(None) };
        let units = super::units_of(conn, &certification.id)?;
        Ok(Some(credential::build_achievement(&AchievementFacts {
            public_url: public_url.to_owned(),
            registry: certification.registry,
            registry_code: certification.code,
            title: certification.title,
            criteria: certification.evaluation_modalities,
            units: units.into_iter().map(|u| (u.number, u.title)).collect(),
        })))
    })
}

/// One of the caller's own certificates, as « Mes certificats » lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Queryable)]
pub struct OwnCertificate {
    /// Certificate number.
    pub number: String,
    /// Verification code (the path of `/verify/{code}`).
    pub code: String,
    /// Certification title.
    pub certification_title: String,
    /// Registry code (`RS5142`).
    pub registry_code: String,
    /// Date of the jury's decision.
    pub decided_on: NaiveDate,
    /// Award date.
    pub awarded_on: NaiveDate,
    /// `valid` or `revoked`.
    pub status: CertificateStatus,
    /// Revocation time (UTC), if revoked.
    pub revoked_at: Option<NaiveDateTime>,
}

/// The certificates the caller holds, newest first.
pub fn my_certificates(conn: &mut DbConn, caller: &Caller) -> Result<Vec<OwnCertificate>, CertifyError> {
    certificates::table
        .inner_join(certifications::table)
        .inner_join(jury_decisions::table)
        .filter(certificates::holder_id.eq(&caller.user.id))
        .order((certificates::awarded_on.desc(), certificates::number.desc()))
        .select((
            certificates::number,
            certificates::verification_code,
            certifications::title,
            certifications::code,
            jury_decisions::decided_on,
            certificates::awarded_on,
            certificates::status,
            certificates::revoked_at,
        ))
        .load(conn)
        .map_err(|e| CertifyError::Db(e.into()))
}

/// The forms in which a holder downloads their certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFormat {
    /// The printable PDF (with the credential inside).
    Pdf,
    /// The signed Open Badges credential, as the compact VC-JWT.
    SignedBadge,
    /// The credential's content, decoded, as JSON.
    BadgeJson,
}

impl CertificateFormat {
    /// The format a file name's extension asks for (`.pdf`, `.jwt`, `.json`), with the number.
    pub fn from_file_name(file: &str) -> Option<(&str, Self)> {
        let (number, extension) = file.rsplit_once('.')?;
        let format = match extension {
            "pdf" => CertificateFormat::Pdf,
            "jwt" => CertificateFormat::SignedBadge,
            "json" => CertificateFormat::BadgeJson,
            _ => return None,
        };
        Some((number, format))
    }

    /// Its media type.
    pub fn content_type(self) -> &'static str {
        match self {
            CertificateFormat::Pdf => "application/pdf",
            CertificateFormat::SignedBadge => "application/vc+jwt",
            CertificateFormat::BadgeJson => "application/json",
        }
    }

    /// Its file extension.
    pub fn extension(self) -> &'static str {
        match self {
            CertificateFormat::Pdf => "pdf",
            CertificateFormat::SignedBadge => "jwt",
            CertificateFormat::BadgeJson => "json",
        }
    }
}

/// One of the caller's own certificates as a file. Another person's certificate is
/// [`CertifyError::UnknownCertificate`], exactly like a number that does not exist.
pub fn my_certificate_file(
    conn: &mut DbConn,
    caller: &Caller,
    number: &str,
    format: CertificateFormat,
) -> Result<Vec<u8>, CertifyError> {
    let number = number.trim().to_uppercase();
    let stored: Option<(String, String)> = certificates::table
        .filter(certificates::number.eq(&number))
        .filter(certificates::holder_id.eq(&caller.user.id))
        .select((certificates::verification_code, certificates::credential_jwt))
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let (code, jwt) = stored.ok_or_else(|| CertifyError::UnknownCertificate(short(&number)))?;
    match format {
        CertificateFormat::Pdf => super::issuing::render_stored(&number, &code, &jwt),
        CertificateFormat::SignedBadge => Ok(jwt.into_bytes()),
        CertificateFormat::BadgeJson => {
            // Read through the typed payload first, so a damaged credential is refused, not served.
            super::issuing::stored_content(&number, &jwt)?;
            let payload: serde_json::Value = credential::unverified_payload(&jwt)
                .map_err(|problem| CertifyError::CorruptCertificate { number: number.clone(), problem })?;
            serde_json::to_vec_pretty(&payload).map_err(|e| CertifyError::Io(e.to_string()))
        }
    }
}
