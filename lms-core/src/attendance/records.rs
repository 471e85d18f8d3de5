//! Documents drawn from the ledger: the feuille d'émargement of a session (every half-day that
//! has started), the blank paper sheet of one half-day, and a trainee's certificat de réalisation.
//! This module gathers and checks the data (who may see it, what the ledger says); the layout
//! lives in [`crate::documents`].

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::sheets::{
    HalfDayInfo, HalfDayStart, SessionHeader, Sheet, SheetRow, half_day_info, one_attendance, session_header,
    sheet_inside,
};
use super::{AttendanceError, AttendanceStatus, LedgerPosition, SignatureMethod};
use crate::attendance::signature::DrawnSignature;
use crate::db::ids::{AttendanceEntryId, HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{attendance_entries, courses, half_days, training_sessions};
use crate::db::{self, DbConn, DbError};
use crate::documents::attendance_sheet::{
    AttendanceSheetDocument, CosignMark, HalfDaySheet, SheetDocumentRow, SignatureMark, render_attendance_sheet,
};
use crate::documents::completion::{CompletionDocument, hours_fr, render_completion};
use crate::documents::organisation::OrganisationIdentity;
use crate::locale::{date_fr, short_date_fr, time_fr, to_paris};
use crate::rights::{self as authz, Actor, SessionRight};
use crate::roster;

/// A rendered document with what identifies it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RenderedDocument {
    /// The PDF.
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// A file name to offer (`emargement-PTL-NA-DEMO-1.pdf`).
    pub file_name: String,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Chain position the document reflects.
    pub ledger: LedgerPosition,
    /// Half-days covered.
    pub half_days: usize,
}

impl RenderedDocument {
    /// Wraps rendered bytes (the file name is made safe for a download header).
    pub fn from_parts(bytes: Vec<u8>, file_name: String, ledger: LedgerPosition, half_days: usize) -> Self {
        Self::new(bytes, file_name, ledger, half_days)
    }

    fn new(bytes: Vec<u8>, file_name: String, ledger: LedgerPosition, half_days: usize) -> Self {
        RenderedDocument {
            sha256: super::sha256_hex(&bytes),
            bytes,
            file_name: safe_file_name(&file_name),
            ledger,
            half_days,
        }
    }
}

fn safe_file_name(raw: &str) -> String {
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect()
}

/// A session by identifier or by reference (`PTL-NA-DEMO-1`), for people typing at a console.
pub fn find_session(conn: &mut DbConn, id_or_reference: &str) -> Result<TrainingSessionId, AttendanceError> {
    let raw = id_or_reference.trim();
    if let Ok(id) = TrainingSessionId::parse(raw) {
        return Ok(id);
    }
    training_sessions::table
        .filter(training_sessions::reference.eq(raw))
        .select(training_sessions::id)
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or(AttendanceError::UnknownTrainingSession)
}

pub use crate::roster::find_person;

fn status_label(row: &SheetRow) -> String {
    match row.status {
        None => "Non renseigné".into(),
        Some(AttendanceStatus::Late) => format!("En retard ({} min)", row.late_minutes),
        Some(AttendanceStatus::LeftEarly) => format!("Parti·e plus tôt ({} min)", row.left_early_minutes),
        Some(AttendanceStatus::Excused) => match &row.reason {
            Some(reason) => format!("Excusé·e : {reason}"),
            None => "Absence excusée".into(),
        },
        Some(status) => status.label_fr().into(),
    }
}

fn at_fr(utc: NaiveDateTime) -> String {
    format!("{} à {}", date_fr(to_paris(utc).date()), time_fr(utc))
}

