//! The feuille d'émargement (art. R6332-26 Code du travail): one page (or more) per half-day with
//! the organisation, the exact course title, the module, the date, start and end times, the place,
//! the trainers, each trainee's status and signature mark, and the trainer's co-signature.
//!
//! Every page ends with the position of the session's hash chain when the sheet was printed
//! (entry number and SHA-256): anyone holding the data can check that a paper copy matches it
//! (`lms attendance check-print`). The blank variant is the paper fallback for tiers-lieux without
//! a connection: names, empty status and signature boxes, and what to do with it afterwards.

use chrono::NaiveDate;

use super::flow::{Flow, Op, fitted_line, fitted_size, letterhead};
use super::pdf::{Colour, DocumentInfo, PageFormat, PdfBuilder, PdfError, Role, TextStyle, wrap_lines};
use crate::attendance::signature::DrawnSignature;
use crate::locale::{date_fr, short_date_fr};

/// Everything printed on a sheet.
#[derive(Debug, Clone)]
pub struct AttendanceSheetDocument {
    /// Organisation header lines (name, address, SIRET and NDA).
    pub organisation: Vec<String>,
    /// Course title, as on the programme.
    pub course_title: String,
    /// Session reference.
    pub session_reference: String,
    /// One entry per half-day, in order.
    pub half_days: Vec<HalfDaySheet>,
    /// Chain position when printed: entry number…
    pub ledger_seq: i64,
    /// …and its hash.
    pub ledger_hash: String,
    /// Date of printing (Paris).
    pub printed_on: NaiveDate,
    /// True for the blank paper sheet.
    pub blank: bool,
}

/// One half-day of the sheet.
#[derive(Debug, Clone)]
pub struct HalfDaySheet {
    /// Local date.
    pub date: NaiveDate,
    /// `Matin` or `Après-midi`.
    pub slot: String,
    /// `9 h 00 – 12 h 30`.
    pub hours: String,
    /// Duration, `3 h 30`.
    pub duration: String,
    /// Venue name.
    pub venue: String,
    /// Venue address.
    pub venue_address: String,
    /// Module taught.
    pub module: Option<String>,
    /// Trainers.
    pub trainers: Vec<String>,
    /// Trainees, by name.
    pub rows: Vec<SheetDocumentRow>,
    /// The trainer's co-signature.
    pub cosign: Option<CosignMark>,
    /// Half-day identifier (printed small, so a scan can be matched to it).
    pub half_day_id: String,
}

/// One trainee's line.
#[derive(Debug, Clone)]
pub struct SheetDocumentRow {
    /// Name.
    pub name: String,
    /// Status label (`Présent·e`, `En retard (20 min)`…); empty on a blank sheet.
    pub status: String,
    /// What goes in the signature box.
    pub signature: SignatureMark,
}

/// The content of a trainee's signature box.
#[derive(Debug, Clone)]
pub enum SignatureMark {
    /// An empty box (blank sheet, or nothing signed).
    Blank,
    /// A textual mark (`Signé par code à 9 h 03`, `Absent·e`…).
    Text(String),
    /// A drawn signature, redrawn as vectors, with a caption.
    Drawn {
        /// The strokes.
        signature: DrawnSignature,
        /// Caption (`tracée à 9 h 02`).
        caption: String,
    },
}

/// The trainer's co-signature.
#[derive(Debug, Clone)]
pub struct CosignMark {
    /// Trainer's name.
    pub name: String,
    /// `lundi 7 décembre 2026 à 17 h 05`.
    pub at: String,
    /// Entry number in the chain.
    pub seq: i64,
    /// Hash of the co-signature entry.
    pub entry_hash: String,
}

const TOP: f32 = 112.0;
const BOTTOM_MARGIN: f32 = 62.0;
const SIDE: f32 = 40.0;
const ROW: f32 = 34.0;
const NUMBER_COLUMN: f32 = 24.0;
const NAME_COLUMN: f32 = 170.0;
const STATUS_COLUMN: f32 = 125.0;
/// Share of the header's width given to the organisation's lines (the title takes the rest).
const ORGANISATION_SHARE: f32 = 0.55;

