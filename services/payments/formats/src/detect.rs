//! Guessing a bank file's format from its first bytes, for uploads that do not say.

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::camt::namespace_format;
use crate::model::Format;

/// Sniffs the format: the camt namespace of the XML root element, an MT940 `:20:` (bare
/// or after a `{1:...}{4:` SWIFT header), or a BAI2 `01,` file header. `None` when it
/// is none of them.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = bytes.get(start..)?;
    if head.starts_with(b"<") {
        return xml_format(head);
    }
    if head.starts_with(b"01,") {
        return Some(Format::Bai2);
    }
    if head.starts_with(b":20:") || swift_block_then_20(head) {
        return Some(Format::Mt940);
    }
    None
}

/// `{1:...}{2:...}{4:` followed, after optional line breaks, by `:20:`.
fn swift_block_then_20(head: &[u8]) -> bool {
    if !head.starts_with(b"{1:") {
        return false;
    }
    let Some(at) = head.windows(3).position(|window| window == b"{4:") else {
        return false;
    };
    let body = head.get(at + 3..).unwrap_or_default();
    let body_start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    body.get(body_start..)
        .is_some_and(|rest| rest.starts_with(b":20:"))
}

fn xml_format(head: &[u8]) -> Option<Format> {
    let text = std::str::from_utf8(head).ok()?;
    let mut reader = Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(tag) | Event::Empty(tag) => {
                return tag.attributes().flatten().find_map(|attribute| {
                    let key = attribute.key.as_ref();
                    let is_namespace = key == "xmlns" || key.starts_with("xmlns:");
                    let value = attribute.normalized_value(XmlVersion::default()).ok()?;
                    is_namespace
                        .then(|| namespace_format(&value))
                        .flatten()
                        .map(|(format, _)| format)
                });
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}