fn signature_mark(row: &SheetRow, drawings: &HashMap<AttendanceEntryId, String>) -> SignatureMark {
    if !row.status.is_some_and(AttendanceStatus::attended) {
        return SignatureMark::Text("—".into());
    }
    let Some(signature) = &row.signature else {
        return SignatureMark::Text(match row.recorded_at {
            Some(at) => format!("Présence saisie par le formateur à {}", time_fr(at)),
            None => "—".into(),
        });
    };
    let at = time_fr(signature.at);
    match signature.method {
        SignatureMethod::SelfCheckin => SignatureMark::Text(format!("Signé par code sur téléphone à {at}")),
        SignatureMethod::DrawnSignature => {
            match drawings.get(&signature.entry).and_then(|d| DrawnSignature::from_stored(d)) {
                Some(drawn) => SignatureMark::Drawn { signature: drawn, caption: format!("tracée à {at}") },
                None => SignatureMark::Text(format!("Signature tracée à {at}")),
            }
        }
        SignatureMethod::PaperScan => SignatureMark::Text(format!(
            "Feuille papier (scan {}…)",
            signature.evidence_sha256.as_deref().map(|h| &h[..h.len().min(12)]).unwrap_or("?")
        )),
        SignatureMethod::TrainerEntry | SignatureMethod::Cosign => SignatureMark::Text("—".into()),
    }
}

fn duration(minutes: i32) -> String {
    hours_fr(i64::from(minutes))
}

fn half_day_sheet(
    info: &HalfDayInfo,
    trainers: &[String],
    rows: Vec<SheetDocumentRow>,
    cosign: Option<CosignMark>,
) -> HalfDaySheet {
    HalfDaySheet {
        date: info.date,
        slot: info.slot.label_fr().into(),
        hours: format!("{} – {}", time_fr(info.starts_at), time_fr(info.ends_at)),
        duration: duration(info.minutes),
        venue: info.venue.clone(),
        venue_address: info.venue_address.clone(),
        module: info.module.clone(),
        trainers: trainers.to_vec(),
        rows,
        cosign,
        half_day_id: info.id.to_string(),
    }
}

fn from_sheet(sheet: &Sheet, drawings: &HashMap<AttendanceEntryId, String>) -> HalfDaySheet {
    let rows = sheet
        .rows
        .iter()
        .map(|row| SheetDocumentRow {
            name: row.name.clone(),
            status: status_label(row),
            signature: signature_mark(row, drawings),
        })
        .collect();
    let cosign = sheet.cosign.as_ref().map(|c| CosignMark {
        name: c.name.clone(),
        at: at_fr(c.at),
        seq: c.seq,
        entry_hash: c.entry_hash.clone(),
    });
    half_day_sheet(&sheet.half_day, &sheet.session.trainers, rows, cosign)
}

/// The session's feuille d'émargement: every half-day that has started (or only `only`), with
/// statuses, signature marks (drawn signatures redrawn), co-signatures, and the chain position.
/// Trainers of the session, administrators and the console.
pub fn attendance_sheet_pdf(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    only: Option<&HalfDayId>,
    now: NaiveDateTime,
) -> Result<RenderedDocument, AttendanceError> {
    let (doc, ledger) = db::read_transaction(conn, |conn| {
        let right = authz::ensure_can_read(conn, actor, session)?;
        let header = session_header(conn, session)?;
        let started: Vec<HalfDayStart> = half_days::table
            .filter(half_days::training_session_id.eq(session))
            .order(half_days::starts_at.asc())
            .select(HalfDayStart::as_select())
            .load(conn)
            .map_err(DbError::from)?;
        let wanted: Vec<HalfDayId> = match only {
            Some(half_day) => {
                let starts_at = started.iter().find(|h| &h.id == half_day).map(|h| h.starts_at);
                match starts_at {
                    None => return Err(AttendanceError::WrongHalfDay),
                    Some(at) if at > now => return Err(AttendanceError::NotStarted),
                    Some(_) => vec![half_day.clone()],
                }
            }
            None => started.into_iter().filter(|h| h.starts_at <= now).map(|h| h.id).collect(),
        };
        if wanted.is_empty() {
            return Err(AttendanceError::Invalid(
                "aucune demi-journée n'a commencé : imprimez la feuille vierge d'une demi-journée".into(),
            ));
        }
        let drawings: HashMap<AttendanceEntryId, String> = attendance_entries::table
            .filter(attendance_entries::training_session_id.eq(session))
            .filter(attendance_entries::method.eq(SignatureMethod::DrawnSignature))
            .filter(attendance_entries::signature_data.is_not_null())
            .select((attendance_entries::id, attendance_entries::signature_data.assume_not_null()))
            .load::<(AttendanceEntryId, String)>(conn)
            .map_err(DbError::from)?
            .into_iter()
            .collect();
        let mut pages = Vec::with_capacity(wanted.len());
        for half_day in &wanted {
            let sheet = sheet_inside(conn, right, session, half_day, now)?;
            pages.push(from_sheet(&sheet, &drawings));
        }
        let ledger = super::ledger_position(conn, session)?;
        let doc = sheet_document(conn, header, pages, &ledger, now, false)?;
        Ok((doc, ledger))
    })?;
    let bytes = render_attendance_sheet(&doc)?;
    let name = match only {
        Some(_) => format!(
            "emargement-{}-{}-{}.pdf",
            doc.session_reference,
            doc.half_days.first().map(|h| h.date.to_string()).unwrap_or_default(),
            doc.half_days.first().map(|h| h.slot.to_lowercase()).unwrap_or_default()
        ),
        None => format!("emargement-{}.pdf", doc.session_reference),
    };
    Ok(RenderedDocument::new(bytes, name, ledger, doc.half_days.len()))
}