/// Renders the sheet (A4 portrait).
pub fn render_attendance_sheet(doc: &AttendanceSheetDocument) -> Result<Vec<u8>, PdfError> {
    let title = if doc.blank { "Feuille d'émargement (à signer sur place)" } else { "Feuille d'émargement" };
    let mut pdf = PdfBuilder::new(DocumentInfo {
        title: format!("{title} — {} ({})", doc.course_title, doc.session_reference),
        author: doc.organisation.first().cloned().unwrap_or_default(),
        subject: format!("Émargement par demi-journée, session {}", doc.session_reference),
        date: Some(doc.printed_on),
        ..Default::default()
    });
    let mut flow = Flow::new(PageFormat::A4Portrait, TOP, BOTTOM_MARGIN, SIDE);
    for (index, half_day) in doc.half_days.iter().enumerate() {
        if index > 0 {
            flow.new_page();
        }
        half_day_block(&mut flow, doc, half_day);
    }
    if doc.half_days.is_empty() {
        flow.paragraph(TextStyle::body(10.0), 0.0, "Aucune demi-journée commencée à la date d'impression.");
    }
    let organisation = doc.organisation.clone();
    let footer_chain = format!(
        "Registre d'émargement de la session {} à l'impression : entrée n° {} — SHA-256 {}",
        doc.session_reference, doc.ledger_seq, doc.ledger_hash
    );
    let printed = format!("Imprimé le {}", short_date_fr(doc.printed_on));
    let reference = format!("{} — session {}", doc.course_title, doc.session_reference);
    flow.render(&mut pdf, |page, number, count| {
        let right = page.width() - SIDE;
        let usable = right - SIDE;
        letterhead(page, number, &organisation, SIDE, usable * ORGANISATION_SHARE);
        // The title and the reference take the right-hand column, wrapped and shrunk to it, so that
        // a long organisation name or course title never runs into the other.
        let column = usable * (1.0 - ORGANISATION_SHARE) - 12.0;
        let title_style = TextStyle::heading(12.0);
        let title_role = if number == 1 { Role::Heading(1) } else { Role::Artifact };
        let mut y = 48.0;
        for (i, line) in wrap_lines(&title_style, title, column).iter().enumerate() {
            let role = if i == 0 {
                title_role.clone()
            } else if number == 1 {
                Role::Continuation
            } else {
                Role::Artifact
            };
            let size = fitted_size(&title_style, line, column, 6.0);
            page.right_aligned_as(role, right, y, &TextStyle { size, ..title_style }, line);
            y += 13.0;
        }
        let reference_style = TextStyle::muted(7.5);
        let size = fitted_size(&reference_style, &reference, column * 2.0, 6.0);
        let reference_style = TextStyle { size, ..reference_style };
        for line in wrap_lines(&reference_style, &reference, column) {
            let line_size = fitted_size(&reference_style, &line, column, 5.0);
            let role = if number == 1 { Role::Paragraph } else { Role::Artifact };
            page.right_aligned_as(role, right, y, &TextStyle { size: line_size, ..reference_style }, &line);
            y += size * 1.2;
        }
        page.line((SIDE, 96.0), (right, 96.0), 0.8, Colour::ACCENT);
        let bottom = page.height() - 40.0;
        page.line((SIDE, bottom - 22.0), (right, bottom - 22.0), 0.4, Colour::MUTED);
        fitted_line(page, Role::Paragraph, SIDE, bottom - 4.0, usable, 6.3, &footer_chain);
        page.text_as(Role::Artifact, SIDE, bottom + 7.0, &TextStyle::muted(7.0), &printed);
        page.right_aligned_as(
            Role::Artifact,
            right,
            bottom + 7.0,
            &TextStyle::muted(7.0),
            &format!("page {number}/{count}"),
        );
    });
    pdf.finish()
}

