//! Flowing layout for documents longer than a page (attendance sheets, attestations): drawing
//! operations are laid out top to bottom and cut into pages when the next block does not fit,
//! then replayed on [`PdfBuilder`] pages with a header and footer drawn on each.

use super::pdf::{Colour, PageCanvas, PageFormat, PdfBuilder, TextStyle, wrap_lines};

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
    /// Connected segments (a stroke of a drawn signature).
    Polyline {
        /// Points, in page coordinates.
        points: Vec<(f32, f32)>,
        /// Stroke width.
        width: f32,
    },
}

impl Op {
    fn draw(&self, page: &mut PageCanvas<'_>) {
        match self {
            Op::Text { x, y, style, text } => page.text(*x, *y, style, text),
            Op::RightText { right, y, style, text } => page.right_aligned(*right, *y, style, text),
            Op::Line { from, to, width, colour } => page.line(*from, *to, *width, *colour),
            Op::Frame { x, y, w, h, width, colour } => page.frame(*x, *y, *w, *h, *width, *colour),
            Op::Polyline { points, width } => {
                for pair in points.windows(2) {
                    page.line(pair[0], pair[1], *width, Colour::INK);
                }
            }
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
        let leading = style.size * 1.35;
        let lines = wrap_lines(&style, text, self.width - indent);
        let height = leading * lines.len() as f32;
        if height <= self.bottom - self.top {
            self.ensure(height);
        }
        for line in lines {
            self.ensure(leading);
            self.y += style.size;
            self.push(Op::Text { x: self.left + indent, y: self.y, style, text: line });
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
            let mut y = 50.0;
            for (i, line) in organisation.iter().enumerate() {
                let style = if i == 0 { TextStyle::strong(10.0) } else { TextStyle::muted(7.5) };
                page.text(56.0, y, &style, line);
                y += if i == 0 { 12.0 } else { 10.0 };
            }
            page.line((56.0, 96.0), (right, 96.0), 0.8, Colour::ACCENT);
            let bottom = page.height() - 36.0;
            page.text(56.0, bottom, &TextStyle::muted(7.0), footer);
            page.right_aligned(right, bottom, &TextStyle::muted(7.0), &format!("page {number}/{count}"));
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
