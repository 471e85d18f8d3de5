//! A small PDF toolkit over krilla for the organisation's documents: A4 pages, French text in an
//! embedded font (DejaVu Sans, so every accent and « guillemet » renders and the output is the same
//! on every machine), centred and wrapped lines, rules, boxes, vector QR codes, metadata and
//! embedded files.
//!
//! Coordinates are in points (1/72 inch) from the top-left corner of the page, as in krilla.
//! Documents are deterministic: the same input gives the same bytes (no clock is read here), so a
//! stored SHA-256 identifies a document and a lost file can be rebuilt identically.
//!
//! Usage, for any new document (attendance sheet, certificat de réalisation…):
//! ```ignore
//! let mut pdf = PdfBuilder::new(DocumentInfo { title: "…".into(), ..Default::default() });
//! let mut page = pdf.page(PageFormat::A4Portrait);
//! page.text(50.0, 80.0, &TextStyle::heading(20.0), "Feuille d'émargement");
//! page.wrapped(50.0, 120.0, 495.0, &TextStyle::body(11.0), "…long text…");
//! page.finish();
//! let bytes = pdf.finish()?;
//! ```

use std::sync::OnceLock;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};

/// DejaVu Sans (Debian fonts-dejavu-core, free licence in `assets/fonts/LICENSE-DejaVu.txt`).
const REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
const BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// Errors while building a PDF.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The embedded font could not be read (a packaging defect).
    #[error("police embarquée illisible")]
    Font,
    /// The QR code could not encode the data (too long).
    #[error("QR code impossible : {0}")]
    Qr(String),
    /// krilla refused to write the document.
    #[error("écriture du PDF impossible : {0}")]
    Write(String),
}

impl crate::Classify for PdfError {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            PdfError::Font => "pdf_font",
            PdfError::Qr(_) => "pdf_qr",
            PdfError::Write(_) => "pdf_write",
        }
    }
}

struct LoadedFonts {
    regular: Font,
    bold: Font,
    regular_face: ttf_parser::Face<'static>,
    bold_face: ttf_parser::Face<'static>,
}

fn fonts() -> Result<&'static LoadedFonts, PdfError> {
    static FONTS: OnceLock<Option<LoadedFonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(LoadedFonts {
                regular: Font::new(REGULAR_TTF.into(), 0)?,
                bold: Font::new(BOLD_TTF.into(), 0)?,
                regular_face: ttf_parser::Face::parse(REGULAR_TTF, 0).ok()?,
                bold_face: ttf_parser::Face::parse(BOLD_TTF, 0).ok()?,
            })
        })
        .as_ref()
        .ok_or(PdfError::Font)
}

/// Page sizes in points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFormat {
    /// 595 × 842 pt.
    A4Portrait,
    /// 842 × 595 pt.
    A4Landscape,
}

impl PageFormat {
    /// Width and height in points.
    pub fn size(self) -> (f32, f32) {
        match self {
            PageFormat::A4Portrait => (595.0, 842.0),
            PageFormat::A4Landscape => (842.0, 595.0),
        }
    }
}

/// An RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// Body text.
    pub const INK: Colour = Colour(0x1c, 0x23, 0x21);
    /// Secondary text.
    pub const MUTED: Colour = Colour(0x4a, 0x55, 0x52);
    /// The organisation's green (as on the web pages).
    pub const ACCENT: Colour = Colour(0x0b, 0x6e, 0x4f);
    /// Warnings (revoked…).
    pub const WARN: Colour = Colour(0x8a, 0x3b, 0x12);

    fn fill(self) -> Fill {
        Fill {
            paint: rgb::Color::new(self.0, self.1, self.2).into(),
            opacity: NormalizedF32::ONE,
            rule: Default::default(),
        }
    }
}

/// Font weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

/// How a run of text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    /// Size in points.
    pub size: f32,
    /// Weight.
    pub weight: Weight,
    /// Colour.
    pub colour: Colour,
}

impl TextStyle {
    /// Regular body text.
    pub fn body(size: f32) -> Self {
        TextStyle { size, weight: Weight::Regular, colour: Colour::INK }
    }
    /// Bold text in the accent colour.
    pub fn heading(size: f32) -> Self {
        TextStyle { size, weight: Weight::Bold, colour: Colour::ACCENT }
    }
    /// Bold body text.
    pub fn strong(size: f32) -> Self {
        TextStyle { size, weight: Weight::Bold, colour: Colour::INK }
    }
    /// Secondary text.
    pub fn muted(size: f32) -> Self {
        TextStyle { size, weight: Weight::Regular, colour: Colour::MUTED }
    }
    /// The same style in another colour.
    pub fn in_colour(self, colour: Colour) -> Self {
        TextStyle { colour, ..self }
    }
}

/// Width in points of `text` set in `style` (advance widths, no kerning: close enough to centre
/// and wrap lines).
pub fn text_width(style: &TextStyle, text: &str) -> f32 {
    let Ok(fonts) = fonts() else { return 0.0 };
    let face = match style.weight {
        Weight::Regular => &fonts.regular_face,
        Weight::Bold => &fonts.bold_face,
    };
    let units = f32::from(face.units_per_em());
    let advance: f32 = text
        .chars()
        .map(|c| face.glyph_index(c).and_then(|g| face.glyph_hor_advance(g)).map(f32::from).unwrap_or(units * 0.5))
        .sum();
    advance * style.size / units
}

