//! Finds invoice numbers (`INV-2026-000123`) in free remittance text despite spacing,
//! labels, missing prefixes or zeros, dropped or doubled separators and OCR-like noise.

/// Document series whose prefix is recognised in remittance text.
pub const SERIES: [&str; 2] = ["INV", "DN"];

/// Year and sequence of a document number, packed as `year * 1_000_000 + sequence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefKey(u32);

const SEQ_SPAN: u32 = 1_000_000;

impl RefKey {
    /// `None` when the year or the six-digit sequence is out of range.
    pub fn new(year: u32, seq: u32) -> Option<Self> {
        if !(1000..=4200).contains(&year) || seq >= SEQ_SPAN {
            return None;
        }
        Some(Self(year * SEQ_SPAN + seq))
    }

    pub fn year(self) -> u32 {
        self.0 / SEQ_SPAN
    }

    pub fn seq(self) -> u32 {
        self.0 % SEQ_SPAN
    }

    /// The ten digits `YYYYNNNNNN`, for one-digit-off comparisons.
    pub fn digits(self) -> u32 {
        self.0
    }
}

/// One invoice number read from remittance text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The series prefix when the text carried a known one.
    pub series: Option<&'static str>,
    pub key: RefKey,
    /// The text as written, for explanations.
    pub raw: String,
    /// The reading needed repair: OCR letters, missing zeros, odd separators.
    pub corrected: bool,
}

impl Reference {
    /// `INV-2026-000123`, or `2026-000123` when the text carried no known series.
    pub fn normalised(&self) -> String {
        let tail = format!("{}-{:06}", self.key.year(), self.key.seq());
        match self.series {
            Some(series) => format!("{series}-{tail}"),
            None => tail,
        }
    }
}

/// Candidate invoice-number keys in `text`, normalised (see [`Reference::normalised`]),
/// in order of appearance and without repeats: for the service's database lookup.
pub fn invoice_references(text: &str) -> Vec<String> {
    extract(text).iter().map(Reference::normalised).collect()
}

/// Parses a document number of the index (`SERIES-YYYY-NNNNNN`, any case).
pub fn parse_number(number: &str) -> Option<(String, RefKey)> {
    let mut parts = number.trim().split('-');
    let (series, year, seq) = (parts.next()?, parts.next()?, parts.next()?);
    let series_ok =
        (1..=5).contains(&series.len()) && series.chars().all(|c| c.is_ascii_alphabetic());
    let digits_ok =
        |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some()
        || !series_ok
        || year.len() != 4
        || !digits_ok(year)
        || !digits_ok(seq)
    {
        return None;
    }
    let key = RefKey::new(year.parse().ok()?, seq.parse().ok()?)?;
    Some((series.to_ascii_uppercase(), key))
}

