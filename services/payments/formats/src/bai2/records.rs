//! BAI2 physical lines into logical records: `88` continuations are folded into the
//! record they continue, and each record keeps its line and physical-record count
//! (the trailers count physical records).

use crate::error::Fail;

#[derive(Debug)]
pub(crate) struct Record {
    pub code: String,
    pub line: usize,
    /// Physical records: this one plus its `88` continuations.
    pub physical: usize,
    /// The record after `NN,`, continuations appended; see [`Record::fields`].
    body: String,
    /// Free text of a `16` record carried by `88` continuations, joined with spaces.
    continued_text: Vec<String>,
}

impl Record {
    /// `line 12 (16)`.
    pub fn place(&self) -> String {
        format!("line {} ({})", self.line, self.code)
    }

    pub fn fields(&self) -> Fields<'_> {
        Fields {
            rest: Some(self.body.as_str()),
        }
    }

    pub fn continued_text(&self) -> &[String] {
        &self.continued_text
    }
}

/// Fields of a record in order; a missing trailing field reads as empty.
pub(crate) struct Fields<'a> {
    rest: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// The next comma-separated field; the record's final `/` is not part of it.
    pub fn next_field(&mut self) -> &'a str {
        let Some(rest) = self.rest else { return "" };
        match rest.split_once(',') {
            Some((field, tail)) => {
                self.rest = Some(tail);
                field
            }
            None => {
                self.rest = None;
                strip_terminator(rest)
            }
        }
    }

    /// Whether fields remain (an empty one before the `/` counts).
    pub fn has_more(&self) -> bool {
        self.rest
            .is_some_and(|rest| !strip_terminator(rest).is_empty() || rest.contains(','))
    }

    /// Everything left: the free text of a `16` record, which may contain commas.
    pub fn remainder(&mut self) -> &'a str {
        strip_terminator(self.rest.take().unwrap_or_default())
    }
}

/// A `/` ends a record; free text is not delimited otherwise, so one final `/` is
/// always read as the terminator.
fn strip_terminator(text: &str) -> &str {
    let text = text.trim_end();
    text.strip_suffix('/').unwrap_or(text)
}

pub(crate) fn read(text: &str) -> Result<Vec<Record>, Fail> {
    let mut records: Vec<Record> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = raw.trim_end_matches('\r').trim_end();
        if raw.is_empty() {
            continue;
        }
        let place = || format!("line {line}");
        let (code, body) = raw
            .split_once(',')
            .filter(|(code, _)| code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                Fail::new(
                    place(),
                    "record does not start with a two-digit type code and a comma",
                )
            })?;
        if code != "16" && code != "88" && !body.ends_with('/') {
            return Err(Fail::new(
                format!("line {line} ({code})"),
                "record is not terminated by `/`",
            ));
        }
        if code == "88" {
            let previous = records.last_mut().ok_or_else(|| {
                Fail::new(
                    place(),
                    "continuation record 88 without a record to continue",
                )
            })?;
            previous.continue_with(body);
            continue;
        }
        records.push(Record {
            code: code.to_owned(),
            line,
            physical: 1,
            body: body.to_owned(),
            continued_text: Vec::new(),
        });
    }
    Ok(records)
}

impl Record {
    /// Continuations of a `16` carry more free text; of other records, more fields.
    fn continue_with(&mut self, body: &str) {
        self.physical += 1;
        if self.code == "16" {
            self.continued_text
                .push(strip_terminator(body).trim().to_owned());
        } else {
            let head = strip_terminator(&self.body).to_owned();
            self.body = format!("{head},{body}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_fold_into_their_record() {
        let records = read("03,123,USD,010,500,,/\n88,015,700,,/\n16,195,100,0,B1,C1,WIRE, FROM X\n88,MORE TEXT/\n").unwrap_or_default();
        assert_eq!(records.len(), 2);
        let mut fields = records[0].fields();
        let all: Vec<&str> =
            std::iter::from_fn(|| fields.has_more().then(|| fields.next_field())).collect();
        assert_eq!(all, ["123", "USD", "010", "500", "", "", "015", "700", ""]);
        assert_eq!(records[0].physical, 2);
        let mut detail = records[1].fields();
        for _ in 0..5 {
            detail.next_field();
        }
        assert_eq!(detail.remainder(), "WIRE, FROM X");
        assert_eq!(records[1].continued_text(), ["MORE TEXT"]);
    }
}
