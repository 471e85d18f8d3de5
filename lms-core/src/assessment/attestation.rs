//! The attestation de fin de formation of one trainee: the course's objectives and nature, the
//! duration scheduled and actually attended (from the attendance ledger), and the latest result
//! on each competence of the référentiel, and — for a course preparing a certification — whether
//! it was obtained, as the jury decided and eligibility confirms ([`crate::certification`] decides;
//! this module only words it). Handed out once the last half-day is over.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::AssessmentError;
use super::grid::trainee_record;
use crate::attendance::records::{RenderedDocument, document_trainee};
use crate::attendance::sheets::one_attendance;
use crate::certification::eligibility::{CertifyError, evaluate};
use crate::certification::jury::JuryVerdict;
use crate::db::ids::TrainingSessionId;
use crate::db::ids::UserId;
use crate::db::schema::{courses, training_sessions};
use crate::db::{self, DbConn, DbError};
use crate::documents::attestation::{AttestationDocument, CertificationResult, UnitResults, render_attestation};
use crate::documents::organisation::OrganisationIdentity;
use crate::locale::{short_date_fr, to_paris};
use crate::rights::Actor;

/// The course texts printed on the attestation.
#[derive(Queryable, Selectable)]
#[diesel(table_name = courses)]
struct CourseText {
    /// JSON list of texts.
    objectives: String,
    nature: String,
    evaluation_modalities: String,
}

fn nature_label(nature: &str) -> &'static str {
    match nature {
        "bilan" => "bilan de compétences",
        "vae" => "action de validation des acquis de l'expérience",
        "apprentissage" => "action de formation par apprentissage",
        _ => "action de formation",
    }
}

/// Renders a trainee's attestation: the trainee themself, trainers of the session,
/// administrators, the console. Refused before the last half-day is over.
pub fn attestation_pdf(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &str,
    now: NaiveDateTime,
) -> Result<RenderedDocument, AssessmentError> {
    let (doc, ledger) = db::read_transaction(conn, |conn| {
        let (trainee_id, name) = document_trainee(conn, actor, session, trainee)?;
        let attendance = one_attendance(conn, session, &trainee_id, now)?;
        if !attendance.attestation_available {
            return Err(AssessmentError::NotFinished);
        }
        let record = trainee_record(conn, session, &trainee_id)?;
        let course: CourseText = training_sessions::table
            .inner_join(courses::table)
            .filter(training_sessions::id.eq(session))
            .select(CourseText::as_select())
            .first(conn)
            .map_err(DbError::from)?;
        let objectives: Vec<String> = serde_json::from_str(&course.objectives).map_err(|e| {
            AssessmentError::CorruptObjectives { course: attendance.session.course_code.clone(), reason: e.to_string() }
        })?;
        let organisation = OrganisationIdentity::load(conn)?;
        crate::documents::require_settings(&organisation, &crate::documents::SIGNED_DOCUMENT_SETTINGS)
            .map_err(AssessmentError::Document)?;
        let ledger = crate::attendance::ledger_position(conn, session)?;
        let units: Vec<UnitResults> = record
            .units
            .iter()
            .map(|unit| UnitResults {
                title: format!("Unité {} — {}", unit.number, unit.title),
                competences: unit
                    .competences
                    .iter()
                    .map(|c| {
                        let (result, on) = match &c.current {
                            Some(current) => {
                                (current.result.label_fr().to_owned(), Some(to_paris(current.assessed_at).date()))
                            }
                            None => ("Non évaluée".to_owned(), None),
                        };
                        (c.code.clone(), c.label.clone(), result, on)
                    })
                    .collect(),
            })
            .collect();
        let validated = record.units.iter().filter(|u| u.validated).count();
        let certification_result = match &record.certification {
            Some(_) => certification_result(conn, session, &trainee_id)?,
            None => None,
        };
        let summary = if record.total == 0 {
            "Formation sans évaluation par compétence.".to_owned()
        } else {
            format!(
                "{} compétence(s) acquise(s) sur {} ; {} unité(s) validée(s) sur {}.",
                record.acquired,
                record.total,
                validated,
                record.units.len()
            )
        };
        Ok((
            AttestationDocument {
                organisation: organisation.header_lines(),
                organisation_name: organisation.display_name(),
                representative: organisation.display_representative(),
                city: organisation.display_city(),
                trainee_name: name,
                course_title: attendance.session.course_title.clone(),
                session_reference: attendance.session.reference.clone(),
                nature: nature_label(&course.nature).to_owned(),
                objectives,
                start: attendance.session.start,
                end: attendance.session.end,
                scheduled_minutes: attendance.scheduled_minutes,
                attended_minutes: attendance.attended_minutes,
                certification: record.certification.clone(),
                evaluation_modalities: course.evaluation_modalities,
                units,
                summary,
                certification_result,
                issued_on: to_paris(now).date(),
            },
            ledger,
        ))
    })?;
    let bytes = render_attestation(&doc)?;
    let name = format!("attestation-fin-formation-{}-{}.pdf", doc.session_reference, doc.trainee_name);
    Ok(RenderedDocument::from_parts(bytes, name, ledger, 0))
}

/// The certification's result for one trainee, worded from the jury's latest decision and the
/// eligibility rules of [`crate::certification::eligibility`]; `None` when the course prepares no
/// certification.
fn certification_result(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
) -> Result<Option<CertificationResult>, AssessmentError> {
    let eligibility = match evaluate(conn, session, Some(trainee)) {
        Ok(eligibility) => eligibility,
        Err(CertifyError::NotCertifying) => return Ok(None),
        Err(CertifyError::Db(e)) => return Err(AssessmentError::Db(e)),
        Err(other) => return Err(AssessmentError::Invalid(other.to_string())),
    };
    let Some(candidate) = eligibility.candidates.into_iter().next() else { return Ok(None) };
    // Identity for the registries is paperwork for issuing, not part of the result.
    let blocking: Vec<String> = candidate
        .reason_codes
        .iter()
        .zip(&candidate.reasons)
        .filter(|(code, _)| !matches!(**code, "identity" | "no_jury_decision" | "jury_not_admitted"))
        .map(|(_, reason)| reason.clone())
        .collect();
    let on = candidate.jury_decided_on.map(short_date_fr).unwrap_or_default();
    let units = format!("{} unité(s) validée(s) sur {}", candidate.units_validated.len(), eligibility.units.len());
    let (obtained, statement) = match candidate.jury_decision {
        Some(JuryVerdict::Admitted) if blocking.is_empty() => {
            (true, format!("Certification obtenue, sur décision du jury du {on} ({units})."))
        }
        Some(JuryVerdict::Admitted) => (
            false,
            format!("Admis·e par le jury le {on} ; certification non délivrée à ce jour : {}.", blocking.join(" ; ")),
        ),
        Some(JuryVerdict::Refused) => {
            (false, format!("Certification non obtenue : refusée par le jury le {on} ({units})."))
        }
        Some(JuryVerdict::Deferred) => {
            (false, format!("Certification non obtenue à ce jour : ajournée par le jury le {on} ({units})."))
        }
        None if blocking.is_empty() => {
            (false, format!("Certification non obtenue à ce jour : en attente de la décision du jury ({units})."))
        }
        None => (
            false,
            format!("Certification non obtenue à ce jour : pas de décision du jury ; {}.", blocking.join(" ; ")),
        ),
    };
    Ok(Some(CertificationResult { obtained, statement }))
}
