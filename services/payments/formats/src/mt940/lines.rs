//! Splits an MT940 file into statements of fields (`:tag:value` plus continuation
//! lines), each remembering its line number, and strips SWIFT block wrappers.

use crate::error::Fail;

/// One `:tag:` field; `value` keeps the continuation lines, joined with `\n`.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub tag: String,
    pub value: String,
    pub line: usize,
}

impl Field {
    /// `line 12 (:61:)`.
    pub fn place(&self) -> String {
        format!("line {} (:{}:)", self.line, self.tag)
    }
}

/// The fields of one statement and the line where it ended.
#[derive(Debug, Default)]
pub(crate) struct RawStatement {
    pub fields: Vec<Field>,
    pub end_line: usize,
}

#[derive(Default)]
struct Splitter {
    statements: Vec<RawStatement>,
    current: RawStatement,
    /// Line of the `{1:` header whose block 4 is still open.
    wrapped_since: Option<usize>,
}

pub(crate) fn split(text: &str) -> Result<Vec<RawStatement>, Fail> {
    let mut splitter = Splitter::default();
    let mut last_line = 0;
    for (index, raw) in text.lines().enumerate() {
        last_line = index + 1;
        splitter.line(raw.trim_end_matches('\r'), last_line)?;
    }
    if let Some(header) = splitter.wrapped_since {
        let reason = format!("SWIFT block 4 opened at line {header} is never closed with `-}}`");
        return Err(Fail::new(format!("line {last_line}"), reason));
    }
    splitter.finish(last_line);
    Ok(splitter.statements)
}

impl Splitter {
    fn line(&mut self, line: &str, number: usize) -> Result<(), Fail> {
        if line.starts_with("{1:") {
            return self.swift_header(line, number);
        }
        if line.starts_with("-}") || line.trim_end() == "-" {
            // `-}` may be followed by trailer blocks ({5:...}) that carry no statement data.
            if line.starts_with("-}") {
                self.wrapped_since = None;
            }
            self.finish(number);
            return Ok(());
        }
        // Blank lines, and SWIFT trailer blocks ({5:...}, {S:...}) put on their own line
        // after `-}`, carry no statement data.
        let trailer = line.starts_with("{5:") || line.starts_with("{S:");
        if line.trim().is_empty() || (trailer && self.wrapped_since.is_none()) {
            return Ok(());
        }
        if let Some((tag, value)) = tag_of(line) {
            // Files without `-` separators start the next statement with its `:20:`.
            if tag == "20" && !self.current.fields.is_empty() {
                self.finish(number.saturating_sub(1));
            }
            let field = Field {
                tag: tag.to_owned(),
                value: value.to_owned(),
                line: number,
            };
            self.current.fields.push(field);
            return Ok(());
        }
        match self.current.fields.last_mut() {
            Some(field) => {
                field.value.push('\n');
                field.value.push_str(line);
                Ok(())
            }
            None => Err(Fail::new(
                format!("line {number}"),
                "text outside any :tag: field",
            )),
        }
    }

    /// `{1:F01BANK...}{2:O940...}{4:` opens a message; fields follow on the next lines.
    fn swift_header(&mut self, line: &str, number: usize) -> Result<(), Fail> {
        let place = format!("line {number}");
        if self.wrapped_since.is_some() || !self.current.fields.is_empty() {
            return Err(Fail::new(
                place,
                "SWIFT header inside an unfinished statement",
            ));
        }
        let Some(at) = line.find("{4:") else {
            return Err(Fail::new(place, "SWIFT header without a {4: text block"));
        };
        self.wrapped_since = Some(number);
        let rest = line.get(at + 3..).unwrap_or_default();
        if rest.trim().is_empty() {
            Ok(())
        } else {
            self.line(rest, number)
        }
    }

    fn finish(&mut self, end_line: usize) {
        if self.current.fields.is_empty() {
            return;
        }
        let mut done = std::mem::take(&mut self.current);
        done.end_line = end_line;
        self.statements.push(done);
    }
}

/// `:61:rest` → (`61`, `rest`); tags are two digits and an optional letter.
fn tag_of(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    let (tag, value) = rest.split_once(':')?;
    let b = tag.as_bytes();
    let digits = b.len() >= 2 && b.iter().take(2).all(u8::is_ascii_digit);
    let letter = match b.get(2) {
        None => true,
        Some(c) => c.is_ascii_uppercase() && b.len() == 3,
    };
    (digits && letter).then_some((tag, value))
}
