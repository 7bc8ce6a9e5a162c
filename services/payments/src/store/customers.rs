//! The customer projection cash application identifies payers in.

use uuid::Uuid;

use super::Tx;

pub struct MasterData<'a> {
    pub id: Uuid,
    pub legal_name: &'a str,
    pub match_name: &'a str,
    pub currency: Option<&'a str>,
    pub status: &'a str,
    pub mandate_reference: Option<&'a str>,
    pub version: i64,
    pub accounts: &'a [String],
}

#[derive(Debug, Clone)]
pub struct CustomerRow {
    pub id: Uuid,
    pub legal_name: String,
    pub accounts: Vec<String>,
}

/// Applies a `CustomerUpserted`; an older version than the one projected
/// changes nothing (events of one customer can be redelivered out of order
/// after a rebalance).
pub async fn upsert(tx: &mut Tx, tenant: &str, data: &MasterData<'_>) -> Result<(), sqlx::Error> {
    let changed = sqlx::query_scalar!(
        r#"INSERT INTO customers
               (tenant, id, legal_name, match_name, currency, status, mandate_reference, master_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET
               legal_name = EXCLUDED.legal_name,
               match_name = EXCLUDED.match_name,
               currency = EXCLUDED.currency,
               status = EXCLUDED.status,
               mandate_reference = EXCLUDED.mandate_reference,
               master_version = EXCLUDED.master_version,
               updated_at = now()
           WHERE customers.master_version <= EXCLUDED.master_version
           RETURNING id"#,
        tenant,
        data.id,
        data.legal_name,
        data.match_name,
        data.currency,
        data.status,
        data.mandate_reference,
        data.version,
    )
    .fetch_optional(&mut **tx)
    .await?;
    if changed.is_none() {
        return Ok(());
    }
    sqlx::query!(
        "DELETE FROM customer_accounts WHERE customer_id = $1",
        data.id
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        r#"INSERT INTO customer_accounts (tenant, account, customer_id)
           SELECT $1, account, $2 FROM UNNEST($3::text[]) AS account
           ON CONFLICT DO NOTHING"#,
        tenant,
        data.id,
        data.accounts,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn exists(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query_scalar!("SELECT id FROM customers WHERE id = $1", id)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

pub async fn load(tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<CustomerRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT c.id, c.legal_name,
                  COALESCE(ARRAY_AGG(a.account ORDER BY a.account)
                           FILTER (WHERE a.account IS NOT NULL), '{}') AS "accounts!"
           FROM customers c
           LEFT JOIN customer_accounts a ON a.customer_id = c.id
           WHERE c.id = ANY($1)
           GROUP BY c.id, c.legal_name
           ORDER BY c.id"#,
        ids
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| CustomerRow {
            id: row.id,
            legal_name: row.legal_name,
            accounts: row.accounts,
        })
        .collect())
}

/// (account, customer) for every known account among `accounts`.
pub async fn by_accounts(
    tx: &mut Tx,
    accounts: &[String],
) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT account, customer_id FROM customer_accounts
           WHERE tenant = current_setting('app.tenant', true) AND account = ANY($1)
           ORDER BY account, customer_id"#,
        accounts
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.account, row.customer_id))
        .collect())
}

/// For each folded payer name, the `limit` customers whose name is most
/// like it (trigram similarity; the index does the search).
pub async fn by_names(
    tx: &mut Tx,
    match_names: &[String],
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT c.id AS "id!"
           FROM UNNEST($1::text[]) AS n(name)
           CROSS JOIN LATERAL (
               SELECT id FROM customers
               WHERE match_name % n.name
               ORDER BY similarity(match_name, n.name) DESC, id
               LIMIT $2) c"#,
        match_names,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}
