//! Imported bank statements (one row per statement, unique by identity).

use uuid::Uuid;

use super::Tx;

pub struct NewStatement<'a> {
    pub id: Uuid,
    pub identity: &'a str,
    pub format: &'a str,
    pub file_name: &'a str,
    pub file_sha256: &'a str,
    pub account: &'a str,
    pub message_id: &'a str,
    pub statement_ref: &'a str,
    pub entries: i32,
    pub imported_by: &'a str,
}

/// Records the statement; `false` when one with this identity was imported
/// before (nothing is written then).
pub async fn insert(
    tx: &mut Tx,
    tenant: &str,
    new: &NewStatement<'_>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO statements
               (tenant, id, identity, format, file_name, file_sha256, account, message_id,
                statement_ref, entries, imported_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (tenant, identity) DO NOTHING
           RETURNING id"#,
        tenant,
        new.id,
        new.identity,
        new.format,
        new.file_name,
        new.file_sha256,
        new.account,
        new.message_id,
        new.statement_ref,
        new.entries,
        new.imported_by,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted.is_some())
}