/// Splits `text` into lines no wider than `max_width` (breaking at spaces; a single word longer
/// than the line stays whole).
pub fn wrap_lines(style: &TextStyle, text: &str, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() { word.to_owned() } else { format!("{current} {word}") };
        if !current.is_empty() && text_width(style, &candidate) > max_width {
            lines.push(std::mem::replace(&mut current, word.to_owned()));
        } else {
            current = candidate;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Document-level information (PDF metadata).
#[derive(Debug, Clone, Default)]
pub struct DocumentInfo {
    /// Title shown by viewers.
    pub title: String,
    /// Author (the organisation).
    pub author: String,
    /// Subject line.
    pub subject: String,
    /// Date of the document (UTC), written as the creation date; never the clock, so output is
    /// reproducible.
    pub date: Option<chrono::NaiveDate>,
}

/// A file attached inside the PDF (e.g. the signed credential of a certificate).
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name inside the PDF.
    pub name: String,
    /// MIME type.
    pub mime_type: String,
    /// Human description.
    pub description: String,
    /// Content, stored uncompressed so that it can be read back with a plain byte search.
    pub data: Vec<u8>,
}

/// A PDF being built.
pub struct PdfBuilder {
    document: Document,
}

impl PdfBuilder {
    /// A new document with its metadata (language `fr`).
    pub fn new(info: DocumentInfo) -> Self {
        let mut document = Document::new_with(SerializeSettings::default());
        let mut metadata = Metadata::new().language("fr".into()).creator("tierslieux-lms".into());
        if !info.title.is_empty() {
            metadata = metadata.title(info.title);
        }
        if !info.author.is_empty() {
            metadata = metadata.authors(vec![info.author]);
        }
        if !info.subject.is_empty() {
            metadata = metadata.description(info.subject);
        }
        if let Some(date) = info.date {
            use chrono::Datelike;
            let year = u16::try_from(date.year()).unwrap_or(2000);
            let month = u8::try_from(date.month()).unwrap_or(1);
            let day = u8::try_from(date.day()).unwrap_or(1);
            metadata = metadata.creation_date(DateTime::new(year).month(month).day(day));
        }
        document.set_metadata(metadata);
        PdfBuilder { document }
    }

    /// Attaches a file to the document.
    pub fn attach(&mut self, attachment: Attachment) {
        let file = krilla::embed::EmbeddedFile {
            path: attachment.name,
            mime_type: krilla::embed::MimeType::new(&attachment.mime_type),
            description: Some(attachment.description),
            association_kind: krilla::embed::AssociationKind::Data,
            data: attachment.data.into(),
            modification_date: None,
            compress: Some(false),
            location: None,
        };
        // None only when the same file name is attached twice; the first one stays.
        let _ = self.document.embed_file(file);
    }

    /// Starts a page; call [`PageCanvas::finish`] before starting the next one.
    pub fn page(&mut self, format: PageFormat) -> PageCanvas<'_> {
        let (width, height) = format.size();
        let settings = PageSettings::from_wh(width, height).unwrap_or_default();
        PageCanvas { page: self.document.start_page_with(settings), width, height, ops: Vec::new() }
    }

    /// The finished document.
    pub fn finish(self) -> Result<Vec<u8>, PdfError> {
        self.document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
    }
}

/// A drawing operation, replayed on the page's single content stream by [`PageCanvas::finish`]
/// (krilla gives one surface per page; recording lets the canvas API stay free of lifetimes).
enum Op {
    Text { x: f32, y: f32, style: TextStyle, text: String },
    Path { path: krilla::geom::Path, fill: Option<Colour>, stroke: Option<(Colour, f32)> },
}

/// One page being drawn; nothing is written until [`PageCanvas::finish`].
pub struct PageCanvas<'a> {
    page: krilla::page::Page<'a>,
    width: f32,
    height: f32,
    ops: Vec<Op>,
}

