//! CSV exports of what an administrator lists (`lms export csv KIND --out FILE`): UTF-8, a header
//! row, one row per item, stable columns ([`CsvKind::columns`], listed in README.md). Rows are
//! read page by page (keyset on the id, [`PAGE`] rows at a time) inside one read transaction, and
//! written as they come; the file appears whole or not at all (a temporary file, then a rename).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::ExportError;
use crate::assessment::AssessmentResult;
use crate::attendance::ledger::EntryKind;
use crate::attendance::{AttendanceStatus, SignatureMethod};
use crate::catalogue::{Slot, TrainingSessionStatus};
use crate::certification::registry::CertificateStatus;
use crate::db::ids::{EnrolmentId, TrainingSessionId};
use crate::db::schema::{
    assessments, attendance_entries, certificates, certifications, communes, competences, courses, enrolments,
    half_days, training_sessions, users, venues,
};
use crate::db::{self, DbConn, DbError};
use crate::enrolment::EnrolmentStatus;
use crate::enrolment::funding::{self, FundingPayer, TraineeCategory};

/// Rows read per query.
const PAGE: i64 = 1_000;

crate::text_enum! {
    /// What `lms export csv` can export.
    pub enum CsvKind: "export CSV" {
        /// Tiers-lieux.
        Venues = "venues", "Lieux";
        /// The offer.
        Courses = "courses", "Formations";
        /// Training sessions.
        Sessions = "sessions", "Sessions";
        /// Enrolments with their funding plans.
        Enrolments = "enrolments", "Inscriptions";
        /// Attendance: one row per trainee and half-day, as the ledger stands.
        Attendance = "attendance", "Émargement";
        /// Assessment results, history included.
        Assessments = "assessments", "Évaluations";
        /// Certificates.
        Certificates = "certificates", "Certificats";
        /// The complaints register (Qualiopi indicator 31).
        Complaints = "complaints", "Réclamations";
        /// Satisfaction survey responses, one row each (no respondent in an anonymous survey).
        Surveys = "surveys", "Questionnaires de satisfaction";
    }
}

impl CsvKind {
    /// The header row: the stable column names of this kind.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            CsvKind::Venues => &[
                "slug", "name", "kinds", "address", "postcode", "insee", "commune", "lat", "lon", "pmr", "email",
                "phone", "website",
            ],
            CsvKind::Courses => &[
                "code",
                "title",
                "hours",
                "days",
                "price_eur",
                "objective_category",
                "nsf_code",
                "formacode",
                "certification",
            ],
            CsvKind::Sessions => &[
                "reference",
                "course",
                "status",
                "starts_on",
                "ends_on",
                "capacity",
                "seats_taken",
                "half_days",
                "hours",
                "venues",
                "enrolment_closes_at",
                "cancelled_reason",
            ],
            CsvKind::Enrolments => &[
                "session",
                "trainee_email",
                "trainee_name",
                "status",
                "category",
                "funding_source",
                "funding",
                "funding_total_eur",
                "enrolled_at",
                "cancelled_at",
                "abandoned_at",
                "cancel_reason",
            ],
            CsvKind::Attendance => {
                &["session", "date", "slot", "trainee_email", "status", "late_minutes", "left_early_minutes", "method"]
            }
            CsvKind::Assessments => &["session", "trainee_email", "competence", "result", "assessed_at"],
            CsvKind::Certificates => &[
                "number",
                "holder_email",
                "holder_name",
                "certification",
                "session",
                "awarded_on",
                "issued_at",
                "status",
                "revoked_at",
                "revocation_reason",
            ],
            CsvKind::Complaints => crate::complaints::CSV_COLUMNS,
            CsvKind::Surveys => &[
                "session",
                "course",
                "audience",
                "timing",
                "submitted_at",
                "satisfaction",
                "answers",
                "respondent_email",
            ],
        }
    }
}

/// What [`export_csv_file`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsvExport {
    /// The kind exported.
    pub kind: CsvKind,
    /// Rows written, header excluded.
    pub rows: u64,
    /// The file written.
    pub file: String,
}

