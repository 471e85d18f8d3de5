//! A piece of the Qualiopi quality file printed for an auditor: any [`EvidenceTable`] as a titled,
//! tagged table (A4 landscape, as many pages as needed, the column headings repeated on each
//! page), under the organisation's name, the indicator it proves, the period and the date it was
//! generated. An empty table says « aucune donnée enregistrée », so the auditor sees it was checked.

use chrono::NaiveDate;

use super::flow::{Flow, Op};
use super::pdf::{
    Colour, Conformance, DocumentInfo, PageFormat, PdfBuilder, PdfError, Role, TextStyle, text_width, wrap_lines,
};
use crate::locale::date_fr;
use crate::quality::EvidenceTable;

const MARGIN: f32 = 36.0;
const LEADING: f32 = 9.5;
const SIZE: f32 = 7.5;

/// What is printed around the table.
#[derive(Debug, Clone)]
pub struct EvidenceHeader {
    /// The organisation's name.
    pub organisation: String,
    /// The period the evidence covers, in words.
    pub period: String,
    /// The day the file was generated (Paris date).
    pub generated_on: NaiveDate,
}

/// The sentence written where a table has no row.
pub const NO_DATA: &str = "Aucune donnée enregistrée.";

/// Renders `table` as a PDF/A-2a, PDF/UA-1 document.
pub fn render_evidence(table: &EvidenceTable, header: &EvidenceHeader) -> Result<Vec<u8>, PdfError> {
    let mut pdf = PdfBuilder::new(DocumentInfo {
        title: format!("{} — {}", table.title, header.organisation),
        author: header.organisation.clone(),
        subject: format!("Qualiopi, indicateur {} — {}", table.indicator, table.description),
        date: Some(header.generated_on),
        conformance: Conformance::default(),
    });
    let mut flow = Flow::new(PageFormat::A4Landscape, 70.0, 46.0, MARGIN);
    flow.heading(1, TextStyle::heading(15.0), &table.title);
    flow.paragraph(
        TextStyle::muted(8.5),
        0.0,
        &format!(
            "Indicateur Qualiopi n° {}. {} Période : {}. Généré le {} à partir des données enregistrées.",
            table.indicator,
            table.description,
            header.period,
            date_fr(header.generated_on)
        ),
    );
    flow.gap(6.0);
    let widths = column_widths(table, flow.width);
    draw_headings(&mut flow, &table.columns, &widths);
    if table.rows.is_empty() {
        flow.gap(4.0);
        flow.paragraph(TextStyle::strong(9.0), 0.0, NO_DATA);
    }
    for row in &table.rows {
        draw_row(&mut flow, &table.columns, row, &widths);
    }
    flow.gap(6.0);
    flow.paragraph(TextStyle::muted(7.5), 0.0, &crate::locale::count_fr(table.rows.len() as i64, "ligne", "lignes"));
    let title = format!("{} — {}", header.organisation, table.file_stem);
    flow.render(&mut pdf, |page, number, count| {
        let right = page.width() - MARGIN;
        page.text(MARGIN, 34.0, &TextStyle::strong(8.5), &format!("Dossier qualité — indicateur {}", table.indicator));
        page.right_aligned(right, 34.0, &TextStyle::muted(7.5), &title);
        page.line((MARGIN, 42.0), (right, 42.0), 0.8, Colour::ACCENT);
        let bottom = page.height() - 24.0;
        page.right_aligned(right, bottom, &TextStyle::muted(7.0), &format!("page {number}/{count}"));
    });
    pdf.finish()
}

