//! Uploaded archives of a tenant, kept until the import run that reads them has finished.

use chrono::Utc;
use entity::uploads;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{StoreError, StoreResult, TenantScope};

pub async fn create(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    filename: &str,
    content: Vec<u8>,
    created_by: Uuid,
) -> StoreResult<uploads::Model> {
    use sha2::{Digest, Sha256};
    let sha256 = Sha256::digest(&content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok(uploads::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_id()),
        filename: Set(filename.to_string()),
        size_bytes: Set(i64::try_from(content.len()).unwrap_or(i64::MAX)),
        sha256: Set(sha256),
        content: Set(content),
        created_by: Set(Some(created_by)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

pub async fn get(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> StoreResult<uploads::Model> {
    uploads::Entity::find_by_id(id)
        .filter(uploads::Column::TenantId.eq(scope.tenant_id()))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Deletes an upload its import has read.
pub async fn delete(db: &impl ConnectionTrait, scope: &TenantScope, id: Uuid) -> StoreResult<()> {
    uploads::Entity::delete_many()
        .filter(uploads::Column::TenantId.eq(scope.tenant_id()))
        .filter(uploads::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
