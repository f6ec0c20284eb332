//! Idempotency records (AIP-155): a create call with a request id that was
//! seen before returns the first result instead of creating again.
//!
//! The record is inserted in the same transaction as the resource, with
//! `ON CONFLICT DO NOTHING`. Two concurrent calls with one request id both
//! create, but the second insert waits for the first transaction's unique
//! index entry; once the first commits, the second inserts nothing, rolls its
//! resource back and answers with the first one. So exactly one resource
//! exists, on PostgreSQL and on SQLite (where writers are serialised anyway).

use chrono::Utc;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use sha2::{Digest, Sha256};

use crate::entity::idempotency_record as record;

/// Which call a request id belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub caller: String,
    pub operation: &'static str,
    pub request_id: String,
}

/// What an earlier call with the same key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Same key, same payload: answer with this resource.
    Replay(i64),
    /// Same key, another payload: refuse.
    Conflict,
}

/// Fingerprint of a request payload (without its request id).
pub fn payload_hash(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

/// Looks for an earlier call with this key.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    key: &IdempotencyKey,
    payload_hash: &str,
) -> Result<Option<Seen>, DbErr> {
    let found = record::Entity::find_by_id((
        key.caller.clone(),
        key.operation.to_owned(),
        key.request_id.clone(),
    ))
    .one(db)
    .await?;
    Ok(found.map(|r| {
        if r.payload_hash == payload_hash {
            Seen::Replay(r.resource_id)
        } else {
            Seen::Conflict
        }
    }))
}

/// Records that this key created `resource_id`, inside the creating
/// transaction. Returns `false` when another call with the same key got there
/// first: the caller must roll back and answer with [`find`].
pub async fn record<C: ConnectionTrait>(
    db: &C,
    key: &IdempotencyKey,
    payload_hash: &str,
    resource_id: i64,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table(record::Entity)
        .columns([
            record::Column::Caller,
            record::Column::Operation,
            record::Column::RequestId,
            record::Column::PayloadHash,
            record::Column::ResourceId,
            record::Column::CreatedAt,
        ])
        .values_panic([
            key.caller.clone().into(),
            key.operation.into(),
            key.request_id.clone().into(),
            payload_hash.into(),
            resource_id.into(),
            Utc::now().into(),
        ])
        .on_conflict(
            OnConflict::columns([
                record::Column::Caller,
                record::Column::Operation,
                record::Column::RequestId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .to_owned();
    let result = db.execute(&insert).await?;
    Ok(result.rows_affected() == 1)
}
