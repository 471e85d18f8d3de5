//! Flowing layout for documents longer than a page (attendance sheets, attestations): drawing
//! operations are laid out top to bottom and cut into pages when the next block does not fit,
//! then replayed on [`PdfBuilder`] pages with a header and footer drawn on each.

use super::pdf::{Colour, PageCanvas, PageFormat, PdfBuilder, Role, TextStyle, wrap_lines};

/// One drawing operation, positioned on its page.
#[derive(Debug, Clone)]
pub enum Op {
    /// A line of text, baseline at `y`.
    Text {
        /// Left edge.
        x: f32,
        /// Baseline.
        y: f32,
        /// Style.
        style: TextStyle,
        /// Text.
        text: String,
        /// What it is in the document's structure.
        role: Role,
    },
    /// A line of text ending at `right`.
    RightText {
        /// Right edge.
        right: f32,
        /// Baseline.
        y: f32,
        /// Style.
        style: TextStyle,
        /// Text.
        text: String,
        /// What it is in the document's structure.
        role: Role,
    },
    /// A straight line.
    Line {
        /// Start.
        from: (f32, f32),
        /// End.
        to: (f32, f32),
        /// Stroke width.
        width: f32,
        /// Colour.
        colour: Colour,
    },
    /// A rectangle outline.
    Frame {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Stroke width.
        width: f32,
        /// Colour.
        colour: Colour,
    },
    /// A drawing made of strokes (a drawn signature), one figure with its text alternative.
    Drawing {
        /// Strokes, each a list of points in page coordinates.
        strokes: Vec<Vec<(f32, f32)>>,
        /// Stroke width.
        width: f32,
        /// Text alternative.
        alt: String,
    },
}

impl Op {
    fn draw(&self, page: &mut PageCanvas<'_>) {
        match self {
            Op::Text { x, y, style, text, role } => page.text_as(role.clone(), *x, *y, style, text),
            Op::RightText { right, y, style, text, role } => {
                page.right_aligned_as(role.clone(), *right, *y, style, text)
            }
            Op::Line { from, to, width, colour } => page.line(*from, *to, *width, *colour),
            Op::Frame { x, y, w, h, width, colour } => page.frame(*x, *y, *w, *h, *width, *colour),
            Op::Drawing { strokes, width, alt } => page.strokes(strokes, *width, Colour::INK, alt),
        }
    }
}

/// A document being laid out.
pub struct Flow {
    format: PageFormat,
    pages: Vec<Vec<Op>>,
    /// Current position (top of the next block).
    pub y: f32,
    top: f32,
    bottom: f32,
    /// Left margin.
    pub left: f32,
    /// Usable width.
    pub width: f32,
}

impl Flow {
    /// A flow on `format` pages with the given margins (points).
    pub fn new(format: PageFormat, top: f32, bottom_margin: f32, side_margin: f32) -> Self {
        let (page_width, page_height) = format.size();
        Flow {
            format,
            pages: vec![Vec::new()],
            y: top,
            top,
            bottom: page_height - bottom_margin,
            left: side_margin,
            width: page_width - 2.0 * side_margin,
        }
    }

