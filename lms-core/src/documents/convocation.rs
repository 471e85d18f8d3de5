//! The convocation (art. R6353-1 Code du travail asks for the dates, hours and place of the
//! training to be given to the trainee beforehand): who is called, to which course, every
//! half-day with its date, hours, venue, address and access note, what to bring and whom to call.
//! Rendered from [`ConvocationData`], with no database access, so the convocation e-mail and the
//! `/me/convocations/{id}.pdf` page attach the same bytes.

use chrono::NaiveDate;

use super::flow::{Flow, Op};
use super::pdf::{Colour, DocumentInfo, PageFormat, PdfBuilder, PdfError, Role, TextStyle, wrap_lines};
use crate::locale::{date_fr, short_date_fr};

/// What is printed when the course names nothing to bring.
pub const DEFAULT_WHAT_TO_BRING: &str = "De quoi prendre des notes, et un ordinateur portable si vous en avez un. \
     Les documents de la formation vous sont remis sur place.";

/// One half-day of the convocation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvocationHalfDay {
    /// Paris date.
    pub date: NaiveDate,
    /// `matin` or `après-midi`.
    pub slot: String,
    /// Paris hours, `9 h 00 – 12 h 30`.
    pub hours: String,
    /// Module taught, if named.
    pub module: Option<String>,
    /// Venue name.
    pub venue_name: String,
    /// Street address, postcode and commune.
    pub address: String,
    /// How to get in (access, accessibility), if the venue gave one.
    pub access_note: Option<String>,
}

/// Everything printed on a convocation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvocationData {
    /// Organisation header lines (name, address, SIRET, NDA…).
    pub organisation: Vec<String>,
    /// Organisation name.
    pub organisation_name: String,
    /// How to reach the organisation (e-mail, phone), or a placeholder.
    pub organisation_contact: String,
    /// Trainee's name.
    pub trainee_name: String,
    /// Trainee's e-mail.
    pub trainee_email: String,
    /// Course title.
    pub course_title: String,
    /// Session reference.
    pub session_reference: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Scheduled hours in total.
    pub duration_hours: f64,
    /// Every half-day, in order.
    pub half_days: Vec<ConvocationHalfDay>,
    /// What to bring.
    pub what_to_bring: String,
    /// Trainers' names.
    pub trainers: Vec<String>,
    /// The disability referent's name and contact, when the organisation has named one.
    pub disability_referent: Option<String>,
    /// Date of issue.
    pub issued_on: NaiveDate,
}

/// Whom a person with a disability contacts, in one sentence (the PDF, the e-mail and the page
/// say the same).
pub fn referent_sentence(referent: Option<&str>, organisation_contact: &str) -> String {
    match referent {
        Some(referent) => format!(
            "Situation de handicap : votre référent·e handicap, {referent}, étudie avec vous les aménagements \
             possibles (demande confidentielle depuis votre espace, page « Mes demandes d'aménagement »)."
        ),
        None => format!(
            "Situation de handicap : contactez-nous ({organisation_contact}) pour étudier les aménagements possibles."
        ),
    }
}

/// Hours as French prose: `14 heures`, `10,5 heures`.
fn hours_words(hours: f64) -> String {
    let text = if hours.fract().abs() < f64::EPSILON { format!("{hours:.0}") } else { format!("{hours:.1}") };
    format!("{} heures", text.replace('.', ","))
}

/// Renders the convocation (A4 portrait).
pub fn render_pdf(doc: &ConvocationData) -> Result<Vec<u8>, PdfError> {
    let mut pdf = PdfBuilder::new(DocumentInfo {
        title: format!("Convocation — {} — {}", doc.trainee_name, doc.course_title),
        author: doc.organisation_name.clone(),
        subject: format!("Convocation à la formation, session {}", doc.session_reference),
        date: Some(doc.issued_on),
        ..Default::default()
    });
    let mut flow = Flow::new(PageFormat::A4Portrait, 110.0, 60.0, 56.0);
    let body = TextStyle::body(10.0);
    flow.heading(1, TextStyle::heading(20.0), "Convocation à la formation");
    flow.gap(6.0);
    flow.paragraph(TextStyle::muted(9.0), 0.0, &format!("Le {}", short_date_fr(doc.issued_on)));
    flow.gap(8.0);
    flow.paragraph(body, 0.0, &format!("{} ({}),", doc.trainee_name, doc.trainee_email));
    flow.gap(4.0);
    flow.paragraph(
        body,
        0.0,
        &format!(
            "nous avons le plaisir de vous confirmer votre inscription à la formation « {} » (session {}), \
             du {} au {}, soit {}.",
            doc.course_title,
            doc.session_reference,
            date_fr(doc.start),
            date_fr(doc.end),
            hours_words(doc.duration_hours)
        ),
    );
    flow.gap(10.0);
    flow.heading(2, TextStyle::strong(12.0), "Dates, horaires et lieux");
    flow.gap(2.0);
    for day in &doc.half_days {
        let mut lines: Vec<(TextStyle, String)> =
            vec![(TextStyle::strong(9.5), format!("{}, {} — {}", date_fr(day.date), day.slot, day.hours))];
        if let Some(module) = &day.module {
            lines.push((TextStyle::body(9.0), format!("Module : {module}")));
        }
        lines.push((TextStyle::body(9.0), format!("{} — {}", day.venue_name, day.address)));
        if let Some(note) = &day.access_note {
            lines.push((TextStyle::muted(8.5), format!("Accès : {note}")));
        }
        let wrapped: Vec<(TextStyle, String)> = lines
            .into_iter()
            .flat_map(|(style, text)| {
                wrap_lines(&style, &text, flow.width - 12.0).into_iter().map(move |line| (style, line))
            })
            .collect();
        let height = 12.0 * wrapped.len() as f32 + 6.0;
        flow.ensure(height);
        let top = flow.y;
        flow.push(Op::Line {
            from: (flow.left, top + 2.0),
            to: (flow.left, top + height - 4.0),
            width: 1.2,
            colour: Colour::MUTED,
        });
        for (i, (style, text)) in wrapped.into_iter().enumerate() {
            flow.push(Op::Text {
                x: flow.left + 8.0,
                y: top + 10.0 + 12.0 * i as f32,
                style,
                text,
                role: Role::Paragraph,
            });
        }
        flow.gap(height);
    }
    flow.gap(8.0);
    flow.heading(2, TextStyle::strong(12.0), "À apporter");
    flow.paragraph(body, 0.0, &doc.what_to_bring);
    flow.gap(8.0);
    flow.heading(2, TextStyle::strong(12.0), "Qui contacter");
    flow.paragraph(body, 0.0, &format!("{} : {}", doc.organisation_name, doc.organisation_contact));
    if !doc.trainers.is_empty() {
        flow.paragraph(body, 0.0, &format!("Équipe pédagogique : {}.", doc.trainers.join(", ")));
    }
    flow.paragraph(body, 0.0, &referent_sentence(doc.disability_referent.as_deref(), &doc.organisation_contact));
    flow.gap(8.0);
    flow.paragraph(
        body,
        0.0,
        "Merci de vous présenter à l'heure : une feuille d'émargement est signée à chaque demi-journée. \
         En cas d'empêchement, prévenez-nous au plus tôt.",
    );
    let footer = format!("Convocation — {} — session {}", doc.trainee_name, doc.session_reference);
    flow.render_with_letterhead(&mut pdf, &doc.organisation, &footer);
    pdf.finish()
}
