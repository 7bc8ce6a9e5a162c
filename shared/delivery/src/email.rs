//! Emails over SMTP (lettre): one message per delivery attempt, with
//! an optional attachment (an invoice or a dunning letter PDF) and a Message-ID that stays the same across
//! retries so a receiving system can tell a resend from a new invoice.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::settings::{DeliverySettings, SmtpSecurity};
use crate::{Accepted, DeliveryError};

/// One email to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// `local@domain`, with or without angle brackets; derive it from the
    /// delivery (not the attempt) so every retry carries the same id.
    pub message_id: String,
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub attachment: Option<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    /// e.g. `application/pdf`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Sends emails through the configured SMTP server.
///
/// Each `send` opens its own connection (lettre's pool is off): customer
/// mail is a trickle, and the pool would need a Tokio runtime already at
/// construction.
#[derive(Clone)]
pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for error messages.
    server: String,
}

impl std::fmt::Debug for EmailSender {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EmailSender")
            .field("from", &self.from.to_string())
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl EmailSender {
    /// Checks the settings and prepares the transport; connects only on
    /// `send`. `default_from` is the service's `From:` when the settings
    /// name none.
    pub fn from_settings(
        settings: &DeliverySettings,
        default_from: &str,
    ) -> Result<Self, DeliveryError> {
        let smtp = &settings.smtp;
        let from_address = Some(settings.from_address.trim())
            .filter(|address| !address.is_empty())
            .unwrap_or(default_from);
        let from: Mailbox = from_address.parse().map_err(|error| {
            DeliveryError::permanent(format!(
                "setting delivery.from_address `{from_address}` is not a mailbox: {error}"
            ))
        })?;
        if smtp.host.trim().is_empty() {
            return Err(DeliveryError::permanent(
                "setting delivery.smtp.host is empty",
            ));
        }
        if settings.timeout_ms == 0 {
            return Err(DeliveryError::permanent(
                "setting delivery.timeout_ms must be above 0",
            ));
        }
        let tls_setup_failed = |error: lettre::transport::smtp::Error| {
            DeliveryError::permanent(format!(
                "setting delivery.smtp.security: cannot set up TLS for host `{}`: {error}",
                smtp.host
            ))
        };
        let builder = match smtp.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    .map_err(tls_setup_failed)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(tls_setup_failed)?
            }
        }
        .port(smtp.port)
        .timeout(Some(Duration::from_millis(settings.timeout_ms)));
        let builder = match (&smtp.username, &smtp.password) {
            (Some(username), Some(password)) => builder.credentials(Credentials::new(
                username.clone(),
                password.expose_secret().to_owned(),
            )),
            (None, None) => builder,
            (Some(_), None) => {
                return Err(DeliveryError::permanent(
                    "setting delivery.smtp.username is set but delivery.smtp.password is not",
                ));
            }
            (None, Some(_)) => {
                return Err(DeliveryError::permanent(
                    "setting delivery.smtp.password is set but delivery.smtp.username is not",
                ));
            }
        };
        Ok(Self {
            transport: builder.build(),
            from,
            server: format!("{}:{}", smtp.host, smtp.port),
        })
    }

    /// Hands the email to the SMTP server. `Accepted` means the server took
    /// responsibility for it (250 after DATA), not that it reached an inbox.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<Accepted, DeliveryError> {
        let message = self.build_message(email)?;
        match self.transport.send(message).await {
            Ok(response) => Ok(Accepted {
                response: format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            }),
            Err(error) => Err(self.classify(&error)),
        }
    }

    fn build_message(&self, email: &OutgoingEmail) -> Result<Message, DeliveryError> {
        let address: Address = email.to.trim().parse().map_err(|error| {
            DeliveryError::permanent(format!(
                "field `to`: `{}` is not a valid email address: {error}",
                email.to
            ))
        })?;
        let recipient = Mailbox::new(email.to_name.clone(), address);
        let builder = Message::builder()
            .from(self.from.clone())
            .to(recipient)
            .subject(email.subject.clone())
            .message_id(Some(normalized_message_id(&email.message_id)?))
            .date_now();
        let text = SinglePart::plain(email.text_body.clone());
        let built = match &email.attachment {
            None => builder.singlepart(text),
            Some(attachment) => {
                let content_type =
                    ContentType::parse(&attachment.content_type).map_err(|error| {
                        DeliveryError::permanent(format!(
                            "field `attachment.content_type`: `{}` is not a MIME type: {error}",
                            attachment.content_type
                        ))
                    })?;
                if attachment.file_name.trim().is_empty() {
                    return Err(DeliveryError::permanent(
                        "field `attachment.file_name` is empty",
                    ));
                }
                let file = lettre::message::Attachment::new(attachment.file_name.clone())
                    .body(attachment.bytes.clone(), content_type);
                builder.multipart(MultiPart::mixed().singlepart(text).singlepart(file))
            }
        };
        built.map_err(|error| {
            DeliveryError::permanent(format!("cannot build the email to `{}`: {error}", email.to))
        })
    }

    /// 4xx replies and anything on the way to a reply (refused connection,
    /// timeout, TLS) can pass; 5xx replies and errors in our own request
    /// will be the same next time.
    fn classify(&self, error: &lettre::transport::smtp::Error) -> DeliveryError {
        let reason = format!("SMTP server {}: {error}", self.server);
        if error.is_permanent() || error.is_client() {
            DeliveryError::permanent(reason)
        } else {
            DeliveryError::transient(reason)
        }
    }
}