    /// Starts a new page.
    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.top;
    }

    /// Makes room for a block `height` points tall: a new page if it does not fit on this one.
    /// Returns true when a page was started.
    pub fn ensure(&mut self, height: f32) -> bool {
        if self.y + height > self.bottom && self.y > self.top {
            self.new_page();
            return true;
        }
        false
    }

    /// Adds an operation to the current page.
    pub fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// Vertical space.
    pub fn gap(&mut self, height: f32) {
        self.y += height;
    }

    /// A paragraph wrapped to the usable width minus `indent`, kept on one page when it fits.
    pub fn paragraph(&mut self, style: TextStyle, indent: f32, text: &str) {
        self.block(Role::Paragraph, style, indent, text);
    }

    /// A heading (`level` 1 for the document's title, 2 for its sections), wrapped like a
    /// paragraph and kept with at least two lines of what follows.
    pub fn heading(&mut self, level: u16, style: TextStyle, text: &str) {
        let lines = wrap_lines(&style, text, self.width).len() as f32;
        self.ensure(style.size * 1.35 * lines + 30.0);
        self.block(Role::Heading(level), style, 0.0, text);
    }

    fn block(&mut self, role: Role, style: TextStyle, indent: f32, text: &str) {
        let leading = style.size * 1.35;
        let lines = wrap_lines(&style, text, self.width - indent);
        let height = leading * lines.len() as f32;
        if height <= self.bottom - self.top {
            self.ensure(height);
        }
        for (i, line) in lines.into_iter().enumerate() {
            self.ensure(leading);
            self.y += style.size;
            let role = if i == 0 { role.clone() } else { Role::Continuation };
            self.push(Op::Text { x: self.left + indent, y: self.y, style, text: line, role });
            self.y += leading - style.size;
        }
    }

    /// A horizontal rule across the usable width.
    pub fn rule(&mut self, colour: Colour) {
        self.ensure(6.0);
        self.y += 3.0;
        self.push(Op::Line { from: (self.left, self.y), to: (self.left + self.width, self.y), width: 0.6, colour });
        self.y += 3.0;
    }

    /// Number of pages so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Renders the pages with the organisation's letterhead at the top (its name, then its
    /// identity lines) and `footer` with "page n/N" at the bottom: the frame every document a
    /// trainee receives shares.
    pub fn render_with_letterhead(self, pdf: &mut PdfBuilder, organisation: &[String], footer: &str) {
        self.render(pdf, |page, number, count| {
            let right = page.width() - 56.0;
            letterhead(page, number, organisation, 56.0, right - 56.0);
            page.line((56.0, 96.0), (right, 96.0), 0.8, Colour::ACCENT);
            let bottom = page.height() - 36.0;
            let number_text = format!("page {number}/{count}");
            let number_width = super::pdf::text_width(&TextStyle::muted(7.0), &number_text);
            fitted_line(page, Role::Artifact, 56.0, bottom, right - 56.0 - number_width - 12.0, 7.0, footer);
            page.right_aligned_as(Role::Artifact, right, bottom, &TextStyle::muted(7.0), &number_text);
        });
    }

    /// Draws every page into `pdf`; `decorate(page, number, count)` adds headers and footers.
    pub fn render(self, pdf: &mut PdfBuilder, mut decorate: impl FnMut(&mut PageCanvas<'_>, usize, usize)) {
        let count = self.pages.len();
        for (index, ops) in self.pages.into_iter().enumerate() {
            let mut page = pdf.page(self.format);
            decorate(&mut page, index + 1, count);
            for op in &ops {
                op.draw(&mut page);
            }
            page.finish();
        }
    }
}

/// The organisation's lines at the top of a page, each shrunk to fit `width`: read as text on the
/// first page, decoration on the others.
pub fn letterhead(page: &mut PageCanvas<'_>, number: usize, organisation: &[String], left: f32, width: f32) {
    let mut y = 50.0;
    for (i, line) in organisation.iter().enumerate() {
        let (size, weight_strong) = if i == 0 { (10.0, true) } else { (7.5, false) };
        let role = if number == 1 { Role::Paragraph } else { Role::Artifact };
        let style = if weight_strong { TextStyle::strong(size) } else { TextStyle::muted(size) };
        let size = fitted_size(&style, line, width, 5.0);
        page.text_as(role, left, y, &TextStyle { size, ..style }, line);
        y += if i == 0 { 12.0 } else { 10.0 };
    }
}

/// The largest size, at most `style.size` and at least `minimum`, at which `text` fits `width`.
pub fn fitted_size(style: &TextStyle, text: &str, width: f32, minimum: f32) -> f32 {
    let natural = super::pdf::text_width(style, text);
    if natural <= width || natural <= 0.0 {
        return style.size;
    }
    (style.size * width / natural).max(minimum)
}

/// One muted line of at most `size` points, shrunk to fit `width` down to 5 points and, if still
/// too long, wrapped onto the lines above `baseline` (footers never run off the page).
pub fn fitted_line(page: &mut PageCanvas<'_>, role: Role, x: f32, baseline: f32, width: f32, size: f32, text: &str) {
    let style = TextStyle::muted(size);
    let size = fitted_size(&style, text, width, 5.0);
    let style = TextStyle { size, ..style };
    let lines = wrap_lines(&style, text, width);
    let leading = size * 1.25;
    let first = baseline - leading * (lines.len().saturating_sub(1)) as f32;
    for (i, line) in lines.iter().enumerate() {
        let role = if i == 0 {
            role.clone()
        } else if role == Role::Artifact {
            Role::Artifact
        } else {
            Role::Continuation
        };
        page.text_as(role, x, first + leading * i as f32, &style, line);
    }
}
