//! The words of a notice: each level's subject and body are minijinja
//! templates (or the built-in text for the level when left empty), rendered
//! once per notice with the customer, the items and the amounts. The
//! rendered text is what is stored and sent, so a later template change
//! never alters a notice already generated.
//!
//! minijinja (Jinja2 syntax, no unsafe, sandboxed: templates cannot reach
//! files or the network) rather than string replacement: notices need a
//! loop over the items and conditionals for fee and interest lines, and
//! tenants write these templates themselves.

use minijinja::{Environment, UndefinedBehavior};
use otc_shared::money::Currency;
use rust_decimal::Decimal;
use serde::Serialize;

use super::dunning::{Level, PlannedNotice};

/// What a template can use.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeContext<'a> {
    pub customer_name: &'a str,
    pub level: i32,
    /// Days past due the level fires at (negative: before the due date).
    pub days_after_due: i32,
    pub as_of: String,
    pub currency: &'a str,
    pub overdue_amount: String,
    pub fee_amount: String,
    pub interest_amount: String,
    pub total_due: String,
    pub has_fee: bool,
    pub has_interest: bool,
    pub items: Vec<ItemContext>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemContext {
    pub number: String,
    pub due_date: String,
    pub days_overdue: i32,
    pub open_amount: String,
    pub interest_amount: String,
}

impl<'a> NoticeContext<'a> {
    /// Amounts are written with the currency's minor units (`1250.50`).
    pub fn of(notice: &'a PlannedNotice, customer_name: &'a str, as_of: chrono::NaiveDate) -> Self {
        let minor_units =
            Currency::parse(&notice.currency).map_or(2, |currency| currency.minor_units());
        let amount = |value: Decimal| {
            let mut shown = value;
            shown.rescale(minor_units);
            shown.to_string()
        };
        Self {
            customer_name,
            level: notice.level.level,
            days_after_due: notice.level.days_after_due,
            as_of: as_of.to_string(),
            currency: &notice.currency,
            overdue_amount: amount(notice.overdue_amount),
            fee_amount: amount(notice.fee_amount),
            interest_amount: amount(notice.interest_amount),
            total_due: amount(notice.total_due),
            has_fee: !notice.fee_amount.is_zero(),
            has_interest: !notice.interest_amount.is_zero(),
            items: notice
                .items
                .iter()
                .map(|item| ItemContext {
                    number: item.number.clone(),
                    due_date: item.due_date.to_string(),
                    days_overdue: item.days_overdue,
                    open_amount: amount(item.open_amount),
                    interest_amount: amount(item.interest_amount),
                })
                .collect(),
        }
    }
}

const DEFAULT_BODY: &str = "Dear {{ customer_name }},

{% if days_after_due < 0 -%}
this is a friendly reminder that the following items fall due soon:
{%- elif level == 1 -%}
our records show the following items as overdue:
{%- else -%}
despite our earlier reminders, the following items are still unpaid (notice {{ level }}):
{%- endif %}

{% for item in items -%}
  {{ item.number }}  due {{ item.due_date }}  {{ item.open_amount }} {{ currency }}
{%- if item.days_overdue > 0 %}  ({{ item.days_overdue }} days overdue){% endif %}
{% endfor %}
Open amount: {{ overdue_amount }} {{ currency }}
{%- if has_fee %}
Dunning fee: {{ fee_amount }} {{ currency }}
{%- endif %}
{%- if has_interest %}
Interest: {{ interest_amount }} {{ currency }}
{%- endif %}
Total due: {{ total_due }} {{ currency }}

Please pay the total by return, or tell us if anything is in question.
If you have paid in the meantime, thank you, and please ignore this notice.
";

fn default_subject(level: &Level) -> &'static str {
    if level.days_after_due < 0 {
        "Payment reminder: items due soon"
    } else if level.level == 1 {
        "Payment reminder: overdue items"
    } else {
        "Overdue items: notice {{ level }}"
    }
}

/// The rendered words of one notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeText {
    pub subject: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct TemplateError {
    /// `subject_template` or `body_template`.
    pub field: &'static str,
    pub reason: String,
}

/// A level's templates, compiled once per run.
pub struct Templates {
    environment: Environment<'static>,
}

const SUBJECT: &str = "subject";
const BODY: &str = "body";

impl Templates {
    /// Compiles the level's templates (or the built-in ones); an unknown
    /// variable is an error rather than an empty string.
    pub fn compile(level: &Level) -> Result<Self, TemplateError> {
        let mut environment = Environment::new();
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        let subject = if level.subject_template.trim().is_empty() {
            default_subject(level).to_owned()
        } else {
            level.subject_template.clone()
        };
        let body = if level.body_template.trim().is_empty() {
            DEFAULT_BODY.to_owned()
        } else {
            level.body_template.clone()
        };
        environment
            .add_template_owned(SUBJECT, subject)
            .map_err(|error| TemplateError {
                field: "subject_template",
                reason: describe(&error),
            })?;
        environment
            .add_template_owned(BODY, body)
            .map_err(|error| TemplateError {
                field: "body_template",
                reason: describe(&error),
            })?;
        Ok(Self { environment })
    }

