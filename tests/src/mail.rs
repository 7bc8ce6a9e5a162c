//! Reads the mail that the local SMTP sink (`scripts/infra/sinks.sh`) filed
//! in its Maildir, so tests check delivered email end to end.
//!
//! Every test shares the one sink: isolate by sending to a recipient address
//! of its own (see [`unique_recipient`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use mailparse::{DispositionType, MailAddr, MailHeaderMap, ParsedMail};

/// One delivered message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    pub subject: String,
    /// The `From:` header as sent (e.g. `Billing <billing@otc.local>`).
    pub from: String,
    /// Addresses from `To:`/`Cc:` and the SMTP envelope, lowercased.
    pub to: Vec<String>,
    /// Without angle brackets.
    pub message_id: String,
    /// The first `text/plain` part that is not an attachment, with CRLF
    /// turned into LF (the sink stores messages with Unix line ends).
    pub text_body: String,
    pub attachments: Vec<ReceivedAttachment>,
    /// The Maildir file, for failure messages.
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAttachment {
    pub name: String,
    pub content_type: String,
    /// Transfer encoding (base64) removed.
    pub bytes: Vec<u8>,
}

/// `$OTC_TEST_SMTP_MAILDIR`, else where `infra.sh` puts it by default.
pub fn maildir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OTC_TEST_SMTP_MAILDIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("OTC_CACHE_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache"),
        PathBuf::from,
    );
    cache.join("smtp/maildir")
}

/// `$OTC_TEST_SMTP_PORT`, else the sink's default port.
pub fn smtp_port() -> u16 {
    std::env::var("OTC_TEST_SMTP_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(51025)
}

/// An address nobody else's test sends to.
pub fn unique_recipient(prefix: &str) -> String {
    format!("{prefix}-{}@customer.test", crate::unique_suffix())
}

/// Every message delivered to `recipient` so far, oldest first.
pub fn messages_for(recipient: &str) -> Vec<ReceivedMail> {
    try_messages_for(recipient).unwrap_or_else(|error| panic!("reading the SMTP sink: {error:#}"))
}

/// Waits until a message for `recipient` arrives and returns the first one.
pub async fn wait_for_message(recipient: &str, timeout: Duration) -> anyhow::Result<ReceivedMail> {
    let started = Instant::now();
    loop {
        if let Some(first) = try_messages_for(recipient)?.into_iter().next() {
            return Ok(first);
        }
        if started.elapsed() >= timeout {
            anyhow::bail!(
                "no message for {recipient} in {} within {timeout:?} ({} other messages there); \
                 is the SMTP sink running? scripts/infra/infra.sh status",
                maildir().display(),
                message_files(&maildir())?.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn try_messages_for(recipient: &str) -> anyhow::Result<Vec<ReceivedMail>> {
    let wanted = recipient.trim().to_ascii_lowercase();
    let mut found = Vec::new();
    for path in message_files(&maildir())? {
        let raw = match std::fs::read(&path) {
            Ok(raw) => raw,
            // Another test's run may have cleared the Maildir meanwhile.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
        };
        let mail = parse(&raw, path)?;
        if mail.to.contains(&wanted) {
            found.push(mail);
        }
    }
    Ok(found)
}

/// Files in `new/` and `cur/`, ordered by name (Maildir names start with
/// the delivery time). `tmp/` holds messages still being written.
fn message_files(maildir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        let dir = maildir.join(sub);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error).with_context(|| format!("listing {}", dir.display())),
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

fn parse(raw: &[u8], path: PathBuf) -> anyhow::Result<ReceivedMail> {
    let mail = mailparse::parse_mail(raw).with_context(|| format!("parsing {}", path.display()))?;
    let header = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    let mut to = Vec::new();
    for name in ["To", "Cc"] {
        for value in mail.headers.get_all_headers(name) {
            let list = mailparse::addrparse_header(value)
                .with_context(|| format!("{name}: header of {}", path.display()))?;
            for address in list.iter() {
                match address {
                    MailAddr::Single(single) => to.push(single.addr.to_ascii_lowercase()),
                    MailAddr::Group(group) => to.extend(
                        group
                            .addrs
                            .iter()
                            .map(|single| single.addr.to_ascii_lowercase()),
                    ),
                }
            }
        }
    }
    // aiosmtpd's Mailbox handler records the envelope here (Bcc included).
    for envelope in header("X-RcptTo").split(',') {
        let address = envelope.trim().to_ascii_lowercase();
        if !address.is_empty() && !to.contains(&address) {
            to.push(address);
        }
    }
    let message_id = mailparse::msgidparse(&header("Message-ID"))
        .ok()
        .and_then(|ids| ids.first().cloned())
        .unwrap_or_default();
    let mut text_body = None;
    let mut attachments = Vec::new();
    collect_parts(&mail, &mut text_body, &mut attachments)
        .with_context(|| format!("decoding {}", path.display()))?;
    Ok(ReceivedMail {
        subject: header("Subject"),
        from: header("From"),
        to,
        message_id,
        text_body: text_body.unwrap_or_default().replace("\r\n", "\n"),
        attachments,
        path,
    })
}

fn collect_parts(
    part: &ParsedMail<'_>,
    text_body: &mut Option<String>,
    attachments: &mut Vec<ReceivedAttachment>,
) -> anyhow::Result<()> {
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            collect_parts(sub, text_body, attachments)?;
        }
        return Ok(());
    }
    let disposition = part.get_content_disposition();
    let file_name = disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"))
        .cloned();
    if disposition.disposition == DispositionType::Attachment || file_name.is_some() {
        attachments.push(ReceivedAttachment {
            name: file_name.unwrap_or_default(),
            content_type: part.ctype.mimetype.clone(),
            bytes: part.get_body_raw()?,
        });
    } else if part.ctype.mimetype == "text/plain" && text_body.is_none() {
        *text_body = Some(part.get_body()?);
    }
    Ok(())
}
