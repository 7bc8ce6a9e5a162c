//! Text styles and table columns: a row's cells are wrapped into their
//! columns first (so its height is known before a page break is decided),
//! then drawn from the row's top.

use crate::canvas::Canvas;
use crate::text::{Face, truncate, wrap};

/// A face, a size and the distance from one baseline to the next, in points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub face: Face,
    pub size: u16,
    pub leading: u16,
}

impl Style {
    pub const fn new(face: Face, size: u16, leading: u16) -> Self {
        Self {
            face,
            size,
            leading,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table column between `left` and `right` (points from the page's left
/// edge); a cell wraps onto at most `max_lines` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub heading: &'static str,
    pub left: u16,
    pub right: u16,
    pub align: Align,
    pub max_lines: usize,
}

impl Column {
    pub const fn new(
        heading: &'static str,
        left: u16,
        right: u16,
        align: Align,
        max_lines: usize,
    ) -> Self {
        Self {
            heading,
            left,
            right,
            align,
            max_lines,
        }
    }

    pub fn width(&self) -> u16 {
        self.right.saturating_sub(self.left)
    }
}

/// One table row, each cell already wrapped to its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub cells: Vec<Vec<String>>,
}

impl Row {
    /// Wraps `cells` (one per column, in order) with `style`.
    pub fn wrap<S: AsRef<str>>(columns: &[Column], cells: &[S], style: Style) -> Self {
        let cells = columns
            .iter()
            .zip(cells)
            .map(|(column, cell)| {
                wrap(
                    style.face,
                    style.size,
                    cell.as_ref(),
                    column.width(),
                    column.max_lines,
                )
            })
            .collect();
        Self { cells }
    }

    /// The most lines any cell needs (at least one).
    pub fn line_count(&self) -> usize {
        self.cells.iter().map(Vec::len).max().unwrap_or(1).max(1)
    }

    /// The row's height with `style`, plus `padding` points below it.
    pub fn height(&self, style: Style, padding: u16) -> u16 {
        u16::try_from(self.line_count())
            .unwrap_or(u16::MAX)
            .saturating_mul(style.leading)
            .saturating_add(padding)
    }
}

impl Canvas {
    /// One line already fitted to `column`, on `baseline`.
    pub fn cell(&mut self, column: &Column, baseline: u16, style: Style, text: String) {
        match column.align {
            Align::Left => self.text(column.left, baseline, style.face, style.size, text),
            Align::Right => self.text_right(column.right, baseline, style.face, style.size, text),
        }
    }

    /// Draws `row` with its first baseline one font size below `top`.
    pub fn row(&mut self, columns: &[Column], top: u16, style: Style, row: Row) {
        for (column, lines) in columns.iter().zip(row.cells) {
            let mut baseline = top.saturating_sub(style.size);
            for line in lines {
                self.cell(column, baseline, style, line);
                baseline = baseline.saturating_sub(style.leading);
            }
        }
    }

    /// Every column's heading on `baseline`.
    pub fn headings(&mut self, columns: &[Column], baseline: u16, style: Style) {
        for column in columns {
            self.cell(column, baseline, style, column.heading.to_owned());
        }
    }

    /// One line of `text` cut to `width`, starting at `edge` (left) or
    /// ending there (right).
    pub fn fitted(
        &mut self,
        align: Align,
        edge: u16,
        baseline: u16,
        style: Style,
        text: &str,
        width: u16,
    ) {
        let line = truncate(style.face, style.size, text, width);
        match align {
            Align::Left => self.text(edge, baseline, style.face, style.size, line),
            Align::Right => self.text_right(edge, baseline, style.face, style.size, line),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::text::width_points;

    const COLUMNS: [Column; 2] = [
        Column::new("Text", 0, 60, Align::Left, 3),
        Column::new("Amount", 64, 120, Align::Right, 1),
    ];
    const BODY: Style = Style::new(Face::Regular, 8, 10);

    #[test]
    fn a_row_is_as_tall_as_its_longest_cell() {
        let row = Row::wrap(
            &COLUMNS,
            &["one two three four five six seven eight nine ten", "12.00"],
            BODY,
        );
        assert_eq!(row.line_count(), 3);
        assert_eq!(row.height(BODY, 3), 33);
        for line in &row.cells[0] {
            assert!(width_points(BODY.face, BODY.size, line) <= 60, "{line}");
        }
        assert_eq!(row.cells[1], vec!["12.00".to_owned()]);
    }

    #[test]
    fn an_empty_row_still_takes_one_line() {
        let row = Row::wrap(&COLUMNS, &["", ""], BODY);
        assert_eq!(row.line_count(), 1);
    }
}
