//! A small PDF toolkit over krilla for the organisation's documents: A4 pages, French text in an
//! embedded font (DejaVu Sans, so every accent and « guillemet » renders and the output is the same
//! on every machine), centred and wrapped lines, rules, boxes, vector QR codes, metadata and
//! embedded files.
//!
//! Every document is written under krilla's validators: PDF/A-2a (PDF/A-3a for a document that
//! carries an attachment) and PDF/UA-1, so krilla refuses to write a file that breaks either
//! standard. Each text line and drawing carries a [`Role`]: paragraphs, headings (also listed in
//! the outline), figures with their text alternative, and decoration marked as artifacts; the tag
//! tree follows the order in which things are drawn.
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

use crate::documents::organisation::SettingKey;

use std::num::NonZeroU16;

use krilla::color::rgb;
use krilla::configure::{Accessibility, Archival, ConfigurationBuilder};
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::tagging::{Artifact, ArtifactType, ContentTag, Identifier, Node, SpanTag, Tag, TagGroup, TagTree};
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
    /// krilla refused to write the document (a validator found a breach of PDF/A or PDF/UA).
    #[error("écriture du PDF impossible : {0}")]
    Write(String),
    /// A setting the document prints is not filled in: it is not printed with a placeholder.
    #[error(
        "réglage manquant : {key} — `lms documents setting {key} \"{example}\"`",
        key = .0.as_str(),
        example = setting_example(*.0)
    )]
    MissingSetting(SettingKey),
}

/// What the refusal suggests typing for a missing setting.
fn setting_example(key: SettingKey) -> &'static str {
    match key {
        SettingKey::Representative => "Nom Prénom, qualité",
        SettingKey::Name => "Raison sociale",
        SettingKey::City => "Ville",
        SettingKey::Siret => "12345678900011",
        SettingKey::Nda => "75860000000",
        SettingKey::Address => "1 rue …",
        SettingKey::Postcode => "86000",
        SettingKey::Email => "contact@exemple.fr",
        SettingKey::Phone => "05 00 00 00 00",
        _ => "valeur",
    }
}

impl crate::Classify for PdfError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            // The request is fine; the organisation has to be configured first.
            PdfError::MissingSetting(_) => crate::ErrorKind::Conflict,
            _ => crate::ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            PdfError::Font => "pdf_font",
            PdfError::Qr(_) => "pdf_qr",
            PdfError::Write(_) => "pdf_write",
            PdfError::MissingSetting(_) => "missing_setting",
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

/// The standard a document is written to; krilla's validators refuse to write a file that breaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Conformance {
    /// PDF/A-2a and PDF/UA-1: archival, tagged and accessible; no attachment allowed.
    #[default]
    ArchivalA2,
    /// PDF/A-3a and PDF/UA-1: as above, with attached files declared as associated files (`/AF`).
    ArchivalA3,
}

impl Conformance {
    fn archival(self) -> Archival {
        match self {
            Conformance::ArchivalA2 => Archival::A2_A,
            Conformance::ArchivalA3 => Archival::A3_A,
        }
    }

    /// The part of PDF/A declared in the XMP metadata (`pdfaid:part`).
    pub fn pdfa_part(self) -> u8 {
        match self {
            Conformance::ArchivalA2 => 2,
            Conformance::ArchivalA3 => 3,
        }
    }
}

/// Document-level information (PDF metadata).
#[derive(Debug, Clone, Default)]
pub struct DocumentInfo {
    /// Title shown by viewers (required by PDF/UA: an empty title falls back to "Document").
    pub title: String,
    /// Author (the organisation).
    pub author: String,
    /// Subject line.
    pub subject: String,
    /// Date of the document (UTC), written as the creation date; never the clock, so output is
    /// reproducible. PDF/A needs one: without it, 1 January 2000 is written.
    pub date: Option<chrono::NaiveDate>,
    /// The standard the file is written to.
    pub conformance: Conformance,
}

/// A file attached inside the PDF (e.g. the signed credential of a certificate), declared as an
/// associated file of the document (`/AF`, relationship `Data`: what the page shows is drawn from
/// it). Only a [`Conformance::ArchivalA3`] document may carry one.
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

/// What a text line or a drawing is, for the document's structure (tag tree).
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// Body text starting a paragraph of its own.
    Paragraph,
    /// The next line of the paragraph (or heading) drawn just before.
    Continuation,
    /// A heading (1 is the document's title, 2 its sections); headings are listed in the outline.
    Heading(u16),
    /// A figure (QR code, drawn signature) with its text alternative.
    Figure(String),
    /// Decoration that carries no meaning (frames, rules, page numbers).
    Artifact,
}