/// The printed sheet around its pages: the organisation, the session and the chain's position.
fn sheet_document(
    conn: &mut DbConn,
    header: SessionHeader,
    half_days: Vec<HalfDaySheet>,
    ledger: &LedgerPosition,
    now: NaiveDateTime,
    blank: bool,
) -> Result<AttendanceSheetDocument, AttendanceError> {
    let organisation = OrganisationIdentity::load(conn)?;
    Ok(AttendanceSheetDocument {
        organisation: organisation.header_lines(),
        course_title: header.course_title,
        session_reference: header.reference,
        half_days,
        ledger_seq: ledger.seq,
        ledger_hash: ledger.hash.clone(),
        printed_on: to_paris(now).date(),
        blank,
    })
}

/// The blank paper sheet of one half-day (paper fallback): trainees' names with empty status
/// and signature boxes. Refused once the half-day is co-signed.
pub fn blank_sheet_pdf(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    now: NaiveDateTime,
) -> Result<RenderedDocument, AttendanceError> {
    let (doc, ledger) = db::read_transaction(conn, |conn| {
        authz::ensure_can_read(conn, actor, session)?;
        let header = session_header(conn, session)?;
        let info = half_day_info(conn, session, half_day)?;
        if super::is_cosigned(conn, half_day)? {
            return Err(AttendanceError::ClosedHalfDay);
        }
        let rows = roster::confirmed_trainees(conn, session)?
            .into_iter()
            .map(|m| SheetDocumentRow { name: m.name, status: String::new(), signature: SignatureMark::Blank })
            .collect();
        let ledger = super::ledger_position(conn, session)?;
        let pages = vec![half_day_sheet(&info, &header.trainers, rows, None)];
        let doc = sheet_document(conn, header, pages, &ledger, now, true)?;
        Ok((doc, ledger))
    })?;
    let bytes = render_attendance_sheet(&doc)?;
    let first = doc.half_days.first();
    let name = format!(
        "emargement-vierge-{}-{}-{}.pdf",
        doc.session_reference,
        first.map(|h| h.date.to_string()).unwrap_or_default(),
        first.map(|h| h.slot.to_lowercase()).unwrap_or_default()
    );
    Ok(RenderedDocument::new(bytes, name, ledger, 1))
}

/// Resolves the trainee of a document and checks that `actor` may see it.
pub(crate) fn document_trainee(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &str,
) -> Result<(UserId, String), AttendanceError> {
    let Some(trainee_id) = find_person(conn, trainee)? else {
        // Unknown person: say so only to those who may read the session.
        authz::ensure_can_read(conn, actor, session)?;
        return Err(AttendanceError::NoTrainingRecord);
    };
    authz::ensure_can_read_trainee(conn, actor, session, &trainee_id)?;
    let name = roster::started_trainee_name(conn, session, &trainee_id)?;
    Ok((trainee_id, name.ok_or(AttendanceError::NoTrainingRecord)?))
}