/// Each column at least as wide as its widest word (heading included), so nothing overlaps;
/// the room left shared in proportion to each column's longest text, so that a long objectives
/// column gets the room a count does not need.
fn column_widths(table: &EvidenceTable, total: f32) -> Vec<f32> {
    let count = table.columns.len().max(1);
    let cells = |i: usize| {
        std::iter::once((TextStyle::strong(SIZE), table.columns.get(i).map(String::as_str).unwrap_or("")))
            .chain(table.rows.iter().map(move |r| (TextStyle::body(SIZE), r.get(i).map(String::as_str).unwrap_or(""))))
    };
    let minimums: Vec<f32> = (0..count)
        .map(|i| {
            let widest = cells(i)
                .flat_map(|(style, text)| text.split_whitespace().map(move |word| text_width(&style, word)))
                .fold(0.0_f32, f32::max);
            (widest + 8.0).min(total / 4.0)
        })
        .collect();
    let weights: Vec<f32> = (0..count)
        .map(|i| {
            let longest = cells(i).map(|(_, text)| text.chars().count()).max().unwrap_or(1);
            (longest as f32).clamp(6.0, 60.0)
        })
        .collect();
    let floor: f32 = minimums.iter().sum();
    if floor >= total {
        return minimums.iter().map(|m| total * m / floor).collect();
    }
    let spare = total - floor;
    let sum: f32 = weights.iter().sum();
    minimums.iter().zip(&weights).map(|(m, w)| m + spare * w / sum).collect()
}

fn draw_headings(flow: &mut Flow, columns: &[String], widths: &[f32]) {
    let style = TextStyle::strong(SIZE);
    let lines: Vec<Vec<String>> = columns.iter().zip(widths).map(|(c, w)| wrap_lines(&style, c, w - 6.0)).collect();
    let height = LEADING * lines.iter().map(Vec::len).max().unwrap_or(1) as f32 + 5.0;
    flow.ensure(height + LEADING * 2.0);
    let top = flow.y;
    let mut x = flow.left;
    for (cell, width) in lines.into_iter().zip(widths) {
        for (i, text) in cell.into_iter().enumerate() {
            let role = if i == 0 { Role::Paragraph } else { Role::Continuation };
            flow.push(Op::Text { x: x + 3.0, y: top + 9.0 + LEADING * i as f32, style, text, role });
        }
        x += width;
    }
    flow.push(Op::Line {
        from: (flow.left, top + height),
        to: (flow.left + flow.width, top + height),
        width: 0.8,
        colour: Colour::ACCENT,
    });
    flow.gap(height + 2.0);
}

fn draw_row(flow: &mut Flow, columns: &[String], row: &[String], widths: &[f32]) {
    let style = TextStyle::body(SIZE);
    let lines: Vec<Vec<String>> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| wrap_lines(&style, row.get(i).map(String::as_str).unwrap_or(""), w - 6.0))
        .collect();
    let height = LEADING * lines.iter().map(Vec::len).max().unwrap_or(1).max(1) as f32 + 4.0;
    if flow.ensure(height) {
        // A new page: the headings again, so each page reads on its own.
        draw_headings(flow, columns, widths);
    }
    let top = flow.y;
    let mut x = flow.left;
    for (cell, width) in lines.into_iter().zip(widths) {
        for (i, text) in cell.into_iter().enumerate() {
            let role = if i == 0 { Role::Paragraph } else { Role::Continuation };
            flow.push(Op::Text { x: x + 3.0, y: top + 9.0 + LEADING * i as f32, style, text, role });
        }
        x += width;
    }
    flow.push(Op::Line {
        from: (flow.left, top + height),
        to: (flow.left + flow.width, top + height),
        width: 0.3,
        colour: Colour::MUTED,
    });
    flow.gap(height + 1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> EvidenceHeader {
        EvidenceHeader {
            organisation: "Coopérative".into(),
            period: "du 1er janvier au 31 décembre 2026".into(),
            generated_on: NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default(),
        }
    }

    fn table(rows: usize) -> EvidenceTable {
        EvidenceTable {
            indicator: 2,
            file_stem: "02-essai".into(),
            title: "Essai".into(),
            description: "Un essai.".into(),
            columns: vec!["Formation".into(), "Objectifs très longs".into(), "n".into()],
            rows: (0..rows).map(|i| vec![format!("F{i}"), "objectif ".repeat(30), i.to_string()]).collect(),
        }
    }

    #[test]
    fn empty_and_long_tables_render() {
        for rows in [0, 1, 120] {
            let bytes = render_evidence(&table(rows), &header()).unwrap_or_default();
            assert!(bytes.starts_with(b"%PDF"), "{rows} rows");
        }
    }
}
