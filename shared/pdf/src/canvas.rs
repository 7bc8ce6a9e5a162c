//! The drawing surface: pages of printpdf operations, positioned in whole
//! points, so the layout above never touches a float.

use printpdf::{
    BuiltinFont, Color, Greyscale, Line, LinePoint, Op, PdfFontHandle, Point, Pt, TextItem,
};

use crate::text::{Face, width_points};

/// PDF grey levels for rules: 0 is black, 1 white.
#[derive(Debug, Clone, Copy)]
pub enum Grey {
    Dark,
    Light,
}

#[derive(Default)]
pub struct Canvas {
    finished_pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
}

impl Canvas {
    pub fn next_page(&mut self) {
        self.finished_pages.push(std::mem::take(&mut self.ops));
    }

    /// `text` must already fit where it goes (see [`crate::text`]); it is
    /// drawn as is, `baseline` up from the bottom of the page.
    pub fn text(&mut self, x: u16, baseline: u16, face: Face, size: u16, text: String) {
        let font = match face {
            Face::Regular => BuiltinFont::Helvetica,
            Face::Bold => BuiltinFont::HelveticaBold,
        };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::Builtin(font),
                size: Pt(f32::from(size)),
            },
            Op::SetTextCursor {
                pos: point(x, baseline),
            },
            Op::ShowText {
                items: vec![TextItem::Text(text)],
            },
            Op::EndTextSection,
        ]);
    }

    /// Like [`Self::text`], ending at `right` instead of starting at x.
    pub fn text_right(&mut self, right: u16, baseline: u16, face: Face, size: u16, text: String) {
        let x = right.saturating_sub(width_points(face, size, &text));
        self.text(x, baseline, face, size, text);
    }

    pub fn rule(&mut self, from_x: u16, to_x: u16, y: u16, grey: Grey) {
        let level = match grey {
            Grey::Dark => 0.3,
            Grey::Light => 0.6,
        };
        let end = |x| LinePoint {
            p: point(x, y),
            bezier: false,
        };
        self.ops.extend([
            Op::SaveGraphicsState,
            Op::SetOutlineColor {
                col: Color::Greyscale(Greyscale {
                    percent: level,
                    icc_profile: None,
                }),
            },
            Op::SetOutlineThickness { pt: Pt(0.5) },
            Op::DrawLine {
                line: Line {
                    points: vec![end(from_x), end(to_x)],
                    is_closed: false,
                },
            },
            Op::RestoreGraphicsState,
        ]);
    }

    /// Ends the last page, then lets `draw` add to every page knowing its
    /// number and the page count (for "page n of m" footers).
    pub fn finish(mut self, mut draw: impl FnMut(&mut Canvas, usize, usize)) -> Vec<Vec<Op>> {
        self.next_page();
        let mut pages = std::mem::take(&mut self.finished_pages);
        let page_count = pages.len();
        for (index, page) in pages.iter_mut().enumerate() {
            self.ops = std::mem::take(page);
            draw(&mut self, index.saturating_add(1), page_count);
            *page = std::mem::take(&mut self.ops);
        }
        pages
    }
}

fn point(x: u16, y: u16) -> Point {
    Point {
        x: Pt(f32::from(x)),
        y: Pt(f32::from(y)),
    }
}
