//! Text fitting for the built-in Helvetica faces: WinAnsi clean-up, widths
//! from the Adobe metrics, and wrapping into a column so no text leaves it.
//!
//! Widths are integers in thousandths of an em, so fitting needs no float.

/// The two faces documents use; both are among the PDF standard 14, so no
/// font file is embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
}

/// Helvetica advance widths for U+0020..=U+007E (Adobe AFM, WinAnsi glyphs:
/// 0x27 is `quotesingle`, 0x60 is `grave`).
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // space../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p..~
];

const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // space../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0..?
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // P.._
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // `..o
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // p..~
];

/// No WinAnsi glyph of either face is wider than this, so measuring every
/// non-ASCII character at it can only over-estimate a line, never overflow.
const WIDEST_NON_ASCII: u32 = 1000;

const ELLIPSIS: &str = "...";

/// What will actually be drawn for `text`: control characters become spaces
/// and characters WinAnsi cannot encode become `?` (the same substitution the
/// PDF writer makes), so measuring and drawing agree.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else if is_win_ansi(character) {
                character
            } else {
                '?'
            }
        })
        .collect()
}

fn is_win_ansi(character: char) -> bool {
    matches!(
        character,
        '\u{20}'..='\u{7E}'
            | '\u{A0}'..='\u{FF}'
            | '\u{20AC}'
            | '\u{201A}'
            | '\u{0192}'
            | '\u{201E}'
            | '\u{2026}'
            | '\u{2020}'
            | '\u{2021}'
            | '\u{02C6}'
            | '\u{2030}'
            | '\u{0160}'
            | '\u{2039}'
            | '\u{0152}'
            | '\u{017D}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{201C}'
            | '\u{201D}'
            | '\u{2022}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{02DC}'
            | '\u{2122}'
            | '\u{0161}'
            | '\u{203A}'
            | '\u{0153}'
            | '\u{017E}'
            | '\u{0178}'
    )
}

fn char_units(face: Face, character: char) -> u32 {
    let table = match face {
        Face::Regular => &HELVETICA,
        Face::Bold => &HELVETICA_BOLD,
    };
    let code = u32::from(character);
    code.checked_sub(0x20)
        .and_then(|index| usize::try_from(index).ok())
        .and_then(|index| table.get(index))
        .map_or(WIDEST_NON_ASCII, |width| u32::from(*width))
}

fn char_millipoints(face: Face, size: u16, character: char) -> u32 {
    char_units(face, character).saturating_mul(u32::from(size))
}

/// Width of `text` at `size` points, in thousandths of a point.
pub fn width_millipoints(face: Face, size: u16, text: &str) -> u32 {
    text.chars()
        .map(|character| char_millipoints(face, size, character))
        .fold(0, u32::saturating_add)
}

/// Width of `text` at `size` points, in whole points (rounded up).
pub fn width_points(face: Face, size: u16, text: &str) -> u16 {
    let millipoints = width_millipoints(face, size, text);
    u16::try_from(millipoints.div_ceil(1000)).unwrap_or(u16::MAX)
}

fn budget(max_width: u16) -> u32 {
    u32::from(max_width).saturating_mul(1000)
}

fn fits(face: Face, size: u16, text: &str, max_width: u16) -> bool {
    width_millipoints(face, size, text) <= budget(max_width)
}

