//! The certificat de réalisation, after the ministry's model in use since 1 June 2020: the
//! organisation's legal representative certifies that the trainee followed the action, its
//! nature, its dates and the duration actually completed — hours computed from the attendance
//! ledger, late arrivals and early departures deducted — and commits to keep the evidence.
//! An annex lists every half-day with the status and the minutes counted.

use chrono::NaiveDate;

use super::flow::{Flow, Op};
use super::pdf::{Colour, DocumentInfo, PageFormat, PdfBuilder, PdfError, Role, TextStyle};
use crate::locale::short_date_fr;

/// Everything printed on a certificat de réalisation.
#[derive(Debug, Clone)]
pub struct CompletionDocument {
    /// Organisation header lines.
    pub organisation: Vec<String>,
    /// Organisation name (in the body text).
    pub organisation_name: String,
    /// Signatory (legal representative).
    pub representative: String,
    /// Where it is signed.
    pub city: String,
    /// Trainee's name.
    pub trainee_name: String,
    /// The trainee's employer for this training, when there is one.
    pub employer: Option<String>,
    /// Course title.
    pub course_title: String,
    /// Session reference.
    pub session_reference: String,
    /// Nature: `action_formation`, `bilan`, `vae` or `apprentissage`.
    pub nature: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Minutes actually attended.
    pub attended_minutes: i64,
    /// Minutes scheduled on the half-days that have taken place.
    pub elapsed_minutes: i64,
    /// Minutes scheduled in all.
    pub scheduled_minutes: i64,
    /// Set while the action is not over: the date the hours are counted at.
    pub counted_on: Option<NaiveDate>,
    /// Date of issue.
    pub issued_on: NaiveDate,
    /// Annex: one line per half-day (date and slot, status, minutes counted of minutes scheduled).
    pub half_days: Vec<(String, String, i64, i64)>,
    /// Chain position the hours were computed at.
    pub ledger_seq: i64,
    /// Its hash.
    pub ledger_hash: String,
}

/// `52 h 40`.
pub fn hours_fr(minutes: i64) -> String {
    format!("{} h {:02}", minutes / 60, minutes % 60)
}

const NATURES: [(&str, &str); 4] = [
    ("action_formation", "action de formation"),
    ("bilan", "bilan de compétences"),
    ("vae", "action de VAE"),
    ("apprentissage", "action de formation par apprentissage"),
];