impl PageCanvas<'_> {
    /// Page width in points.
    pub fn width(&self) -> f32 {
        self.width
    }

    /// Page height in points.
    pub fn height(&self) -> f32 {
        self.height
    }

    /// Draws one line of text with its baseline at `y`, starting at `x`.
    pub fn text(&mut self, x: f32, y: f32, style: &TextStyle, text: &str) {
        self.ops.push(Op::Text { x, y, style: *style, text: text.to_owned() });
    }

    /// Draws one line centred on the page.
    pub fn centred(&mut self, y: f32, style: &TextStyle, text: &str) {
        let x = (self.width - text_width(style, text)) / 2.0;
        self.text(x.max(0.0), y, style, text);
    }

    /// Draws one line ending at `right`.
    pub fn right_aligned(&mut self, right: f32, y: f32, style: &TextStyle, text: &str) {
        let x = right - text_width(style, text);
        self.text(x.max(0.0), y, style, text);
    }

    /// Draws `text` wrapped to `max_width`, first baseline at `y`; returns the baseline after the
    /// last line (where the next block may start).
    pub fn wrapped(&mut self, x: f32, y: f32, max_width: f32, style: &TextStyle, text: &str) -> f32 {
        let leading = style.size * 1.35;
        let mut baseline = y;
        for line in wrap_lines(style, text, max_width) {
            self.text(x, baseline, style, &line);
            baseline += leading;
        }
        baseline
    }

    /// Like [`PageCanvas::wrapped`], each line centred on the page.
    pub fn wrapped_centred(&mut self, y: f32, max_width: f32, style: &TextStyle, text: &str) -> f32 {
        let leading = style.size * 1.35;
        let mut baseline = y;
        for line in wrap_lines(style, text, max_width) {
            self.centred(baseline, style, &line);
            baseline += leading;
        }
        baseline
    }

    /// A straight line.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, colour: Colour) {
        let mut builder = PathBuilder::new();
        builder.move_to(from.0, from.1);
        builder.line_to(to.0, to.1);
        if let Some(path) = builder.finish() {
            self.ops.push(Op::Path { path, fill: None, stroke: Some((colour, width)) });
        }
    }

    /// A rectangle outline.
    pub fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32, colour: Colour) {
        let Some(rect) = krilla::geom::Rect::from_xywh(x, y, w, h) else { return };
        let mut builder = PathBuilder::new();
        builder.push_rect(rect);
        if let Some(path) = builder.finish() {
            self.ops.push(Op::Path { path, fill: None, stroke: Some((colour, width)) });
        }
    }

    /// A filled rectangle.
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Colour) {
        let Some(rect) = krilla::geom::Rect::from_xywh(x, y, w, h) else { return };
        let mut builder = PathBuilder::new();
        builder.push_rect(rect);
        if let Some(path) = builder.finish() {
            self.ops.push(Op::Path { path, fill: Some(colour), stroke: None });
        }
    }

    /// A QR code of `data` as vector squares, `size` points wide, top-left corner at (x, y).
    /// Medium error correction; a quiet zone of 2 modules is left inside `size`.
    pub fn qr_code(&mut self, x: f32, y: f32, size: f32, data: &str) -> Result<(), PdfError> {
        let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
            .map_err(|e| PdfError::Qr(e.to_string()))?;
        let modules = code.width();
        let colours = code.to_colors();
        let quiet = 2.0;
        let module = size / (modules as f32 + 2.0 * quiet);
        let mut builder = PathBuilder::new();
        for (index, colour) in colours.iter().enumerate() {
            if *colour == qrcode::Color::Dark {
                let col = (index % modules) as f32;
                let row = (index / modules) as f32;
                if let Some(rect) = krilla::geom::Rect::from_xywh(
                    x + (quiet + col) * module,
                    y + (quiet + row) * module,
                    module,
                    module,
                ) {
                    builder.push_rect(rect);
                }
            }
        }
        if let Some(path) = builder.finish() {
            self.ops.push(Op::Path { path, fill: Some(Colour(0, 0, 0)), stroke: None });
        }
        Ok(())
    }

    /// Draws everything on the page's one content stream and ends the page.
    pub fn finish(mut self) {
        let fonts = fonts().ok();
        let mut surface = self.page.surface();
        for op in self.ops.drain(..) {
            match op {
                Op::Text { x, y, style, text } => {
                    let Some(fonts) = fonts else { continue };
                    let font = match style.weight {
                        Weight::Regular => fonts.regular.clone(),
                        Weight::Bold => fonts.bold.clone(),
                    };
                    surface.set_stroke(None);
                    surface.set_fill(Some(style.colour.fill()));
                    surface.draw_text(Point::from_xy(x, y), font, style.size, &text, false, TextDirection::LeftToRight);
                }
                Op::Path { path, fill, stroke } => {
                    surface.set_fill(fill.map(Colour::fill));
                    surface.set_stroke(stroke.map(|(colour, width)| Stroke {
                        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
                        width,
                        ..Default::default()
                    }));
                    surface.draw_path(&path);
                }
            }
        }
        surface.finish();
        self.page.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wider_text_measures_wider_and_wraps() {
        let style = TextStyle::body(12.0);
        assert!(text_width(&style, "Élaboration") > text_width(&style, "Él"));
        let lines = wrap_lines(&style, &"tiers-lieu ".repeat(30), 200.0);
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| text_width(&style, l) <= 200.0));
    }

    #[test]
    fn a_page_with_text_and_a_qr_code_is_a_pdf() {
        let mut pdf = PdfBuilder::new(DocumentInfo { title: "Essai « é »".into(), ..Default::default() });
        let mut page = pdf.page(PageFormat::A4Landscape);
        page.centred(100.0, &TextStyle::heading(24.0), "Certificat — « Piloter un tiers-lieu »");
        assert!(page.qr_code(40.0, 400.0, 120.0, "http://127.0.0.1:8080/verify/abc").is_ok());
        page.finish();
        let bytes = pdf.finish().unwrap_or_default();
        assert!(bytes.starts_with(b"%PDF-"));
    }
}