/// A structure element being gathered: its kind and the marked contents in it.
enum Group {
    Paragraph(Vec<Identifier>),
    Heading(u16, String, Vec<Identifier>),
    Figure(String, Vec<Identifier>),
}

impl Group {
    fn into_node(self) -> Node {
        let children = |ids: Vec<Identifier>| ids.into_iter().map(Node::from).collect::<Vec<_>>();
        match self {
            Group::Paragraph(ids) => TagGroup::with_children(Tag::P, children(ids)).into(),
            Group::Heading(level, title, ids) => {
                let level = NonZeroU16::new(level).unwrap_or(NonZeroU16::MIN);
                TagGroup::with_children(Tag::Hn(level, Some(title)), children(ids)).into()
            }
            Group::Figure(alt, ids) => TagGroup::with_children(Tag::Figure(Some(alt)), children(ids)).into(),
        }
    }
}

/// The document's structure as it is drawn: tag groups in reading order, and the outline.
#[derive(Default)]
struct Structure {
    groups: Vec<Group>,
    outline: Vec<(String, usize, f32)>,
}

impl Structure {
    fn add(&mut self, role: &Role, id: Identifier, text: &str, page_index: usize, y: f32) {
        match role {
            Role::Artifact => {}
            Role::Paragraph => self.groups.push(Group::Paragraph(vec![id])),
            Role::Continuation => match self.groups.last_mut() {
                Some(Group::Paragraph(ids) | Group::Heading(_, _, ids)) => ids.push(id),
                _ => self.groups.push(Group::Paragraph(vec![id])),
            },
            Role::Heading(level) => {
                if *level <= 2 {
                    self.outline.push((text.to_owned(), page_index, y));
                }
                self.groups.push(Group::Heading(*level, text.to_owned(), vec![id]));
            }
            Role::Figure(alt) => self.groups.push(Group::Figure(alt.clone(), vec![id])),
        }
    }
}

/// A PDF being built.
pub struct PdfBuilder {
    document: Document,
    structure: Structure,
    pages: usize,
    date: DateTime,
}

impl PdfBuilder {
    /// A new document with its metadata (language `fr`), written to `info.conformance`.
    pub fn new(info: DocumentInfo) -> Self {
        let configuration = ConfigurationBuilder::new()
            .with_archival_validator(info.conformance.archival())
            .with_accessibility_validator(Accessibility::UA1)
            .finish()
            .unwrap_or_default();
        let settings = SerializeSettings { configuration, enable_tagging: true, ..SerializeSettings::default() };
        let mut document = Document::new_with(settings);
        let title = if info.title.is_empty() { "Document".to_owned() } else { info.title };
        let mut metadata = Metadata::new().language("fr".into()).creator("tierslieux-lms".into()).title(title);
        if !info.author.is_empty() {
            metadata = metadata.authors(vec![info.author]);
        }
        if !info.subject.is_empty() {
            metadata = metadata.description(info.subject);
        }
        let date = {
            use chrono::Datelike;
            let date = info.date.unwrap_or_default();
            let year = u16::try_from(date.year()).unwrap_or(2000);
            let month = u8::try_from(date.month()).unwrap_or(1);
            let day = u8::try_from(date.day()).unwrap_or(1);
            DateTime::new(year).month(month).day(day)
        };
        metadata = metadata.creation_date(date);
        document.set_metadata(metadata);
        PdfBuilder { document, structure: Structure::default(), pages: 0, date }
    }

    /// Attaches a file to the document as an associated file.
    pub fn attach(&mut self, attachment: Attachment) {
        let file = krilla::embed::EmbeddedFile {
            path: attachment.name,
            mime_type: krilla::embed::MimeType::new(&attachment.mime_type),
            description: Some(attachment.description),
            association_kind: krilla::embed::AssociationKind::Data,
            data: attachment.data.into(),
            modification_date: Some(self.date),
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
        let index = self.pages;
        self.pages += 1;
        PageCanvas {
            page: self.document.start_page_with(settings),
            structure: &mut self.structure,
            index,
            width,
            height,
            ops: Vec::new(),
        }
    }

    /// The finished document: krilla checks it against the validators and refuses to write one
    /// that breaks them.
    pub fn finish(mut self) -> Result<Vec<u8>, PdfError> {
        let mut tree = TagTree::new().with_lang(Some("fr".into()));
        let mut outline = Outline::new();
        for (title, page, y) in std::mem::take(&mut self.structure.outline) {
            outline.push_child(OutlineNode::new(title, XyzDestination::new(page, Point::from_xy(0.0, y))));
        }
        for group in std::mem::take(&mut self.structure.groups) {
            tree.push(group.into_node());
        }
        self.document.set_tag_tree(tree);
        self.document.set_outline(outline);
        self.document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
    }
}

/// A drawing operation, replayed on the page's single content stream by [`PageCanvas::finish`]
/// (krilla gives one surface per page; recording lets the canvas API stay free of lifetimes).
enum Op {
    Text { x: f32, y: f32, style: TextStyle, text: String, role: Role },
    Path { path: krilla::geom::Path, fill: Option<Colour>, stroke: Option<(Colour, f32)>, role: Role },
}

/// One page being drawn; nothing is written until [`PageCanvas::finish`].
pub struct PageCanvas<'a> {
    page: krilla::page::Page<'a>,
    structure: &'a mut Structure,
    index: usize,
    width: f32,
    height: f32,
    ops: Vec<Op>,
}