/// Renders the certificate (A4 portrait, annex on the following pages).
pub fn render_completion(doc: &CompletionDocument) -> Result<Vec<u8>, PdfError> {
    let mut pdf = PdfBuilder::new(DocumentInfo {
        title: format!("Certificat de réalisation — {} — {}", doc.trainee_name, doc.course_title),
        author: doc.organisation_name.clone(),
        subject: format!("Certificat de réalisation, session {}", doc.session_reference),
        date: Some(doc.issued_on),
        ..Default::default()
    });
    let mut flow = Flow::new(PageFormat::A4Portrait, 110.0, 60.0, 56.0);
    flow.heading(1, TextStyle::heading(20.0), "Certificat de réalisation");
    flow.gap(14.0);
    let body = TextStyle::body(10.5);
    flow.paragraph(
        body,
        0.0,
        &format!(
            "Je soussigné(e) {}, représentant légal du dispensateur de l'action concourant au développement des \
             compétences {}, atteste que :",
            doc.representative, doc.organisation_name
        ),
    );
    flow.gap(8.0);
    flow.paragraph(TextStyle::strong(13.0), 20.0, &doc.trainee_name);
    if let Some(employer) = &doc.employer {
        flow.paragraph(body, 20.0, &format!("salarié(e) de l'entreprise {employer}"));
    }
    flow.gap(6.0);
    flow.paragraph(
        body,
        0.0,
        &format!("a suivi l'action « {} » (session {}).", doc.course_title, doc.session_reference),
    );
    flow.gap(8.0);
    flow.paragraph(body, 0.0, "Nature de l'action concourant au développement des compétences :");
    for (code, label) in NATURES {
        flow.ensure(16.0);
        let (x, y) = (flow.left + 20.0, flow.y + 2.0);
        flow.push(Op::Frame { x, y, w: 9.0, h: 9.0, width: 0.7, colour: Colour::INK });
        if doc.nature == code {
            flow.push(Op::Line { from: (x + 1.5, y + 1.5), to: (x + 7.5, y + 7.5), width: 1.2, colour: Colour::INK });
            flow.push(Op::Line { from: (x + 7.5, y + 1.5), to: (x + 1.5, y + 7.5), width: 1.2, colour: Colour::INK });
        }
        flow.push(Op::Text { x: x + 16.0, y: y + 8.5, style: body, text: label.into(), role: Role::Paragraph });
        flow.gap(16.0);
    }
    flow.gap(6.0);
    flow.paragraph(
        body,
        0.0,
        &format!("qui s'est déroulée du {} au {},", short_date_fr(doc.start), short_date_fr(doc.end)),
    );
    let duration = match doc.counted_on {
        None => format!(
            "pour une durée de {} (heures réellement suivies, sur {} prévues).",
            hours_fr(doc.attended_minutes),
            hours_fr(doc.scheduled_minutes)
        ),
        Some(on) => format!(
            "pour une durée réalisée de {} au {} (heures réellement suivies, sur {} ayant eu lieu et {} prévues au \
             total ; l'action est en cours).",
            hours_fr(doc.attended_minutes),
            short_date_fr(on),
            hours_fr(doc.elapsed_minutes),
            hours_fr(doc.scheduled_minutes)
        ),
    };
    flow.paragraph(TextStyle::strong(10.5), 0.0, &duration);
    flow.gap(10.0);
    flow.paragraph(
        TextStyle::body(9.0),
        0.0,
        "Sans préjudice des délais imposés par les règles fiscales, comptables ou commerciales, je m'engage à \
         conserver l'ensemble des pièces justificatives qui ont permis d'établir le présent certificat pendant une \
         durée de 3 ans à compter de la fin de l'année du dernier paiement. En cas de cofinancement des fonds \
         européens, la durée de conservation est étendue conformément aux obligations conventionnelles spécifiques.",
    );
    flow.gap(14.0);
    flow.paragraph(body, 0.0, &format!("Fait à {}, le {}.", doc.city, short_date_fr(doc.issued_on)));
    flow.gap(6.0);
    flow.paragraph(
        TextStyle::muted(9.0),
        0.0,
        &format!("Cachet et signature du responsable du dispensateur de formation : {}", doc.representative),
    );
    flow.ensure(70.0);
    let (x, y) = (flow.left + flow.width - 220.0, flow.y + 4.0);
    flow.push(Op::Frame { x, y, w: 220.0, h: 60.0, width: 0.6, colour: Colour::MUTED });
    flow.gap(72.0);
    flow.paragraph(
        TextStyle::muted(7.0),
        0.0,
        &format!(
            "Heures calculées à partir du registre d'émargement chaîné (entrée n° {}, SHA-256 {}) : pour chaque \
             demi-journée, le dernier statut enregistré ; retards et départs anticipés déduits, absences comptées \
             zéro.",
            doc.ledger_seq, doc.ledger_hash
        ),
    );

    flow.new_page();
    flow.heading(2, TextStyle::heading(13.0), "Annexe : détail des demi-journées");
    flow.gap(6.0);
    for (when, status, counted, scheduled) in &doc.half_days {
        flow.ensure(14.0);
        let y = flow.y + 9.5;
        let x = flow.left;
        flow.push(Op::Text { x, y, style: TextStyle::body(8.5), text: when.clone(), role: Role::Paragraph });
        flow.push(Op::Text {
            x: x + 230.0,
            y,
            style: TextStyle::body(8.5),
            text: status.clone(),
            role: Role::Paragraph,
        });
        flow.push(Op::RightText {
            right: x + flow.width,
            y,
            style: TextStyle::body(8.5),
            text: format!("{} / {}", hours_fr(*counted), hours_fr(*scheduled)),
            role: Role::Paragraph,
        });
        flow.gap(14.0);
    }
    flow.rule(Colour::MUTED);
    flow.paragraph(
        TextStyle::strong(9.0),
        0.0,
        &format!("Total suivi : {} sur {}", hours_fr(doc.attended_minutes), hours_fr(doc.elapsed_minutes)),
    );

    let footer = format!("Certificat de réalisation — {} — session {}", doc.trainee_name, doc.session_reference);
    flow.render_with_letterhead(&mut pdf, &doc.organisation, &footer);
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_written_the_french_way() {
        assert_eq!(hours_fr(3160), "52 h 40");
        assert_eq!(hours_fr(0), "0 h 00");
    }

    #[test]
    fn a_certificate_renders() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
        let doc = CompletionDocument {
            organisation: vec!["OF".into()],
            organisation_name: "OF".into(),
            representative: "Camille Laborde, directrice".into(),
            city: "Poitiers".into(),
            trainee_name: "Léa Dubois".into(),
            employer: Some("SCIC La Grappe".into()),
            course_title: "Piloter un tiers-lieu".into(),
            session_reference: "PTL-1".into(),
            nature: "action_formation".into(),
            start: day,
            end: day,
            attended_minutes: 190,
            elapsed_minutes: 210,
            scheduled_minutes: 420,
            counted_on: Some(day),
            issued_on: day,
            half_days: vec![("7 décembre 2026, matin".into(), "En retard (20 min)".into(), 190, 210)],
            ledger_seq: 3,
            ledger_hash: "0".repeat(64),
        };
        assert!(render_completion(&doc).unwrap_or_default().starts_with(b"%PDF-"));
    }
}
