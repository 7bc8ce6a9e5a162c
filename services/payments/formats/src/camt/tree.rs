//! A small element tree over quick-xml events, each element knowing its path
//! (`Document/BkToCstmrStmt/Stmt[2]/Ntry[3]`) so errors can name the place.
//!
//! A tree rather than streaming: camt files are a few megabytes at most, and reading
//! balances, entries and details in any order keeps the readers short.

use std::collections::HashMap;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::Fail;

/// Elements that repeat under their parent; their paths carry a 1-based index.
const INDEXED: &[&str] = &[
    "Stmt", "Ntfctn", "Ntry", "NtryDtls", "TxDtls", "Bal", "Ustrd", "Strd",
];

const MAX_DEPTH: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Node {
    /// Local name, without a namespace prefix.
    pub name: String,
    pub path: String,
    /// The namespace the element's own prefix is bound to by its own attributes.
    pub namespace: Option<String>,
    text: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
    /// Count of children per name so far, for the next child's index.
    seen: HashMap<String, usize>,
}

impl Node {
    /// The trimmed text content.
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The first element at a `/`-separated path below this one.
    pub fn find(&self, path: &str) -> Option<&Node> {
        path.split('/').try_fold(self, |node, name| {
            node.children.iter().find(|child| child.name == name)
        })
    }

    /// Non-empty trimmed text at a path.
    pub fn text_at(&self, path: &str) -> Option<String> {
        self.find(path)
            .map(Node::text)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    }

    /// The first non-empty text among alternative paths (element names changed between
    /// camt versions, e.g. `BIC` became `BICFI`).
    pub fn text_any(&self, paths: &[&str]) -> Option<String> {
        paths.iter().find_map(|path| self.text_at(path))
    }

    pub fn location_of(&self, path: &str) -> String {
        format!("{}/{path}", self.path)
    }

    pub fn require(&self, path: &str) -> Result<&Node, Fail> {
        self.find(path)
            .ok_or_else(|| Fail::new(self.location_of(path), "missing mandatory element"))
    }

    pub fn require_text(&self, path: &str) -> Result<String, Fail> {
        let node = self.require(path)?;
        if node.text().is_empty() {
            return Err(Fail::new(node.path.clone(), "mandatory element is empty"));
        }
        Ok(node.text().to_owned())
    }

    fn child_path(&mut self, name: &str) -> String {
        let count = self.seen.entry(name.to_owned()).or_insert(0);
        *count += 1;
        if INDEXED.contains(&name) {
            format!("{}/{name}[{count}]", self.path)
        } else {
            format!("{}/{name}", self.path)
        }
    }
}

/// Reads a whole document into its root element.
pub(crate) fn parse(xml: &str) -> Result<Node, Fail> {
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let here = |open: &[Node]| {
            open.last()
                .map_or_else(|| "Document".to_owned(), |n| n.path.clone())
        };
        let event = reader.read_event().map_err(|error| {
            let at = reader.error_position();
            Fail::new(here(&open), format!("malformed XML at byte {at}: {error}"))
        })?;
        match event {
            Event::Start(tag) => {
                // camt nests about 15 deep; a far deeper tree is an attack on the
                // recursive drop of `Node`, not a bank file.
                if open.len() >= MAX_DEPTH {
                    return Err(Fail::new(here(&open), "elements nested too deeply"));
                }
                let node = start(&tag, open.last_mut(), root.is_some())?;
                open.push(node);
            }
            Event::Empty(tag) => {
                let node = start(&tag, open.last_mut(), root.is_some())?;
                close(node, &mut open, &mut root);
            }
            Event::End(_) => {
                if let Some(node) = open.pop() {
                    close(node, &mut open, &mut root);
                }
            }
            Event::Text(text) => add_text(&mut open, &text.xml_content(XmlVersion::default()))?,
            Event::CData(data) => {
                add_text(&mut open, &data.xml10_content())?;
            }
            Event::GeneralRef(reference) => {
                let resolved =
                    entity(&reference).map_err(|reason| Fail::new(here(&open), reason))?;
                add_text(&mut open, &resolved.to_string())?;
            }
            Event::Eof => return finish(open, root),
            _ => {}
        }
    }
}

fn start(tag: &BytesStart<'_>, parent: Option<&mut Node>, has_root: bool) -> Result<Node, Fail> {
    let name = tag.local_name().as_ref().to_owned();
    let path = match parent {
        Some(parent) => parent.child_path(&name),
        None if has_root => {
            return Err(Fail::new(name, "a second root element after the document"));
        }
        None => name.clone(),
    };
    let mut attributes = Vec::new();
    for attribute in tag.attributes() {
        let attribute = attribute
            .map_err(|error| Fail::new(path.clone(), format!("malformed attribute: {error}")))?;
        let value = attribute
            .normalized_value(XmlVersion::default())
            .map_err(|error| Fail::new(path.clone(), format!("malformed attribute: {error}")))?;
        attributes.push((attribute.key.as_ref().to_owned(), value.into_owned()));
    }
    let namespace_key = match tag.name().prefix() {
        Some(prefix) => format!("xmlns:{}", prefix.as_ref()),
        None => "xmlns".to_owned(),
    };
    let namespace = attributes
        .iter()
        .find(|(key, _)| *key == namespace_key)
        .map(|(_, v)| v.clone());
    Ok(Node {
        name,
        path,
        namespace,
        attributes,
        ..Node::default()
    })
}

fn close(node: Node, open: &mut [Node], root: &mut Option<Node>) {
    match open.last_mut() {
        Some(parent) => parent.children.push(node),
        None => *root = Some(node),
    }
}

fn add_text(open: &mut [Node], text: &str) -> Result<(), Fail> {
    match open.last_mut() {
        Some(node) => node.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(Fail::new("Document", "text outside the root element")),
    }
    Ok(())
}

fn entity(reference: &BytesRef<'_>) -> Result<char, String> {
    if let Some(character) = reference
        .resolve_char_ref()
        .map_err(|error| error.to_string())?
    {
        return Ok(character);
    }
    let name = reference.xml10_content();
    match name.as_ref() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(format!("unknown entity `&{other};`")),
    }
}

fn finish(open: Vec<Node>, root: Option<Node>) -> Result<Node, Fail> {
    if let Some(innermost) = open.last() {
        let reason = format!("truncated document: <{}> is never closed", innermost.name);
        return Err(Fail::new(innermost.path.clone(), reason));
    }
    root.ok_or_else(|| Fail::new("Document", "empty document: no root element"))
}
