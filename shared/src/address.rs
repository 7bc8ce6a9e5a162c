//! Postal addresses (billing and shipping) as services store them (JSONB),
//! read them from the wire and print them on documents.

use serde::{Deserialize, Serialize};

use crate::violations::Violations;
use otc_proto::types::PostalAddress;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default)]
    pub lines: Vec<String>,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub region: String,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country_code: String,
}

impl Address {
    /// Checks the address at `field`; a missing address is one violation.
    pub fn validate(address: Option<&Address>, field: &str, violations: &mut Violations) {
        let Some(address) = address else {
            violations.add(field, "is required");
            return;
        };
        if address.lines.iter().all(|line| line.trim().is_empty()) {
            violations.add(
                &format!("{field}.lines"),
                "at least one address line is required",
            );
        }
        if address.city.trim().is_empty() {
            violations.add(&format!("{field}.city"), "is required");
        }
        let country = address.country_code.trim();
        if country.len() != 2 || !country.bytes().all(|byte| byte.is_ascii_uppercase()) {
            violations.add(
                &format!("{field}.country_code"),
                format!("must be an ISO 3166-1 alpha-2 code such as `DE`, got `{country}`"),
            );
        }
    }

    pub fn from_proto(address: Option<&PostalAddress>) -> Option<Address> {
        address.map(|address| Address {
            lines: address.lines.clone(),
            city: address.city.clone(),
            postal_code: address.postal_code.clone(),
            region: address.region.clone(),
            country_code: address.country_code.clone(),
        })
    }

    pub fn to_proto(&self) -> PostalAddress {
        PostalAddress {
            lines: self.lines.clone(),
            city: self.city.clone(),
            postal_code: self.postal_code.clone(),
            region: self.region.clone(),
            country_code: self.country_code.clone(),
        }
    }

    /// The lines printed on a document: street lines, postal code and city,
    /// region and country.
    pub fn printed(&self) -> Vec<String> {
        let join = |parts: &[&str], separator: &str| {
            parts
                .iter()
                .map(|part| part.trim())
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(separator)
        };
        let mut printed: Vec<String> = self
            .lines
            .iter()
            .filter(|line| !line.trim().is_empty())
            .cloned()
            .collect();
        for line in [
            join(&[&self.postal_code, &self.city], " "),
            join(&[&self.region, &self.country_code], ", "),
        ] {
            if !line.is_empty() {
                printed.push(line);
            }
        }
        printed
    }

    /// A stored address; anything unreadable prints as no address.
    pub fn from_json(value: &serde_json::Value) -> Self {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }
}
