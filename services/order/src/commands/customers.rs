//! Creating and changing customers; every change publishes `CustomerUpserted`.

use serde_json::json;

use super::CommandError;
use crate::domain::{Address, Violations};
use crate::events::outgoing;
use crate::store::customers::{self, CustomerRecord, CustomerWrite, Tx};
use otc_shared::audit::{self, AuditEntry};
use otc_shared::domain::CustomerStatus;
use otc_shared::ids::CustomerId;
use otc_shared::terms::PaymentTerms;
use otc_shared::{Currency, TenantId, outbox};

/// The customer's details as a request gives them, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerInput {
    pub legal_name: String,
    pub external_references: Vec<(String, String)>,
    pub billing_address: Option<Address>,
    pub tax_region: String,
    pub currency_code: String,
    pub payment_terms_code: String,
    pub segment: String,
    pub mandate_reference: String,
    pub bank_accounts: Vec<String>,
    pub status: String,
}

/// `NET30`, `EOM`, `EOM15`, `2/10NET30`, `DUE_ON_RECEIPT`: the codes billing
/// knows how to turn into due dates, checked by the suite's one parser.
pub fn valid_payment_terms(code: &str) -> bool {
    PaymentTerms::parse(code).is_ok()
}

/// `DE89 3704 0044 0532 0130 00` -> `DE89370400440532013000`.
pub fn normalize_account(account: &str) -> String {
    account
        .chars()
        .filter(|character| !character.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

fn validate(input: &CustomerInput) -> Result<CustomerWrite, CommandError> {
    let mut violations = Violations::new();
    let field = |name: &str| format!("details.{name}");
    if input.legal_name.trim().is_empty() {
        violations.add(&field("legal_name"), "is required");
    }
    Address::validate(
        input.billing_address.as_ref(),
        &field("billing_address"),
        &mut violations,
    );
    if input.tax_region.trim().is_empty() {
        violations.add(&field("tax_region"), "is required (e.g. `DE`, `US-CA`)");
    }
    let currency = match Currency::parse(input.currency_code.trim()) {
        Ok(currency) => currency.code().to_owned(),
        Err(error) => {
            violations.add(&field("currency_code"), error.to_string());
            String::new()
        }
    };
    let terms = input.payment_terms_code.trim().to_uppercase();
    if !valid_payment_terms(&terms) {
        violations.add(
            &field("payment_terms_code"),
            format!(
                "`{}` is not a payment terms code (NET30, EOM, EOM15, 2/10NET30, DUE_ON_RECEIPT)",
                input.payment_terms_code
            ),
        );
    }
    let status = if input.status.trim().is_empty() {
        "active".to_owned()
    } else {
        input.status.trim().to_owned()
    };
    if let Err(error) = status.parse::<CustomerStatus>() {
        violations.add(&field("status"), error.to_string());
    }
    let mut references: Vec<(String, String)> = Vec::new();
    for (index, (platform, external_id)) in input.external_references.iter().enumerate() {
        let (platform, external_id) = (platform.trim().to_owned(), external_id.trim().to_owned());
        if platform.is_empty() || external_id.is_empty() || platform.contains(':') {
            violations.add(
                &format!("{}[{index}]", field("external_references")),
                "needs a platform (without `:`) and an external id",
            );
        } else if references.contains(&(platform.clone(), external_id.clone())) {
            violations.add(
                &format!("{}[{index}]", field("external_references")),
                "is listed twice",
            );
        } else {
            references.push((platform, external_id));
        }
    }
    references.sort();
    let mut accounts: Vec<String> = Vec::new();
    for (index, account) in input.bank_accounts.iter().enumerate() {
        let normalized = normalize_account(account);
        if normalized.len() < 6
            || !normalized
                .chars()
                .all(|character| character.is_ascii_alphanumeric())
        {
            violations.add(
                &format!("{}[{index}]", field("bank_accounts")),
                format!("`{account}` is not an IBAN or account number"),
            );
        } else if !accounts.contains(&normalized) {
            accounts.push(normalized);
        }
    }
    if !violations.is_empty() {
        return Err(CommandError::Invalid(violations));
    }
    Ok(CustomerWrite {
        legal_name: input.legal_name.trim().to_owned(),
        billing_address: input.billing_address.clone().unwrap_or_default(),
        tax_region: input.tax_region.trim().to_owned(),
        currency,
        payment_terms_code: terms,
        segment: if input.segment.trim().is_empty() {
            "standard".to_owned()
        } else {
            input.segment.trim().to_owned()
        },
        mandate_reference: Some(input.mandate_reference.trim().to_owned())
            .filter(|reference| !reference.is_empty()),
        bank_accounts: accounts,
        status,
        external_references: references,
    })
}

fn audit_view(customer: &CustomerRecord) -> serde_json::Value {
    json!({
        "legal_name": customer.legal_name,
        "billing_address": customer.billing_address,
        "tax_region": customer.tax_region,
        "currency": customer.currency,
        "payment_terms_code": customer.payment_terms_code,
        "segment": customer.segment,
        "mandate_reference": customer.mandate_reference,
        "bank_accounts": customer.bank_accounts,
        "status": customer.status,
        "version": customer.version,
        "external_references": customer.external_references.iter().map(|(p, id)| format!("{p}:{id}")).collect::<Vec<_>>(),
    })
}

async fn check_references(
    tx: &mut Tx,
    tenant: &TenantId,
    write: &CustomerWrite,
    except: Option<CustomerId>,
) -> Result<(), CommandError> {
    let taken = customers::reference_owners(tx, tenant, &write.external_references, except).await?;
    if taken.is_empty() {
        return Ok(());
    }
    let mut violations = Violations::new();
    for (index, owner) in taken {
        let (platform, id) = &write.external_references[index];
        violations.add(
            &format!("details.external_references[{index}]"),
            format!("{platform}:{id} already belongs to customer {owner}"),
        );
    }
    Err(CommandError::Invalid(violations))
}

pub async fn create(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    input: &CustomerInput,
) -> Result<CustomerRecord, CommandError> {
    let write = validate(input)?;
    check_references(tx, tenant, &write, None).await?;
    let id = CustomerId::new();
    customers::insert(tx, tenant, id, &write).await?;
    let record = customers::load(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("customer {id} not found")))?;
    outbox::enqueue(tx, &outgoing::customer_upserted(tenant, &record)).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action: "customer.created",
            entity_type: "customer",
            entity_id: &id.to_string(),
            before: None,
            after: Some(audit_view(&record)),
        },
    )
    .await?;
    Ok(record)
}