/// All references in `text`, in order of appearance, without repeats.
pub fn extract(text: &str) -> Vec<Reference> {
    let segs = segments(text);
    let mut found: Vec<Reference> = Vec::new();
    let mut i = 0;
    while i < segs.len() {
        match read_at(text, &segs, i) {
            Some((reference, next)) => {
                let repeat = found
                    .iter()
                    .any(|r| r.key == reference.key && r.series == reference.series);
                if !repeat {
                    found.push(reference);
                }
                i = next;
            }
            None => i += 1,
        }
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alpha,
    Num,
}

/// A run of letters or of (OCR-repaired) digits, with what separates it from the previous one.
#[derive(Debug, Clone)]
struct Seg {
    kind: Kind,
    /// Upper-case letters, or the repaired digits.
    text: String,
    /// OCR letters read as digits.
    subs: usize,
    start: usize,
    end: usize,
    /// Separator characters before this segment (0: glued to the previous one).
    gap: usize,
    /// Only `- / . _` and spaces in that gap.
    gap_joins: bool,
}

/// Letters an OCR engine (or a typist) confuses with digits.
fn ocr_digit(c: char) -> Option<char> {
    match c {
        'O' | 'o' => Some('0'),
        'I' | 'l' | 'L' | '|' | '!' => Some('1'),
        'S' | 's' => Some('5'),
        'B' => Some('8'),
        'Z' | 'z' => Some('2'),
        _ => None,
    }
}

fn is_joiner(c: char) -> bool {
    matches!(c, '-' | '/' | '.' | '_' | '–' | '—') || c.is_whitespace()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Digit,
    Ocr,
    Letter,
    Sep,
}

fn class(c: char) -> Class {
    if c.is_ascii_digit() {
        Class::Digit
    } else if ocr_digit(c).is_some() {
        Class::Ocr
    } else if c.is_alphabetic() {
        Class::Letter
    } else {
        Class::Sep
    }
}

/// Splits text into letter and digit segments; OCR letters count as digits only inside a
/// run that holds a real digit and is not glued to a following letter (`1NV` is a word).
fn segments(text: &str) -> Vec<Seg> {
    let chars: Vec<(usize, char, Class)> =
        text.char_indices().map(|(i, c)| (i, c, class(c))).collect();
    let mut segs = Vec::new();
    let (mut gap, mut gap_joins) = (0, true);
    let mut i = 0;
    while i < chars.len() {
        let (_, c, cls) = chars[i];
        if cls == Class::Sep {
            gap += 1;
            gap_joins &= is_joiner(c);
            i += 1;
            continue;
        }
        let word_end = chars[i..]
            .iter()
            .position(|x| x.2 == Class::Sep)
            .map_or(chars.len(), |p| i + p);
        split_word(text, &chars[i..word_end], (gap, gap_joins), &mut segs);
        (gap, gap_joins, i) = (0, true, word_end);
    }
    segs
}

fn split_word(text: &str, word: &[(usize, char, Class)], gap: (usize, bool), out: &mut Vec<Seg>) {
    let numeric = numeric_mask(word);
    let mut first = true;
    let mut i = 0;
    while i < word.len() {
        let run = word[i..]
            .iter()
            .zip(&numeric[i..])
            .take_while(|(_, n)| **n == numeric[i])
            .count();
        let part = &word[i..i + run];
        let start = part[0].0;
        let end = part.last().map_or(start, |(b, c, _)| b + c.len_utf8());
        let kind = if numeric[i] { Kind::Num } else { Kind::Alpha };
        let text_of = |&(_, c, _): &(usize, char, Class)| match kind {
            Kind::Num => ocr_digit(c).unwrap_or(c),
            Kind::Alpha => c.to_uppercase().next().unwrap_or(c),
        };
        out.push(Seg {
            kind,
            text: part.iter().map(text_of).collect(),
            subs: part.iter().filter(|x| x.2 == Class::Ocr).count(),
            start,
            end,
            gap: if first { gap.0 } else { 0 },
            gap_joins: if first { gap.1 } else { true },
        });
        debug_assert!(text.get(start..end).is_some());
        first = false;
        i += run;
    }
}

/// Which characters of a word are read as digits.
fn numeric_mask(word: &[(usize, char, Class)]) -> Vec<bool> {
    let mut mask = vec![false; word.len()];
    let mut i = 0;
    while i < word.len() {
        if word[i].2 == Class::Letter {
            i += 1;
            continue;
        }
        let run = word[i..]
            .iter()
            .take_while(|x| x.2 != Class::Letter)
            .count();
        let (mut lo, mut hi) = (i, i + run);
        // OCR letters at the edge of a run glued to real letters belong to the word.
        if lo > 0 {
            while lo < hi && word[lo].2 == Class::Ocr {
                lo += 1;
            }
        }
        if hi < word.len() {
            while hi > lo && word[hi - 1].2 == Class::Ocr {
                hi -= 1;
            }
        }
        let has_digit = word[lo..hi].iter().any(|x| x.2 == Class::Digit);
        let glued_letter = hi < word.len() && hi - lo < 2;
        if has_digit && !glued_letter {
            mask[lo..hi].iter_mut().for_each(|m| *m = true);
        }
        i += run;
    }
    mask
}

/// Reads a reference whose year starts at segment `i`; returns it and the next segment.
fn read_at(text: &str, segs: &[Seg], i: usize) -> Option<(Reference, usize)> {
    let seg = &segs[i];
    if seg.kind != Kind::Num {
        return None;
    }
    let series = series_before(segs, i);
    let (year, seq, last, mut corrected) = if seg.text.len() == 4 {
        read_split(segs, i, series.is_some())?
    } else {
        read_glued(segs, i, series.is_some())?
    };
    let subs: usize = segs[i..=last].iter().map(|s| s.subs).sum();
    let len: usize = segs[i..=last].iter().map(|s| s.text.len()).sum();
    // Without a series prefix only light noise is believable; with one, up to half the
    // digits may be look-alike letters.
    let limit = if series.is_some() {
        len / 2
    } else {
        3.min(len / 3)
    };
    if subs > limit {
        return None;
    }
    corrected |= subs > 0;
    let key = RefKey::new(year, seq)?;
    let first = if series.is_some() { i - 1 } else { i };
    if let Some(s) = series {
        corrected |= segs[first].text != s || seg.gap == 0 || seg.gap > 2;
    }
    let raw = text
        .get(segs[first].start..segs[last].end)
        .unwrap_or_default()
        .to_string();
    Some((
        Reference {
            series,
            key,
            raw,
            corrected,
        },
        last + 1,
    ))
}

/// `2026-000123`, `2026 000 123`, `2026--123`: year and sequence in separate segments.
fn read_split(segs: &[Seg], i: usize, has_series: bool) -> Option<(u32, u32, usize, bool)> {
    let year = year_of(&segs[i].text)?;
    let next = segs
        .get(i + 1)
        .filter(|s| s.kind == Kind::Num && s.gap_joins && s.gap <= 3)?;
    let mut digits = next.text.clone();
    let mut last = i + 1;
    let mut corrected = next.gap != 1;
    if let Some(more) = segs.get(i + 2) {
        let joins = more.kind == Kind::Num && more.gap == 1 && more.gap_joins;
        if joins && digits.len() < 6 && digits.len() + more.text.len() == 6 {
            digits.push_str(&more.text);
            last = i + 2;
            corrected = true;
        }
    }
    let seq = seq_of(&digits, has_series)?;
    corrected |= digits.len() != 6;
    Some((year, seq, last, corrected))
}

/// `2026000123` (separator dropped): the first four digits are the year.
fn read_glued(segs: &[Seg], i: usize, has_series: bool) -> Option<(u32, u32, usize, bool)> {
    let text = &segs[i].text;
    if !(7..=11).contains(&text.len()) {
        return None;
    }
    let (year, rest) = text.split_at(4);
    if !has_series && rest.len() < 6 {
        return None;
    }
    Some((year_of(year)?, seq_of(rest, has_series)?, i, true))
}

fn year_of(digits: &str) -> Option<u32> {
    let year: u32 = digits.parse().ok()?;
    (digits.len() == 4 && (2000..=2099).contains(&year)).then_some(year)
}

/// Up to six digits (seven when a zero was doubled); at least three without a series,
/// which keeps dates (`2026-03-15`) out.
fn seq_of(digits: &str, has_series: bool) -> Option<u32> {
    let min = if has_series { 1 } else { 3 };
    let len_ok =
        (min..=6).contains(&digits.len()) || (digits.len() == 7 && digits.starts_with('0'));
    if !len_ok {
        return None;
    }
    digits.parse().ok().filter(|s| *s < SEQ_SPAN)
}

/// The known series prefix right before segment `i` (`INV-`, `INV `, `lNV.`, `INV2026`).
fn series_before(segs: &[Seg], i: usize) -> Option<&'static str> {
    let seg = &segs[i];
    let prev = segs.get(i.checked_sub(1)?)?;
    let close = seg.gap <= 3 && (seg.gap_joins || seg.gap <= 2);
    if prev.kind != Kind::Alpha || !close {
        return None;
    }
    let folded: String = prev.text.chars().map(fold_letter).collect();
    SERIES.iter().copied().find(|s| *s == folded)
}

/// Digits and look-alikes read as letters, for series prefixes (`1NV`, `lNV` are `INV`).
fn fold_letter(c: char) -> char {
    match c {
        '1' | 'L' | '|' | '!' => 'I',
        '0' => 'O',
        '5' => 'S',
        '8' => 'B',
        _ => c,
    }
}
