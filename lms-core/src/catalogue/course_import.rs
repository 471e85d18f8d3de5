//! `lms course import`: a TOML file of [`CourseSpec`]s upserted by code, all or nothing, and its
//! inverse, the TOML of one stored course (`lms course show --toml`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::{CatalogueError, CourseFile, CourseSpec, ensure_admin, find_course};
use crate::db::ids::CourseId;
use crate::db::json_text::to_json_text;
use crate::db::schema::courses;
use crate::db::{self, DbConn, DbError};
use crate::rights::Actor;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CourseImportReport {
    /// Courses that did not exist.
    pub created: usize,
    /// Courses whose code existed, now holding the file's values.
    pub updated: usize,
}

/// Imports a course file: every course is checked first, then all are written in one
/// transaction (created, or updated by code), or none is. Updating a course never rewrites
/// its existing sessions (their dates, hours, closing time and price stay as they were).
/// Administrators and the console only.
pub fn import_courses(
    conn: &mut DbConn,
    actor: Actor<'_>,
    toml_text: &str,
    now: NaiveDateTime,
) -> Result<CourseImportReport, CatalogueError> {
    ensure_admin(actor)?;
    let file = CourseFile::parse(toml_text)?;
    db::write_transaction(conn, |conn| {
        let mut report = CourseImportReport { created: 0, updated: 0 };
        for spec in &file.courses {
            if upsert_course(conn, spec, now)? {
                report.created += 1;
            } else {
                report.updated += 1;
            }
        }
        Ok(report)
    })
}

/// The import format of one stored course, as TOML text that [`import_courses`] takes back.
pub fn course_toml(conn: &mut DbConn, code: &str) -> Result<String, CatalogueError> {
    let course = find_course(conn, code)?;
    CourseFile { courses: vec![course.to_spec()] }.to_toml()
}

/// Writes one checked course, inside the caller's transaction. Returns true when created.
pub(crate) fn upsert_course(conn: &mut DbConn, spec: &CourseSpec, now: NaiveDateTime) -> Result<bool, CatalogueError> {
    let certification_id = match &spec.certification {
        Some(code) => Some(
            crate::certification::find_certification(conn, code)?
                .ok_or_else(|| {
                    CatalogueError::Invalid(format!(
                        "formation {}, champ certification : certification inconnue « {} »",
                        spec.code,
                        crate::text::printable(code, 40)
                    ))
                })?
                .id,
        ),
        None => None,
    };
    let existing: Option<CourseId> = courses::table
        .filter(courses::code.eq(&spec.code))
        .select(courses::id)
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let contact = spec.contact.as_ref();
    let values = (
        courses::title.eq(&spec.title),
        courses::summary.eq(&spec.summary),
        courses::objectives.eq(to_json_text(&spec.objectives)?),
        courses::prerequisites.eq(to_json_text(&spec.prerequisites)?),
        courses::audience.eq(&spec.public),
        courses::content.eq(to_json_text(&spec.content)?),
        courses::modules.eq(to_json_text(&spec.modules)?),
        courses::duration_days.eq(spec.duration_days),
        courses::duration_minutes.eq(i64::from(spec.duration_hours) * 60),
        courses::modalities.eq(&spec.modalities),
        courses::price_cents.eq(spec.price_cents),
        courses::pricing_note.eq(&spec.pricing_note),
        courses::accessibility.eq(&spec.accessibility),
        courses::evaluation_modalities.eq(&spec.evaluation_modalities),
        courses::certification_id.eq(certification_id),
        courses::nsf_code.eq(&spec.nsf_code),
    );
    let more = (
        courses::formacode.eq(&spec.formacode),
        courses::nature.eq(spec.nature),
        courses::objective_category.eq(spec.objective_category),
        courses::enrolment_deadline_days.eq(spec.enrolment_deadline_days),
        courses::admission.eq(spec.admission),
        courses::contact_name.eq(contact.map(|c| c.name.clone())),
        courses::contact_email.eq(contact.and_then(|c| c.email.clone())),
        courses::contact_phone.eq(contact.and_then(|c| c.phone.clone())),
        courses::rome_codes.eq(to_json_text(&spec.rome_codes)?),
        courses::programme.eq(to_json_text(&spec.programme)?),
        courses::positioning_questions.eq(to_json_text(&spec.positioning_questions)?),
        courses::updated_at.eq(now),
    );
    match existing {
        Some(id) => {
            diesel::update(courses::table.find(&id)).set((values, more)).execute(conn).map_err(DbError::from)?;
            Ok(false)
        }
        None => {
            diesel::insert_into(courses::table)
                .values((
                    courses::id.eq(CourseId::generate()),
                    courses::code.eq(&spec.code),
                    values,
                    more,
                    courses::created_at.eq(now),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
            Ok(true)
        }
    }
}