/// Writes `kind` as CSV to `out`, header first; returns the number of rows (header excluded).
pub fn export_csv<W: Write>(conn: &mut DbConn, kind: CsvKind, out: W) -> Result<u64, ExportError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(kind.columns()).map_err(io)?;
    let rows = db::read_transaction(conn, |conn| -> Result<u64, ExportError> {
        match kind {
            CsvKind::Venues => write_venues(conn, &mut writer),
            CsvKind::Courses => write_courses(conn, &mut writer),
            CsvKind::Sessions => write_sessions(conn, &mut writer),
            CsvKind::Enrolments => write_enrolments(conn, &mut writer),
            CsvKind::Attendance => write_attendance(conn, &mut writer),
            CsvKind::Assessments => write_assessments(conn, &mut writer),
            CsvKind::Certificates => write_certificates(conn, &mut writer),
            CsvKind::Complaints => crate::complaints::write_csv(conn, &mut writer),
            CsvKind::Surveys => write_surveys(conn, &mut writer),
        }
    })?;
    writer.flush().map_err(|e| ExportError::Io(format!("écriture impossible : {e}")))?;
    Ok(rows)
}

/// Writes `kind` to `path` atomically: a temporary file in the same folder, renamed into place
/// once every row is written (an existing file is replaced only then).
pub fn export_csv_file(conn: &mut DbConn, kind: CsvKind, path: &Path) -> Result<CsvExport, ExportError> {
    let temporary = super::write_temporary(path, b"")?;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&temporary)
        .map_err(|e| ExportError::Io(format!("écriture de {} impossible : {e}", temporary.display())))
        .and_then(|file| export_csv(conn, kind, std::io::BufWriter::new(file)));
    match written {
        Ok(rows) => {
            super::commit_file(&temporary, path)?;
            Ok(CsvExport { kind, rows, file: path.display().to_string() })
        }
        Err(e) => {
            // Best effort: the temporary file holds a partial export that nobody should read.
            let _ = std::fs::remove_file(&temporary);
            Err(e)
        }
    }
}

fn io(e: csv::Error) -> ExportError {
    ExportError::Io(format!("écriture CSV impossible : {e}"))
}

type Out<W> = csv::Writer<W>;