/// Breaks `text` into lines no wider than `max_width` points: at spaces
/// where possible, inside a word when one word alone is too wide. Past
/// `max_lines` the last kept line ends in `...`. Always at least one line.
pub fn wrap(face: Face, size: u16, text: &str, max_width: u16, max_lines: usize) -> Vec<String> {
    let limit = max_lines.max(1);
    let available = budget(max_width);
    let space = char_millipoints(face, size, ' ');
    let clean = printable(text);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_width: u32 = 0;
    for word in clean.split_whitespace() {
        // Enough is known to cut here; the rest of a huge text is not measured.
        if lines.len() > limit {
            break;
        }
        let word_width = width_millipoints(face, size, word);
        if current.is_empty() && word_width <= available {
            current.push_str(word);
            current_width = word_width;
            continue;
        }
        let joined_width = current_width
            .saturating_add(space)
            .saturating_add(word_width);
        if !current.is_empty() && joined_width <= available {
            current.push(' ');
            current.push_str(word);
            current_width = joined_width;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
            current_width = 0;
        }
        if word_width <= available {
            current.push_str(word);
            current_width = word_width;
            continue;
        }
        for character in word.chars() {
            let character_width = char_millipoints(face, size, character);
            if !current.is_empty() && current_width.saturating_add(character_width) > available {
                lines.push(std::mem::take(&mut current));
                current_width = 0;
            }
            current.push(character);
            current_width = current_width.saturating_add(character_width);
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    if lines.len() > limit {
        lines.truncate(limit);
        if let Some(last) = lines.last_mut() {
            *last = with_ellipsis(face, size, last, max_width);
        }
    }
    lines
}

/// One line of `text`, cut with `...` if it is wider than `max_width`.
pub fn truncate(face: Face, size: u16, text: &str, max_width: u16) -> String {
    let clean = printable(text);
    let single_line = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    if fits(face, size, &single_line, max_width) {
        return single_line;
    }
    with_ellipsis(face, size, &single_line, max_width)
}

fn with_ellipsis(face: Face, size: u16, text: &str, max_width: u16) -> String {
    let available = budget(max_width).saturating_sub(width_millipoints(face, size, ELLIPSIS));
    let mut kept = String::new();
    let mut kept_width: u32 = 0;
    for character in text.chars() {
        let character_width = char_millipoints(face, size, character);
        if kept_width.saturating_add(character_width) > available {
            break;
        }
        kept.push(character);
        kept_width = kept_width.saturating_add(character_width);
    }
    format!("{}{ELLIPSIS}", kept.trim_end())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn widths_follow_the_adobe_metrics() {
        // "Wi" = 944 + 222 units at 10 pt.
        assert_eq!(width_millipoints(Face::Regular, 10, "Wi"), 11_660);
        assert_eq!(width_millipoints(Face::Bold, 10, "Wi"), 12_220);
        assert_eq!(width_points(Face::Regular, 10, "Wi"), 12);
    }

    #[test]
    fn characters_outside_win_ansi_become_question_marks() {
        assert_eq!(printable("Müller Straße é€"), "Müller Straße é€");
        assert_eq!(printable("Łódź 東京\t🙂"), "?ód? ?? ?");
    }

    #[test]
    fn wrapped_lines_fit_the_column() {
        let text = "A very long product description that goes on and on about \
                    the many features of an industrial-grade widget";
        let lines = wrap(Face::Regular, 8, text, 120, 10);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(width_points(Face::Regular, 8, line) <= 120, "{line}");
        }
        assert_eq!(lines.join(" "), printable(text));
    }

    #[test]
    fn a_word_wider_than_the_column_is_cut() {
        let lines = wrap(Face::Bold, 10, &"X".repeat(60), 50, 100);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|line| fits(Face::Bold, 10, line, 50)));
        assert_eq!(lines.concat(), "X".repeat(60));
    }

    #[test]
    fn too_many_lines_end_in_an_ellipsis() {
        let lines = wrap(Face::Regular, 8, &"word ".repeat(200), 100, 3);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with("..."));
        assert!(fits(Face::Regular, 8, &lines[2], 100));
    }

    #[test]
    fn truncation_keeps_one_line_inside_the_width() {
        let cut = truncate(Face::Regular, 9, &"Long name ".repeat(30), 150);
        assert!(cut.ends_with("..."));
        assert!(fits(Face::Regular, 9, &cut, 150));
        assert_eq!(truncate(Face::Regular, 9, "Short", 150), "Short");
        assert_eq!(wrap(Face::Regular, 9, "", 150, 2), vec![String::new()]);
    }
}
