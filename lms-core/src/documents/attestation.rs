//! The attestation de fin de formation (art. L6353-1 al. 2 Code du travail), handed to every
//! trainee at the end: the objectives, the nature and the duration of the action, and the
//! results of the assessment of what was learned — here, each competence of the référentiel with
//! its latest result.

use chrono::NaiveDate;

use super::completion::hours_fr;
use super::flow::{Flow, Op};
use super::pdf::{Colour, DocumentInfo, PageFormat, PdfBuilder, PdfError, Role, TextStyle};
use crate::locale::short_date_fr;

/// Everything printed on an attestation.
#[derive(Debug, Clone)]
pub struct AttestationDocument {
    /// Organisation header lines.
    pub organisation: Vec<String>,
    /// Organisation name.
    pub organisation_name: String,
    /// Signatory.
    pub representative: String,
    /// Where it is signed.
    pub city: String,
    /// Trainee's name.
    pub trainee_name: String,
    /// Course title.
    pub course_title: String,
    /// Session reference.
    pub session_reference: String,
    /// Nature of the action, in words.
    pub nature: String,
    /// Objectives of the course.
    pub objectives: Vec<String>,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Minutes scheduled.
    pub scheduled_minutes: i64,
    /// Minutes actually attended.
    pub attended_minutes: i64,
    /// Certification prepared (`RS5142 — Piloter un tiers-lieu`), if any.
    pub certification: Option<String>,
    /// How learning was assessed.
    pub evaluation_modalities: String,
    /// Results, unit by unit.
    pub units: Vec<UnitResults>,
    /// One-line summary of the assessment (`12 compétences acquises sur 19`).
    pub summary: String,
    /// Whether the certification prepared was obtained (none when the course prepares none).
    pub certification_result: Option<CertificationResult>,
    /// Date of issue.
    pub issued_on: NaiveDate,
}

/// The certification's result as the jury decided it, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationResult {
    /// True when the certification was obtained.
    pub obtained: bool,
    /// `Certification obtenue, sur décision du jury du 30/06/2026 (4 unité(s) validée(s) sur 4).`
    pub statement: String,
}

/// One unit's results.
#[derive(Debug, Clone)]
pub struct UnitResults {
    /// `Unité 1 — Élaborer…`.
    pub title: String,
    /// Competences: code, wording, result label, date of the result.
    pub competences: Vec<(String, String, String, Option<NaiveDate>)>,
}

/// Renders the attestation (A4 portrait).
pub fn render_attestation(doc: &AttestationDocument) -> Result<Vec<u8>, PdfError> {
    let mut pdf = PdfBuilder::new(DocumentInfo {
        title: format!("Attestation de fin de formation — {} — {}", doc.trainee_name, doc.course_title),
        author: doc.organisation_name.clone(),
        subject: format!("Attestation de fin de formation, session {}", doc.session_reference),
        date: Some(doc.issued_on),
        ..Default::default()
    });
    let mut flow = Flow::new(PageFormat::A4Portrait, 110.0, 60.0, 56.0);
    flow.heading(1, TextStyle::heading(20.0), "Attestation de fin de formation");
    flow.gap(12.0);
    let body = TextStyle::body(10.0);
    flow.paragraph(
        body,
        0.0,
        &format!("{} atteste que {} a suivi la formation :", doc.organisation_name, doc.trainee_name),
    );
    flow.gap(4.0);
    flow.paragraph(TextStyle::strong(12.0), 20.0, &format!("« {} »", doc.course_title));
    flow.gap(4.0);
    let facts = [
        ("Nature de l'action", doc.nature.clone()),
        (
            "Dates et durée",
            format!(
                "du {} au {}, {} prévues ; {} réellement suivies",
                short_date_fr(doc.start),
                short_date_fr(doc.end),
                hours_fr(doc.scheduled_minutes),
                hours_fr(doc.attended_minutes)
            ),
        ),
        ("Session", doc.session_reference.clone()),
        ("Certification préparée", doc.certification.clone().unwrap_or_else(|| "aucune".into())),
    ];
    for (label, value) in facts {
        flow.paragraph(body, 0.0, &format!("{label} : {value}"));
    }
    flow.gap(8.0);
    flow.heading(2, TextStyle::strong(11.0), "Objectifs de la formation");
    for objective in &doc.objectives {
        flow.paragraph(body, 12.0, &format!("• {objective}"));
    }
    flow.gap(8.0);
    flow.heading(2, TextStyle::strong(11.0), "Résultats de l'évaluation des acquis");
    flow.paragraph(TextStyle::muted(8.5), 0.0, &format!("Modalités d'évaluation : {}", doc.evaluation_modalities));
    flow.gap(4.0);
    if doc.units.is_empty() {
        flow.paragraph(body, 0.0, "Cette formation n'est pas évaluée par compétence.");
    }
    for unit in &doc.units {
        flow.gap(4.0);
        flow.heading(3, TextStyle::strong(9.5), &unit.title);
        for (code, label, result, on) in &unit.competences {
            let when = on.map(|d| format!(" ({})", short_date_fr(d))).unwrap_or_default();
            let line = format!("{code} {label}");
            let lines = super::pdf::wrap_lines(&TextStyle::body(8.5), &line, flow.width - 150.0);
            flow.ensure(11.5 * lines.len() as f32 + 2.0);
            let top = flow.y;
            for (i, text) in lines.iter().enumerate() {
                flow.push(Op::Text {
                    x: flow.left + 8.0,
                    y: top + 9.0 + 11.5 * i as f32,
                    style: TextStyle::body(8.5),
                    text: text.clone(),
                    role: Role::Paragraph,
                });
            }
            flow.push(Op::RightText {
                right: flow.left + flow.width,
                y: top + 9.0,
                style: TextStyle::strong(8.5),
                text: format!("{result}{when}"),
                role: Role::Paragraph,
            });
            flow.gap(11.5 * lines.len() as f32 + 2.0);
        }
    }
    flow.gap(4.0);
    flow.paragraph(TextStyle::strong(10.0), 0.0, &doc.summary);
    if let Some(result) = &doc.certification_result {
        flow.gap(8.0);
        flow.heading(2, TextStyle::strong(11.0), "Résultat de la certification");
        let colour = if result.obtained { Colour::ACCENT } else { Colour::WARN };
        flow.paragraph(TextStyle::strong(10.0).in_colour(colour), 0.0, &result.statement);
    }
    flow.gap(14.0);
    flow.paragraph(body, 0.0, &format!("Fait à {}, le {}.", doc.city, short_date_fr(doc.issued_on)));
    flow.paragraph(TextStyle::muted(9.0), 0.0, &format!("Pour l'organisme de formation : {}", doc.representative));
    flow.ensure(70.0);
    let (x, y) = (flow.left + flow.width - 220.0, flow.y + 4.0);
    flow.push(Op::Frame { x, y, w: 220.0, h: 60.0, width: 0.6, colour: Colour::MUTED });
    flow.gap(72.0);

    let footer = format!("Attestation de fin de formation — {} — session {}", doc.trainee_name, doc.session_reference);
    flow.render_with_letterhead(&mut pdf, &doc.organisation, &footer);
    pdf.finish()
}