pub async fn update(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    id: CustomerId,
    expected_version: i64,
    input: &CustomerInput,
) -> Result<CustomerRecord, CommandError> {
    let write = validate(input)?;
    let before = customers::load(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("customer {id} not found")))?;
    if before.version != expected_version {
        return Err(CommandError::Aborted(format!(
            "customer {id} is at version {}, not {expected_version}: reload it and apply the change again",
            before.version
        )));
    }
    check_references(tx, tenant, &write, Some(id)).await?;
    if !customers::update(tx, tenant, id, expected_version, &write).await? {
        return Err(CommandError::Aborted(format!(
            "customer {id} changed meanwhile: reload it"
        )));
    }
    let after = customers::load(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("customer {id} not found")))?;
    outbox::enqueue(tx, &outgoing::customer_upserted(tenant, &after)).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action: "customer.updated",
            entity_type: "customer",
            entity_id: &id.to_string(),
            before: Some(audit_view(&before)),
            after: Some(audit_view(&after)),
        },
    )
    .await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_terms_codes() {
        for good in [
            "NET30",
            "NET0",
            "EOM",
            "EOM15",
            "2/10NET30",
            "1.5/15NET45",
            "DUE_ON_RECEIPT",
        ] {
            assert!(valid_payment_terms(good), "{good}");
        }
        for bad in ["NET", "30", "NET30D", "2/NET30", "EOMX"] {
            assert!(!valid_payment_terms(bad), "{bad}");
        }
    }
}