/// `text` with every character the embedded font cannot draw (and control or private-use
/// characters, which PDF/A forbids) replaced, so that a stray character in a name never stops a
/// document from being written.
fn printable(text: &str) -> String {
    let Ok(fonts) = fonts() else { return text.to_owned() };
    text.chars()
        .map(|c| {
            let private = ('\u{E000}'..='\u{F8FF}').contains(&c);
            if c.is_control() || private || fonts.regular_face.glyph_index(c).is_none() {
                if c.is_whitespace() { ' ' } else { '?' }
            } else {
                c
            }
        })
        .collect()
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

    /// Draws one line of body text (a paragraph of its own) with its baseline at `y`.
    pub fn text(&mut self, x: f32, y: f32, style: &TextStyle, text: &str) {
        self.text_as(Role::Paragraph, x, y, style, text);
    }

    /// Draws one line of text with the given role.
    pub fn text_as(&mut self, role: Role, x: f32, y: f32, style: &TextStyle, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        self.ops.push(Op::Text { x, y, style: *style, text: printable(text), role });
    }

    /// Draws one line centred on the page.
    pub fn centred(&mut self, y: f32, style: &TextStyle, text: &str) {
        self.centred_as(Role::Paragraph, y, style, text);
    }

    /// Draws one line centred on the page, with the given role.
    pub fn centred_as(&mut self, role: Role, y: f32, style: &TextStyle, text: &str) {
        let x = (self.width - text_width(style, text)) / 2.0;
        self.text_as(role, x.max(0.0), y, style, text);
    }

    /// Draws one line ending at `right`.
    pub fn right_aligned(&mut self, right: f32, y: f32, style: &TextStyle, text: &str) {
        self.right_aligned_as(Role::Paragraph, right, y, style, text);
    }

    /// Draws one line ending at `right`, with the given role.
    pub fn right_aligned_as(&mut self, role: Role, right: f32, y: f32, style: &TextStyle, text: &str) {
        let x = right - text_width(style, text);
        self.text_as(role, x.max(0.0), y, style, text);
    }

    /// Draws `text` wrapped to `max_width` (one paragraph), first baseline at `y`; returns the
    /// baseline after the last line (where the next block may start).
    pub fn wrapped(&mut self, x: f32, y: f32, max_width: f32, style: &TextStyle, text: &str) -> f32 {
        let leading = style.size * 1.35;
        let mut baseline = y;
        for (i, line) in wrap_lines(style, text, max_width).into_iter().enumerate() {
            let role = if i == 0 { Role::Paragraph } else { Role::Continuation };
            self.text_as(role, x, baseline, style, &line);
            baseline += leading;
        }
        baseline
    }

    /// Like [`PageCanvas::wrapped`], each line centred on the page; `role` is the first line's.
    pub fn wrapped_centred_as(&mut self, role: Role, y: f32, max_width: f32, style: &TextStyle, text: &str) -> f32 {
        let leading = style.size * 1.35;
        let mut baseline = y;
        for (i, line) in wrap_lines(style, text, max_width).into_iter().enumerate() {
            let role = if i == 0 { role.clone() } else { Role::Continuation };
            self.centred_as(role, baseline, style, &line);
            baseline += leading;
        }
        baseline
    }

    /// Like [`PageCanvas::wrapped`], each line centred on the page.
    pub fn wrapped_centred(&mut self, y: f32, max_width: f32, style: &TextStyle, text: &str) -> f32 {
        self.wrapped_centred_as(Role::Paragraph, y, max_width, style, text)
    }

    /// A straight line (decoration).
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, colour: Colour) {
        let mut builder = PathBuilder::new();
        builder.move_to(from.0, from.1);
        builder.line_to(to.0, to.1);
        if let Some(path) = builder.finish() {
            self.ops.push(Op::Path { path, fill: None, stroke: Some((colour, width)), role: Role::Artifact });
        }
    }

    /// Strokes drawn as one figure with its text alternative (a drawn signature): each stroke is a
    /// polyline through its points; a stroke of one point is a dot.
    pub fn strokes(&mut self, strokes: &[Vec<(f32, f32)>], width: f32, colour: Colour, alt: &str) {
        let mut builder = PathBuilder::new();
        for stroke in strokes {
            let Some(&(x0, y0)) = stroke.first() else { continue };
            builder.move_to(x0, y0);
            if stroke.len() == 1 {
                builder.line_to(x0 + width.max(0.8), y0);
            }
            for &(x, y) in &stroke[1..] {
                builder.line_to(x, y);
            }
        }
        if let Some(path) = builder.finish() {
            self.ops.push(Op::Path {
                path,
                fill: None,
                stroke: Some((colour, width)),
                role: Role::Figure(alt.to_owned()),
            });
        }
    }

    /// A rectangle outline (decoration).
    pub fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32, colour: Colour) {
        let Some(rect) = krilla::geom::Rect::from_xywh(x, y, w, h) else { return };
        let mut builder = PathBuilder::new();
        builder.push_rect(rect);
        if let Some(path) = builder.finish() {
            self.ops.push(Op::Path { path, fill: None, stroke: Some((colour, width)), role: Role::Artifact });
        }
    }

    /// A filled rectangle (decoration).
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Colour) {
        let Some(rect) = krilla::geom::Rect::from_xywh(x, y, w, h) else { return };
        let mut builder = PathBuilder::new();
        builder.push_rect(rect);
        if let Some(path) = builder.finish() {
            self.ops.push(Op::Path { path, fill: Some(colour), stroke: None, role: Role::Artifact });
        }
    }

    /// A QR code of `data` as vector squares, `size` points wide, top-left corner at (x, y), as a
    /// figure whose text alternative is `alt`. Medium error correction; a quiet zone of 2 modules
    /// is left inside `size`.
    pub fn qr_code(&mut self, x: f32, y: f32, size: f32, data: &str, alt: &str) -> Result<(), PdfError> {
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
            self.ops.push(Op::Path {
                path,
                fill: Some(Colour(0, 0, 0)),
                stroke: None,
                role: Role::Figure(alt.to_owned()),
            });
        }
        Ok(())
    }

    /// Draws everything on the page's one content stream, each piece marked with its role, and
    /// ends the page.
    pub fn finish(mut self) {
        let fonts = fonts().ok();
        let mut surface = self.page.surface();
        for op in self.ops.drain(..) {
            match op {
                Op::Text { x, y, style, text, role } => {
                    let Some(fonts) = fonts else { continue };
                    let font = match style.weight {
                        Weight::Regular => fonts.regular.clone(),
                        Weight::Bold => fonts.bold.clone(),
                    };
                    let id = start_marked(&mut surface, &role);
                    surface.set_stroke(None);
                    surface.set_fill(Some(style.colour.fill()));
                    surface.draw_text(Point::from_xy(x, y), font, style.size, &text, false, TextDirection::LeftToRight);
                    surface.end_tagged();
                    self.structure.add(&role, id, &text, self.index, y - style.size);
                }
                Op::Path { path, fill, stroke, role } => {
                    let id = start_marked(&mut surface, &role);
                    surface.set_fill(fill.map(Colour::fill));
                    surface.set_stroke(stroke.map(|(colour, width)| Stroke {
                        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
                        width,
                        ..Default::default()
                    }));
                    surface.draw_path(&path);
                    surface.end_tagged();
                    self.structure.add(&role, id, "", self.index, 0.0);
                }
            }
        }
        surface.finish();
        self.page.finish();
    }
}

/// Opens the marked content of one drawing: text as a span, figures as their content, the rest
/// as an artifact.
fn start_marked(surface: &mut Surface<'_>, role: &Role) -> Identifier {
    match role {
        Role::Artifact => surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(ArtifactType::Other))),
        Role::Figure(_) => surface.start_tagged(ContentTag::Other),
        _ => surface.start_tagged(ContentTag::Span(SpanTag::empty())),
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
        assert!(page.qr_code(40.0, 400.0, 120.0, "http://127.0.0.1:8080/verify/abc", "QR code").is_ok());
        page.finish();
        let bytes = pdf.finish().unwrap_or_else(|e| panic!("{e}"));
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("<pdfaid:part>2</pdfaid:part>"), "PDF/A-2 declared in the XMP");
        assert!(text.contains("pdfuaid:part"), "PDF/UA-1 declared in the XMP");
        assert!(text.contains("/StructTreeRoot"), "tagged");
    }
}
