//! Every bad field of a request at once, each named by its path
//! (`lines[2].quantity`), the same path in the gRPC message and the JSON event.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, description: impl Into<String>) -> Self {
        let mut violations = Self::new();
        violations.add(field, description);
        violations
    }

    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.to_owned(),
            description: description.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldViolation> {
        self.0.iter()
    }

    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }

    /// One violation per line, `field: description`: the form dead-letter
    /// headers carry and [`Violations::parse_lines`] reads back.
    pub fn to_lines(&self) -> String {
        self.0
            .iter()
            .map(|violation| format!("{}: {}", violation.field, violation.description))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn parse_lines(text: &str) -> Self {
        Self(
            text.lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| match line.split_once(": ") {
                    Some((field, description))
                        if !field.is_empty() && !field.contains(char::is_whitespace) =>
                    {
                        FieldViolation {
                            field: field.to_owned(),
                            description: description.to_owned(),
                        }
                    }
                    _ => FieldViolation {
                        field: String::new(),
                        description: line.to_owned(),
                    },
                })
                .collect(),
        )
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|violation| format!("{}: {}", violation.field, violation.description))
            .collect();
        formatter.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_free_text_keeps_an_empty_field() {
        let mut violations = Violations::new();
        violations.add("lines[0].quantity", "must be positive, got `0`");
        violations.add("customer_ref", "no customer `shopify:9`: unknown");
        let parsed = Violations::parse_lines(&violations.to_lines());
        assert_eq!(parsed, violations);
        let free = Violations::parse_lines("payload is not JSON: expected value at line 1");
        assert_eq!(free.len(), 1);
        assert_eq!(free.iter().next().unwrap().field, "");
    }
}