fn put<W: Write>(out: &mut Out<W>, fields: &[String]) -> Result<(), ExportError> {
    out.write_record(fields).map_err(io)
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A UTC instant as RFC 3339 (`2026-12-05T09:00:00Z`).
fn instant(at: NaiveDateTime) -> String {
    at.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn euros(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn hours(minutes: i64) -> String {
    let tenths = (minutes * 10 + 30) / 60;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// A venue with its commune (row type; fields in the order selected).
#[derive(Queryable)]
struct VenueRow {
    id: String,
    slug: String,
    name: String,
    kinds: String,
    address: Option<String>,
    postcode: Option<String>,
    insee: String,
    commune: String,
    lat: f64,
    lon: f64,
    pmr: Option<bool>,
    email: Option<String>,
    phone: Option<String>,
    website: Option<String>,
}

fn write_venues<W: Write>(conn: &mut DbConn, out: &mut Out<W>) -> Result<u64, ExportError> {
    let mut after = String::new();
    let mut count = 0;
    loop {
        let page: Vec<VenueRow> = venues::table
            .inner_join(communes::table)
            .filter(venues::id.gt(&after))
            .order(venues::id.asc())
            .limit(PAGE)
            .select((
                venues::id,
                venues::slug,
                venues::name,
                venues::kinds,
                venues::address,
                venues::postcode,
                venues::commune_insee,
                communes::name,
                venues::lat,
                venues::lon,
                venues::accessible_pmr,
                venues::email,
                venues::phone,
                venues::website,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        let Some(last) = page.last() else { return Ok(count) };
        after = last.id.clone();
        for v in page {
            let pmr = v.pmr.map(|yes| if yes { "yes" } else { "no" });
            put(
                out,
                &[
                    v.slug,
                    v.name,
                    v.kinds.split(',').map(str::trim).filter(|k| !k.is_empty()).collect::<Vec<_>>().join(";"),
                    opt(v.address),
                    opt(v.postcode),
                    v.insee,
                    v.commune,
                    v.lat.to_string(),
                    v.lon.to_string(),
                    opt(pmr),
                    opt(v.email),
                    opt(v.phone),
                    opt(v.website),
                ],
            )?;
            count += 1;
        }
    }
}

/// A course with its certification code (row type; fields in the order selected).
#[derive(Queryable)]
struct CourseRow {
    id: String,
    code: String,
    title: String,
    minutes: i64,
    days: i32,
    price_cents: i64,
    objective: String,
    nsf: String,
    formacode: String,
    certification: Option<String>,
}

fn write_courses<W: Write>(conn: &mut DbConn, out: &mut Out<W>) -> Result<u64, ExportError> {
    let mut after = String::new();
    let mut count = 0;
    loop {
        let page: Vec<CourseRow> = courses::table
            .left_join(certifications::table)
            .filter(courses::id.gt(&after))
            .order(courses::id.asc())
            .limit(PAGE)
            .select((
                courses::id,
                courses::code,
                courses::title,
                courses::duration_minutes,
                courses::duration_days,
                courses::price_cents,
                courses::objective_category,
                courses::nsf_code,
                courses::formacode,
                certifications::code.nullable(),
            ))
            .load(conn)
            .map_err(DbError::from)?;
        let Some(last) = page.last() else { return Ok(count) };
        after = last.id.clone();
        for c in page {
            put(
                out,
                &[
                    c.code,
                    c.title,
                    hours(c.minutes),
                    c.days.to_string(),
                    euros(c.price_cents),
                    c.objective,
                    c.nsf,
                    c.formacode,
                    opt(c.certification),
                ],
            )?;
            count += 1;
        }
    }
}

/// A session with its course (row type; fields in the order selected).
#[derive(Queryable)]
struct SessionRow {
    id: TrainingSessionId,
    reference: String,
    course: String,
    status: TrainingSessionStatus,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    capacity: i32,
    seats_taken: i32,
    closes_at: Option<NaiveDateTime>,
    cancelled_reason: Option<String>,
}

fn write_sessions<W: Write>(conn: &mut DbConn, out: &mut Out<W>) -> Result<u64, ExportError> {
    let mut after = String::new();
    let mut count = 0;
    loop {
        let page: Vec<SessionRow> = training_sessions::table
            .inner_join(courses::table)
            .filter(training_sessions::id.gt(&after))
            .order(training_sessions::id.asc())
            .limit(PAGE)
            .select((
                training_sessions::id,
                training_sessions::reference,
                courses::code,
                training_sessions::status,
                training_sessions::starts_on,
                training_sessions::ends_on,
                training_sessions::capacity,
                training_sessions::seats_taken,
                training_sessions::enrolment_closes_at,
                training_sessions::cancelled_reason,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        let Some(last) = page.last() else { return Ok(count) };
        after = last.id.to_string();
        // The schedule of the whole page in one query: half-days, minutes and venues in order.
        let ids: Vec<TrainingSessionId> = page.iter().map(|s| s.id.clone()).collect();
        let schedule: Vec<(TrainingSessionId, i32, String)> = half_days::table
            .inner_join(venues::table)
            .filter(half_days::training_session_id.eq_any(&ids))
            .order((half_days::training_session_id.asc(), half_days::starts_at.asc()))
            .select((half_days::training_session_id, half_days::minutes, venues::slug))
            .load(conn)
            .map_err(DbError::from)?;
        let mut per_session: HashMap<TrainingSessionId, (u32, i64, Vec<String>)> = HashMap::new();
        for (session, minutes, venue) in schedule {
            let entry = per_session.entry(session).or_default();
            entry.0 += 1;
            entry.1 += i64::from(minutes);
            if !entry.2.contains(&venue) {
                entry.2.push(venue);
            }
        }
        for s in page {
            let (half_days, minutes, venues) = per_session.remove(&s.id).unwrap_or_default();
            put(
                out,
                &[
                    s.reference,
                    s.course,
                    s.status.as_str().to_owned(),
                    s.starts_on.to_string(),
                    s.ends_on.to_string(),
                    s.capacity.to_string(),
                    s.seats_taken.to_string(),
                    half_days.to_string(),
                    hours(minutes),
                    venues.join(";"),
                    opt(s.closes_at.map(instant)),
                    opt(s.cancelled_reason),
                ],
            )?;
            count += 1;
        }
    }
}

/// An enrolment with its session and trainee (row type; fields in the order selected).
#[derive(Queryable)]
struct EnrolmentRow {
    id: EnrolmentId,
    session: String,
    email: String,
    name: String,
    status: EnrolmentStatus,
    category: Option<TraineeCategory>,
    funding_source: Option<FundingPayer>,
    created_at: NaiveDateTime,
    cancelled_at: Option<NaiveDateTime>,
    abandoned_at: Option<NaiveDateTime>,
    cancel_reason: Option<String>,
}

fn write_enrolments<W: Write>(conn: &mut DbConn, out: &mut Out<W>) -> Result<u64, ExportError> {
    let mut after = String::new();
    let mut count = 0;
    loop {
        let page: Vec<EnrolmentRow> = enrolments::table
            .inner_join(training_sessions::table)
            .inner_join(users::table)
            .filter(enrolments::id.gt(&after))
            .order(enrolments::id.asc())
            .limit(PAGE)
            .select((
                enrolments::id,
                training_sessions::reference,
                users::email,
                users::display_name,
                enrolments::status,
                enrolments::trainee_category,
                enrolments::funding_source,
                enrolments::created_at,
                enrolments::cancelled_at,
                enrolments::abandoned_at,
                enrolments::cancel_reason,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        let Some(last) = page.last() else { return Ok(count) };
        after = last.id.to_string();
        let ids: Vec<EnrolmentId> = page.iter().map(|e| e.id.clone()).collect();
        let plans = funding::plans_of(conn, &ids)?;
        for e in page {
            let plan = plans.get(&e.id).map(Vec::as_slice).unwrap_or_default();
            let total: i64 = plan.iter().map(|f| f.amount_cents).sum();
            put(
                out,
                &[
                    e.session,
                    e.email,
                    e.name,
                    e.status.as_str().to_owned(),
                    opt(e.category),
                    opt(e.funding_source),
                    funding::plan_text(plan),
                    if plan.is_empty() { String::new() } else { euros(total) },
                    instant(e.created_at),
                    opt(e.cancelled_at.map(instant)),
                    opt(e.abandoned_at.map(instant)),
                    opt(e.cancel_reason),
                ],
            )?;
            count += 1;
        }
    }
}

/// A trainee-status entry of the ledger with its half-day and trainee (row type; fields in the
/// order selected).
#[derive(Queryable)]
struct AttendanceRow {
    seq: i64,
    half_day: String,
    day: NaiveDate,
    slot: Slot,
    email: String,
    status: Option<AttendanceStatus>,
    late: i32,
    left_early: i32,
    method: SignatureMethod,
}

fn write_attendance<W: Write>(conn: &mut DbConn, out: &mut Out<W>) -> Result<u64, ExportError> {
    // Session by session: the latest entry per (half-day, trainee) is the ledger's current state,
    // which needs a session's entries together; a session's ledger is small.
    let sessions: Vec<(TrainingSessionId, String)> = training_sessions::table
        .filter(training_sessions::ledger_seq.gt(0))
        .order(training_sessions::reference.asc())
        .select((training_sessions::id, training_sessions::reference))
        .load(conn)
        .map_err(DbError::from)?;
    let mut count = 0;
    for (session, reference) in sessions {
        let entries: Vec<AttendanceRow> = attendance_entries::table
            .inner_join(half_days::table)
            .inner_join(users::table.on(users::id.eq(attendance_entries::subject_id)))
            .filter(attendance_entries::training_session_id.eq(&session))
            .filter(attendance_entries::kind.eq(EntryKind::TraineeStatus))
            .order(attendance_entries::seq.asc())
            .select((
                attendance_entries::seq,
                attendance_entries::half_day_id,
                half_days::day,
                half_days::slot,
                users::email,
                attendance_entries::status,
                attendance_entries::late_minutes,
                attendance_entries::left_early_minutes,
                attendance_entries::method,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        // Later entries supersede earlier ones; the map keeps rows in date, slot, e-mail order.
        let mut current: BTreeMap<(NaiveDate, Slot, String, String), AttendanceRow> = BTreeMap::new();
        for entry in entries {
            let key = (entry.day, entry.slot, entry.email.clone(), entry.half_day.clone());
            if current.get(&key).is_none_or(|known| known.seq < entry.seq) {
                current.insert(key, entry);
            }
        }
        for a in current.into_values() {
            put(
                out,
                &[
                    reference.clone(),
                    a.day.to_string(),
                    a.slot.as_str().to_owned(),
                    a.email,
                    opt(a.status),
                    a.late.to_string(),
                    a.left_early.to_string(),
                    a.method.as_str().to_owned(),
                ],
            )?;
            count += 1;
        }
    }
    Ok(count)
}

/// An assessment with its session, trainee and competence (row type; fields in the order
/// selected).
#[derive(Queryable)]
struct AssessmentRow {
    id: String,
    session: String,
    email: String,
    competence: String,
    result: AssessmentResult,
    assessed_at: NaiveDateTime,
}

fn write_assessments<W: Write>(conn: &mut DbConn, out: &mut Out<W>) -> Result<u64, ExportError> {
    let mut after = String::new();
    let mut count = 0;
    loop {
        let page: Vec<AssessmentRow> = assessments::table
            .inner_join(training_sessions::table)
            .inner_join(users::table.on(users::id.eq(assessments::trainee_id)))
            .inner_join(competences::table)
            .filter(assessments::id.gt(&after))
            .order(assessments::id.asc())
            .limit(PAGE)
            .select((
                assessments::id,
                training_sessions::reference,
                users::email,
                competences::code,
                assessments::result,
                assessments::assessed_at,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        let Some(last) = page.last() else { return Ok(count) };
        after = last.id.clone();
        for a in page {
            put(out, &[a.session, a.email, a.competence, a.result.as_str().to_owned(), instant(a.assessed_at)])?;
            count += 1;
        }
    }
}

/// A certificate with its holder, certification and session (row type; fields in the order
/// selected).
#[derive(Queryable)]
struct CertificateRow {
    id: String,
    number: String,
    email: String,
    name: String,
    certification: String,
    session: Option<String>,
    awarded_on: NaiveDate,
    created_at: NaiveDateTime,
    status: CertificateStatus,
    revoked_at: Option<NaiveDateTime>,
    revocation_reason: Option<String>,
}

fn write_certificates<W: Write>(conn: &mut DbConn, out: &mut Out<W>) -> Result<u64, ExportError> {
    let mut after = String::new();
    let mut count = 0;
    loop {
        let page: Vec<CertificateRow> = certificates::table
            .inner_join(users::table.on(users::id.eq(certificates::holder_id)))
            .inner_join(certifications::table)
            .left_join(training_sessions::table)
            .filter(certificates::id.gt(&after))
            .order(certificates::id.asc())
            .limit(PAGE)
            .select((
                certificates::id,
                certificates::number,
                users::email,
                users::display_name,
                certifications::code,
                training_sessions::reference.nullable(),
                certificates::awarded_on,
                certificates::created_at,
                certificates::status,
                certificates::revoked_at,
                certificates::revocation_reason,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        let Some(last) = page.last() else { return Ok(count) };
        after = last.id.clone();
        for c in page {
            put(
                out,
                &[
                    c.number,
                    c.email,
                    c.name,
                    c.certification,
                    opt(c.session),
                    c.awarded_on.to_string(),
                    instant(c.created_at),
                    c.status.as_str().to_owned(),
                    opt(c.revoked_at.map(instant)),
                    opt(c.revocation_reason),
                ],
            )?;
            count += 1;
        }
    }
}

fn write_surveys<W: Write>(conn: &mut DbConn, out: &mut Out<W>) -> Result<u64, ExportError> {
    let mut after = String::new();
    let mut count = 0;
    loop {
        let page = crate::surveys::results::response_page(conn, &after, PAGE)?;
        let Some(last) = page.last() else { return Ok(count) };
        after = last.id.clone();
        for r in page {
            put(
                out,
                &[
                    r.session,
                    r.course,
                    r.audience.as_str().to_owned(),
                    r.timing.as_str().to_owned(),
                    instant(r.submitted_at),
                    r.satisfaction.to_string(),
                    r.answers,
                    opt(r.respondent_email),
                ],
            )?;
            count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_with_a_point() {
        assert_eq!(euros(120_050), "1200.50");
        assert_eq!(hours(90), "1.5");
        assert_eq!(hours(7 * 60), "7.0");
    }
}
