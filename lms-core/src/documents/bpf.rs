//! The Bilan pédagogique et financier (Cerfa 10443) printed as the form is laid out: each cadre
//! under a heading band, each line with its number in a box, its wording, and its values in
//! numbered boxes on the right. A copy to keep and to type from when filing online (« Mon
//! Activité Formation »); the cadres and lines come from [`BpfReport::form`], the same layout as
//! the text report.

use chrono::NaiveDate;

use super::flow::{Flow, Op};
use super::pdf::{Colour, Conformance, DocumentInfo, PageFormat, PdfBuilder, PdfError, Role, TextStyle, wrap_lines};
use crate::locale::date_fr;
use crate::reports::bpf::BpfReport;
use crate::reports::bpf::form::{FormRow, FormSection};

const MARGIN: f32 = 40.0;
const LINE_BOX: f32 = 52.0;
const NUMBER_CELL: f32 = 92.0;
const TEXT_CELL: f32 = 250.0;
const LEADING: f32 = 10.5;

/// Renders `report` (A4 portrait, as many pages as needed); `printed_on` is written as the
/// document's date.
pub fn render_bpf(report: &BpfReport, printed_on: NaiveDate) -> Result<Vec<u8>, PdfError> {
    let organisation = report.a_identity.display_name();
    let mut pdf = PdfBuilder::new(DocumentInfo {
        title: format!("Bilan pédagogique et financier {} — {}", report.year, organisation),
        author: organisation.clone(),
        subject: format!("Cerfa n° 10443, exercice {}", report.year),
        date: Some(printed_on),
        conformance: Conformance::default(),
    });
    let mut flow = Flow::new(PageFormat::A4Portrait, 86.0, 50.0, MARGIN);
    flow.paragraph(
        TextStyle::heading(16.0),
        0.0,
        &format!("Bilan pédagogique et financier — exercice {}", report.year),
    );
    flow.paragraph(
        TextStyle::muted(8.5),
        0.0,
        &format!(
            "Cerfa n° 10443. Établi le {} à partir des données du LMS et des saisies de l'organisme. Les montants sont hors taxes.",
            date_fr(printed_on)
        ),
    );
    flow.gap(6.0);
    for section in report.form() {
        draw_section(&mut flow, &section);
    }
    if !report.missing_inputs.is_empty() {
        flow.gap(6.0);
        flow.paragraph(
            TextStyle::strong(9.0).in_colour(Colour::WARN),
            0.0,
            &format!("Données à saisir avant le dépôt : {}.", report.missing_inputs.join(", ")),
        );
    }
    let title = format!("BPF {} — {}", report.year, organisation);
    flow.render(&mut pdf, |page, number, count| {
        let right = page.width() - MARGIN;
        page.text(MARGIN, 40.0, &TextStyle::strong(9.0), "Bilan pédagogique et financier — Cerfa n° 10443");
        page.right_aligned(right, 40.0, &TextStyle::muted(8.0), &title);
        page.line((MARGIN, 50.0), (right, 50.0), 0.8, Colour::ACCENT);
        let bottom = page.height() - 28.0;
        page.right_aligned(right, bottom, &TextStyle::muted(7.0), &format!("page {number}/{count}"));
    });
    pdf.finish()
}

/// The widths of a section's value boxes: one wide box for text, narrower ones for figures.
fn cell_widths(section: &FormSection) -> Vec<f32> {
    if section.columns.len() == 1 && section.columns[0].is_empty() {
        vec![TEXT_CELL]
    } else {
        vec![NUMBER_CELL; section.columns.len()]
    }
}

fn draw_section(flow: &mut Flow, section: &FormSection) {
    let heading = TextStyle::strong(10.0).in_colour(Colour::ACCENT);
    let widths = cell_widths(section);
    let cells_width: f32 = widths.iter().sum();
    let right = flow.left + flow.width;
    // The heading band, kept with the column headings and the first line.
    flow.ensure(96.0);
    flow.gap(8.0);
    let band_top = flow.y;
    flow.push(Op::Frame { x: flow.left, y: band_top, w: flow.width, h: 18.0, width: 1.0, colour: Colour::ACCENT });
    flow.push(Op::Text {
        x: flow.left + 6.0,
        y: band_top + 12.5,
        style: heading,
        text: format!("Cadre {} — {}", section.cadre, section.title),
        role: Role::Heading(2),
    });
    flow.gap(18.0);
    if section.columns.iter().any(|c| !c.is_empty()) {
        let mut x = right - cells_width;
        flow.gap(2.0);
        for (column, width) in section.columns.iter().zip(&widths) {
            flow.push(Op::RightText {
                right: x + width - 4.0,
                y: flow.y + 8.0,
                style: TextStyle::muted(7.5),
                text: (*column).to_owned(),
                role: Role::Paragraph,
            });
            x += width;
        }
        flow.gap(11.0);
    }
    for row in &section.rows {
        draw_row(flow, row, &widths);
    }
    for note in &section.notes {
        flow.gap(2.0);
        flow.paragraph(TextStyle::muted(7.5), 0.0, note);
    }
}

fn draw_row(flow: &mut Flow, row: &FormRow, widths: &[f32]) {
    let style = if row.total { TextStyle::strong(8.5) } else { TextStyle::body(8.5) };
    let cells_width: f32 = widths.iter().sum();
    let label_width = flow.width - LINE_BOX - cells_width - 12.0;
    let label_lines = wrap_lines(&style, &row.label, label_width);
    let cell_lines: Vec<Vec<String>> =
        row.cells.iter().zip(widths).map(|(cell, width)| wrap_lines(&style, cell, width - 8.0)).collect();
    let lines = cell_lines.iter().map(Vec::len).chain([label_lines.len(), 1]).max().unwrap_or(1);
    let height = LEADING * lines as f32 + 6.0;
    flow.ensure(height);
    let top = flow.y;
    let left = flow.left;
    let right = left + flow.width;
    if !row.line.is_empty() {
        flow.push(Op::Frame { x: left, y: top, w: LINE_BOX - 6.0, h: height, width: 0.6, colour: Colour::MUTED });
        flow.push(Op::Text {
            x: left + 4.0,
            y: top + 11.0,
            style: TextStyle::strong(8.0),
            text: row.line.clone(),
            role: Role::Paragraph,
        });
    }
    for (i, text) in label_lines.into_iter().enumerate() {
        let role = if i == 0 { Role::Paragraph } else { Role::Continuation };
        flow.push(Op::Text { x: left + LINE_BOX, y: top + 11.0 + LEADING * i as f32, style, text, role });
    }
    let mut x = right - cells_width;
    for (lines, width) in cell_lines.into_iter().zip(widths) {
        flow.push(Op::Frame { x, y: top, w: *width, h: height, width: 0.6, colour: Colour::INK });
        for (i, text) in lines.into_iter().enumerate() {
            let role = if i == 0 { Role::Paragraph } else { Role::Continuation };
            flow.push(Op::RightText { right: x + width - 4.0, y: top + 11.0 + LEADING * i as f32, style, text, role });
        }
        x += width;
    }
    flow.gap(height + 2.0);
}