    pub fn render(&self, context: &NoticeContext<'_>) -> Result<NoticeText, TemplateError> {
        let render = |name: &str, field: &'static str| {
            self.environment
                .get_template(name)
                .and_then(|template| template.render(context))
                .map_err(|error| TemplateError {
                    field,
                    reason: describe(&error),
                })
        };
        Ok(NoticeText {
            // A subject is one line whatever the template did.
            subject: render(SUBJECT, "subject_template")?
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            body: render(BODY, "body_template")?,
        })
    }

    /// Compiles and renders the level's templates against a sample notice,
    /// so a template that would fail in a run is refused when it is set.
    pub fn check(level: &Level) -> Result<(), TemplateError> {
        let templates = Self::compile(level)?;
        let sample = NoticeContext {
            customer_name: "Sample Customer Ltd",
            level: level.level,
            days_after_due: level.days_after_due,
            as_of: "2026-01-31".to_owned(),
            currency: "EUR",
            overdue_amount: "100".to_owned(),
            fee_amount: "0".to_owned(),
            interest_amount: "0".to_owned(),
            total_due: "100".to_owned(),
            has_fee: false,
            has_interest: false,
            items: vec![ItemContext {
                number: "INV-1".to_owned(),
                due_date: "2026-01-01".to_owned(),
                days_overdue: 30,
                open_amount: "100".to_owned(),
                interest_amount: "0".to_owned(),
            }],
        };
        templates.render(&sample).map(|_| ())
    }
}

fn describe(error: &minijinja::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::domain::dunning::{Channel, PlannedItem};
    use rust_decimal_macros::dec;
    use uuid::Uuid;

    fn level(number: i32, days: i32) -> Level {
        Level {
            level: number,
            days_after_due: days,
            channel: Channel::Email,
            subject_template: String::new(),
            body_template: String::new(),
            fee: None,
            interest_rate: None,
        }
    }

    fn notice(level: Level) -> PlannedNotice {
        PlannedNotice {
            customer_id: Uuid::from_u128(1),
            strategy_id: Uuid::from_u128(2),
            level,
            currency: "EUR".to_owned(),
            items: vec![PlannedItem {
                item_id: Uuid::from_u128(3),
                number: "INV-2026-000042".to_owned(),
                due_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                days_overdue: 30,
                open_amount: dec!(1250.50),
                interest_amount: dec!(4.11),
            }],
            overdue_amount: dec!(1250.50),
            fee_amount: dec!(15.00),
            interest_amount: dec!(4.11),
            total_due: dec!(1269.61),
        }
    }

    #[test]
    fn the_built_in_text_lists_the_items_and_the_amounts() {
        let planned = notice(level(2, 21));
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        let text = Templates::compile(&planned.level)
            .unwrap()
            .render(&NoticeContext::of(&planned, "Acme GmbH", as_of))
            .unwrap();
        assert_eq!(text.subject, "Overdue items: notice 2");
        assert!(text.body.starts_with("Dear Acme GmbH,"), "{}", text.body);
        assert!(
            text.body
                .contains("INV-2026-000042  due 2026-03-01  1250.50 EUR  (30 days overdue)"),
            "{}",
            text.body
        );
        assert!(
            text.body.contains("Dunning fee: 15.00 EUR"),
            "{}",
            text.body
        );
        assert!(text.body.contains("Interest: 4.11 EUR"), "{}", text.body);
        assert!(
            text.body.contains("Total due: 1269.61 EUR"),
            "{}",
            text.body
        );
        assert!(
            text.body.contains("still unpaid (notice 2)"),
            "{}",
            text.body
        );
    }

    #[test]
    fn a_reminder_before_the_due_date_reads_as_one() {
        let planned = notice(level(1, -3));
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 2, 26).unwrap();
        let text = Templates::compile(&planned.level)
            .unwrap()
            .render(&NoticeContext::of(&planned, "Acme GmbH", as_of))
            .unwrap();
        assert_eq!(text.subject, "Payment reminder: items due soon");
        assert!(text.body.contains("fall due soon"), "{}", text.body);
    }

    #[test]
    fn tenant_templates_render_and_bad_ones_are_refused_naming_the_field() {
        let mut custom = level(1, 7);
        custom.subject_template = "{{ customer_name }}:\n {{ items|length }} open".to_owned();
        custom.body_template =
            "{% for item in items %}{{ item.number }}={{ item.open_amount }};{% endfor %}"
                .to_owned();
        assert!(Templates::check(&custom).is_ok());
        let planned = notice(custom);
        let text = Templates::compile(&planned.level)
            .unwrap()
            .render(&NoticeContext::of(
                &planned,
                "Acme",
                chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            ))
            .unwrap();
        assert_eq!(text.subject, "Acme: 1 open");
        assert_eq!(text.body, "INV-2026-000042=1250.50;");

        let mut unclosed = level(1, 7);
        unclosed.body_template = "{% for item in items %}".to_owned();
        assert_eq!(
            Templates::check(&unclosed).unwrap_err().field,
            "body_template"
        );
        let mut unknown = level(1, 7);
        unknown.subject_template = "{{ customer_nmae }}".to_owned();
        let error = Templates::check(&unknown).unwrap_err();
        assert_eq!(error.field, "subject_template");
        assert!(error.reason.contains("undefined"), "{error}");
    }
}