/// `<local@domain>`, from an id given with or without the brackets.
fn normalized_message_id(message_id: &str) -> Result<String, DeliveryError> {
    let bare = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let well_formed = bare
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && bare
            .chars()
            .all(|character| character.is_ascii_graphic() && !matches!(character, '<' | '>'));
    if well_formed {
        Ok(format!("<{bare}>"))
    } else {
        Err(DeliveryError::permanent(format!(
            "field `message_id`: `{message_id}` is not `local@domain` in printable ASCII"
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            message_id: "invoice-42.delivery-7@otc.local".to_owned(),
            to: "ap@customer.example".to_owned(),
            to_name: Some("Accounts Payable".to_owned()),
            subject: "Invoice INV-42".to_owned(),
            text_body: "Please find attached.".to_owned(),
            attachment: None,
        }
    }

    fn sender() -> EmailSender {
        EmailSender::from_settings(&DeliverySettings::default(), "otc@otc.local").unwrap()
    }

    #[test]
    fn message_ids_are_bracketed_once_and_checked() {
        assert_eq!(normalized_message_id("a.b@c").unwrap(), "<a.b@c>");
        assert_eq!(normalized_message_id(" <a.b@c> ").unwrap(), "<a.b@c>");
        for bad in ["", "no-at-sign", "@domain", "local@", "sp ace@x", "a<b@c"] {
            let error = normalized_message_id(bad).unwrap_err();
            assert!(error.to_string().contains("message_id"), "{bad}: {error}");
        }
    }

    #[test]
    fn bad_input_is_permanent_and_names_the_field() {
        let cases = [
            (
                OutgoingEmail {
                    to: "not an address".to_owned(),
                    ..email()
                },
                "field `to`",
            ),
            (
                OutgoingEmail {
                    attachment: Some(Attachment {
                        file_name: "i.pdf".to_owned(),
                        content_type: "pdf".to_owned(),
                        bytes: vec![1],
                    }),
                    ..email()
                },
                "attachment.content_type",
            ),
        ];
        for (email, field) in cases {
            let error = sender().build_message(&email).unwrap_err();
            assert!(!error.is_transient());
            assert!(error.to_string().contains(field), "{error}");
        }
    }

    #[test]
    fn the_message_carries_the_given_id_and_the_recipient_name() {
        let formatted =
            String::from_utf8(sender().build_message(&email()).unwrap().formatted()).unwrap();
        assert!(
            formatted.contains("Message-ID: <invoice-42.delivery-7@otc.local>"),
            "{formatted}"
        );
        assert!(
            formatted.contains("To: \"Accounts Payable\" <ap@customer.example>"),
            "{formatted}"
        );
    }

    #[test]
    fn every_security_mode_builds_with_credentials() {
        for security in [
            SmtpSecurity::None,
            SmtpSecurity::Starttls,
            SmtpSecurity::Tls,
        ] {
            let mut settings = DeliverySettings::default();
            settings.smtp.host = "smtp.example.com".to_owned();
            settings.smtp.security = security;
            settings.smtp.username = Some("mailer".to_owned());
            settings.smtp.password = Some("pw".into());
            let sender = EmailSender::from_settings(&settings, "otc@otc.local").unwrap();
            assert_eq!(sender.server, "smtp.example.com:51025");
        }
    }

    #[test]
    fn settings_errors_name_the_setting() {
        let mut settings = DeliverySettings {
            from_address: "billing at example".to_owned(),
            ..DeliverySettings::default()
        };
        let error = EmailSender::from_settings(&settings, "otc@otc.local").unwrap_err();
        assert!(
            error.to_string().contains("delivery.from_address"),
            "{error}"
        );
        settings.from_address = "Billing <billing@example.com>".to_owned();
        settings.smtp.username = Some("mailer".to_owned());
        let error = EmailSender::from_settings(&settings, "otc@otc.local").unwrap_err();
        assert!(
            error.to_string().contains("delivery.smtp.password"),
            "{error}"
        );
    }
}