/// A trainee's certificat de réalisation: hours actually attended, from the ledger. Available
/// from the first half-day on (funders accept intermediate certificates; the document then says
/// the action is under way). The trainee themself, trainers of the session, administrators, the
/// console.
pub fn completion_pdf(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &str,
    now: NaiveDateTime,
) -> Result<RenderedDocument, AttendanceError> {
    let (doc, ledger) = db::read_transaction(conn, |conn| {
        let (trainee_id, name) = document_trainee(conn, actor, session, trainee)?;
        let attendance = one_attendance(conn, session, &trainee_id, now)?;
        if attendance.half_days.is_empty() {
            return Err(AttendanceError::Invalid(
                "aucune demi-journée n'a encore eu lieu : pas de certificat de réalisation".into(),
            ));
        }
        let nature: String = training_sessions::table
            .inner_join(courses::table)
            .filter(training_sessions::id.eq(session))
            .select(courses::nature)
            .first(conn)
            .map_err(DbError::from)?;
        let organisation = OrganisationIdentity::load(conn)?;
        crate::documents::require_settings(&organisation, &crate::documents::SIGNED_DOCUMENT_SETTINGS)?;
        let employer = crate::enrolment::employer::employer_of(conn, session, &trainee_id)?;
        let ledger = super::ledger_position(conn, session)?;
        let today = to_paris(now).date();
        let over = attendance.attestation_available;
        let half_days = attendance
            .half_days
            .iter()
            .map(|h| {
                let status = match h.status {
                    Some(status) => status.label_fr().to_owned(),
                    None => "Non renseigné".to_owned(),
                };
                (
                    format!("{}, {}", short_date_fr(h.date), h.slot.label_fr_lower()),
                    status,
                    h.attended_minutes,
                    i64::from(h.minutes),
                )
            })
            .collect();
        Ok((
            CompletionDocument {
                organisation: organisation.header_lines(),
                organisation_name: organisation.display_name(),
                representative: organisation.display_representative(),
                city: organisation.display_city(),
                trainee_name: name,
                employer,
                course_title: attendance.session.course_title.clone(),
                session_reference: attendance.session.reference.clone(),
                nature,
                start: attendance.session.start,
                end: attendance.session.end,
                attended_minutes: attendance.attended_minutes,
                elapsed_minutes: attendance.elapsed_minutes,
                scheduled_minutes: attendance.scheduled_minutes,
                counted_on: (!over).then_some(today),
                issued_on: today,
                half_days,
                ledger_seq: ledger.seq,
                ledger_hash: ledger.hash.clone(),
            },
            ledger,
        ))
    })?;
    let bytes = render_completion(&doc)?;
    let half_days = doc.half_days.len();
    let name = format!("certificat-realisation-{}-{}.pdf", doc.session_reference, doc.trainee_name);
    Ok(RenderedDocument::new(bytes, name, ledger, half_days))
}

/// Today's date in Paris for `now` (documents are dated in the organisation's calendar).
pub fn paris_date(now: NaiveDateTime) -> NaiveDate {
    to_paris(now).date()
}

/// Checks a printed sheet against the data: the chain must verify, and its entry `seq` must
/// have the printed hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PrintCheck {
    /// True when the chain is intact and the hash matches.
    pub matches: bool,
    /// The chain verifies.
    pub chain_intact: bool,
    /// The stored hash of entry `seq`, if that entry exists.
    pub stored_hash: Option<String>,
}

/// See [`PrintCheck`].
pub fn check_print(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    seq: i64,
    printed_hash: &str,
) -> Result<PrintCheck, AttendanceError> {
    let report = super::verify_ledger(conn, Some(session))?;
    let stored_hash = super::entry_hash_at(conn, session, seq)?;
    let chain_intact = report.problems.is_empty();
    let matches = chain_intact && stored_hash.as_deref() == Some(printed_hash.trim().to_ascii_lowercase().as_str());
    Ok(PrintCheck { matches, chain_intact, stored_hash })
}

/// The right a console or person has, for the pages that show it.
pub fn right_label(right: SessionRight) -> &'static str {
    match right {
        SessionRight::Teaches => "formateur·rice de la session",
        SessionRight::Oversees => "administration (lecture seule)",
        SessionRight::Console => "console d'administration",
    }
}