fn half_day_block(flow: &mut Flow, doc: &AttendanceSheetDocument, half_day: &HalfDaySheet) {
    let heading = format!("{} — {}", capitalised(&date_fr(half_day.date)), half_day.slot.to_lowercase());
    flow.heading(2, TextStyle::heading(14.0), &heading);
    flow.gap(2.0);
    let facts = [
        ("Formation", format!("« {} » — session {}", doc.course_title, doc.session_reference)),
        ("Module", half_day.module.clone().unwrap_or_else(|| "—".into())),
        ("Horaires", format!("{} ({})", half_day.hours, half_day.duration)),
        ("Lieu", format!("{} — {}", half_day.venue, half_day.venue_address)),
        ("Formateur·rice(s)", if half_day.trainers.is_empty() { "—".into() } else { half_day.trainers.join(", ") }),
    ];
    for (label, value) in facts {
        flow.paragraph(TextStyle::body(9.5), 0.0, &format!("{label} : {value}"));
    }
    flow.gap(8.0);
    table_header(flow);
    for (number, row) in half_day.rows.iter().enumerate() {
        if flow.ensure(ROW) {
            let continued =
                format!("{} — {} (suite)", capitalised(&date_fr(half_day.date)), half_day.slot.to_lowercase());
            flow.paragraph(TextStyle::strong(10.0), 0.0, &continued);
            flow.gap(4.0);
            table_header(flow);
        }
        table_row(flow, number + 1, row);
    }
    if half_day.rows.is_empty() {
        flow.paragraph(TextStyle::muted(9.0), 0.0, "Aucun·e stagiaire confirmé·e.");
    }
    flow.gap(12.0);
    flow.ensure(if doc.blank { 130.0 } else { 70.0 });
    flow.paragraph(TextStyle::strong(10.0), 0.0, "Signature du formateur ou de la formatrice");
    match (&half_day.cosign, doc.blank) {
        (Some(cosign), _) => {
            flow.paragraph(
                TextStyle::body(9.0),
                0.0,
                &format!(
                    "Contresigné électroniquement par {} le {} (entrée n° {} du registre).",
                    cosign.name, cosign.at, cosign.seq
                ),
            );
            flow.paragraph(
                TextStyle::muted(7.0),
                0.0,
                &format!("Empreinte de la contresignature : {}", cosign.entry_hash),
            );
        }
        (None, true) => {
            flow.gap(4.0);
            let (x, y) = (flow.left, flow.y);
            flow.push(Op::Frame { x, y, w: 220.0, h: 50.0, width: 0.6, colour: Colour::MUTED });
            flow.push(Op::Text {
                x: x + 228.0,
                y: y + 12.0,
                style: TextStyle::muted(8.0),
                text: "Nom :".into(),
                role: Role::Paragraph,
            });
            flow.gap(58.0);
            flow.paragraph(
                TextStyle::muted(7.5),
                0.0,
                "Feuille de secours : chaque stagiaire signe dans sa case, le formateur ou la formatrice indique les \
                 retards, départs anticipés et absences, puis signe. Après la demi-journée, numérisez la feuille et \
                 saisissez les statuts dans l'espace formateur en mode « feuille papier numérisée » avec l'empreinte \
                 SHA-256 du fichier numérisé ; conservez le fichier et l'original.",
            );
            flow.paragraph(TextStyle::muted(6.5), 0.0, &format!("Demi-journée : {}", half_day.half_day_id));
        }
        (None, false) => {
            flow.paragraph(TextStyle::body(9.0), 0.0, "Non contresignée à la date d'impression.");
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn table_header(flow: &mut Flow) {
    flow.ensure(16.0 + ROW);
    let y = flow.y + 9.0;
    let style = TextStyle::strong(8.5);
    let x = flow.left;
    flow.push(Op::Text { x, y, style, text: "N°".into(), role: Role::Paragraph });
    flow.push(Op::Text { x: x + NUMBER_COLUMN, y, style, text: "Stagiaire".into(), role: Role::Paragraph });
    flow.push(Op::Text { x: x + NUMBER_COLUMN + NAME_COLUMN, y, style, text: "Statut".into(), role: Role::Paragraph });
    flow.push(Op::Text {
        x: x + NUMBER_COLUMN + NAME_COLUMN + STATUS_COLUMN,
        y,
        style,
        text: "Signature du ou de la stagiaire".into(),
        role: Role::Paragraph,
    });
    flow.gap(13.0);
    flow.push(Op::Line { from: (x, flow.y), to: (x + flow.width, flow.y), width: 0.8, colour: Colour::INK });
}

fn table_row(flow: &mut Flow, number: usize, row: &SheetDocumentRow) {
    let (x, top) = (flow.left, flow.y);
    let baseline = top + ROW / 2.0 + 3.0;
    flow.push(Op::Text {
        x,
        y: baseline,
        style: TextStyle::muted(8.5),
        text: number.to_string(),
        role: Role::Paragraph,
    });
    fitted_cell(flow, x + NUMBER_COLUMN, baseline, NAME_COLUMN - 6.0, TextStyle::body(9.0), &row.name);
    fitted_cell(
        flow,
        x + NUMBER_COLUMN + NAME_COLUMN,
        baseline,
        STATUS_COLUMN - 6.0,
        TextStyle::body(8.5),
        &row.status,
    );
    let box_x = x + NUMBER_COLUMN + NAME_COLUMN + STATUS_COLUMN;
    let box_width = flow.width - NUMBER_COLUMN - NAME_COLUMN - STATUS_COLUMN;
    match &row.signature {
        SignatureMark::Blank => {
            flow.push(Op::Frame {
                x: box_x,
                y: top + 3.0,
                w: box_width - 4.0,
                h: ROW - 6.0,
                width: 0.5,
                colour: Colour::MUTED,
            });
        }
        SignatureMark::Text(text) => {
            fitted_cell(flow, box_x, baseline, box_width - 4.0, TextStyle::body(8.0), text);
        }
        SignatureMark::Drawn { signature, caption } => {
            let drawing_width = box_width * 0.55;
            let strokes: Vec<Vec<(f32, f32)>> = signature
                .fitted(drawing_width, ROW - 8.0, 40)
                .into_iter()
                .map(|stroke| stroke.into_iter().map(|(px, py)| (box_x + px, top + 4.0 + py)).collect())
                .collect();
            flow.push(Op::Drawing {
                strokes,
                width: 0.9,
                alt: format!("Signature tracée de {}, {}", row.name, caption),
            });
            fitted_cell(
                flow,
                box_x + drawing_width + 6.0,
                baseline,
                box_width - drawing_width - 8.0,
                TextStyle::muted(7.0),
                caption,
            );
        }
    }
    flow.gap(ROW);
    flow.push(Op::Line { from: (x, flow.y), to: (x + flow.width, flow.y), width: 0.3, colour: Colour::MUTED });
}

/// `text` in a table cell `width` wide, centred on `baseline`: shrunk, then wrapped onto at most
/// three lines, so that nothing is cut or runs into the next column.
fn fitted_cell(flow: &mut Flow, x: f32, baseline: f32, width: f32, style: TextStyle, text: &str) {
    let mut size = style.size;
    let lines = loop {
        let sized = TextStyle { size, ..style };
        let lines = wrap_lines(&sized, text, width);
        let fits = lines.len() <= 3 && lines.iter().all(|l| super::pdf::text_width(&sized, l) <= width);
        if fits || size <= 5.0 {
            break lines;
        }
        size -= 0.5;
    };
    let sized = TextStyle { size, ..style };
    let leading = size * 1.15;
    let first = baseline - leading * (lines.len().saturating_sub(1)) as f32 / 2.0;
    for (i, line) in lines.into_iter().enumerate() {
        // A single word longer than the cell (a hash) is shrunk further rather than cut.
        let line_size = fitted_size(&sized, &line, width, 3.0);
        flow.push(Op::Text {
            x,
            y: first + leading * i as f32,
            style: TextStyle { size: line_size, ..sized },
            text: line,
            role: if i == 0 { Role::Paragraph } else { Role::Continuation },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rows: usize, blank: bool) -> AttendanceSheetDocument {
        let signature = DrawnSignature::parse(
            r#"{"width":300,"height":100,"strokes":[[[10,50],[80,20],[150,70],[220,40],[290,30]]]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        AttendanceSheetDocument {
            organisation: vec!["Coopérative « Tiers-lieux »".into(), "1 rue de l'Été, 86000 Poitiers".into()],
            course_title: "Piloter un tiers-lieu".into(),
            session_reference: "PTL-1".into(),
            half_days: vec![HalfDaySheet {
                date: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default(),
                slot: "Matin".into(),
                hours: "9 h 00 – 12 h 30".into(),
                duration: "3 h 30".into(),
                venue: "La Grappe".into(),
                venue_address: "17400 Saint-Jean-d'Angély".into(),
                module: Some("Immersion & culture tiers-lieux".into()),
                trainers: vec!["Inès Marchand".into()],
                rows: (0..rows)
                    .map(|i| SheetDocumentRow {
                        name: format!("Stagiaire n° {i} Éléonore"),
                        status: if blank { String::new() } else { "Présent·e".into() },
                        signature: match (blank, i % 3) {
                            (true, _) => SignatureMark::Blank,
                            (false, 0) => SignatureMark::Drawn {
                                signature: signature.clone(),
                                caption: "tracée à 9 h 02".into(),
                            },
                            _ => SignatureMark::Text("Signé par code à 9 h 03".into()),
                        },
                    })
                    .collect(),
                cosign: None,
                half_day_id: "0199-…".into(),
            }],
            ledger_seq: 42,
            ledger_hash: "ab".repeat(32),
            printed_on: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default(),
            blank,
        }
    }

    #[test]
    fn sheets_render_and_long_lists_continue_on_more_pages() {
        let short = render_attendance_sheet(&sample(3, false)).unwrap_or_default();
        assert!(short.starts_with(b"%PDF-"));
        let long = render_attendance_sheet(&sample(40, false)).unwrap_or_default();
        let pages = |bytes: &[u8]| bytes.windows(10).filter(|w| w == b"/Type /Pag" || w == b"/Type/Page").count();
        assert!(pages(&long) > pages(&short), "{} vs {}", pages(&long), pages(&short));
        let blank = render_attendance_sheet(&sample(12, true)).unwrap_or_default();
        assert!(blank.starts_with(b"%PDF-"));
    }
}
