//! Moving from one machine to several: a SQLite database copied into an empty PostgreSQL one.
//!
//! Every table, in the order their references need, streamed from SQLite and written in batches of
//! multi-row inserts (constant memory, whatever the size), with progress reported as it goes. The
//! target must be empty: a copy never mixes with existing data. Each table's rows are summed as
//! they are read from SQLite, then the table is read back from PostgreSQL and compared by row
//! count and that checksum (an order-independent sum of each row's SHA-256, so neither side has to
//! sort); any difference fails the copy.
//!
//! The columns and their types come from the target's schema (both engines run the same
//! migrations, so the source has the same columns): SQLite's 16-byte blobs become `uuid`, its
//! integers `boolean` where the target says so, its JSON text `jsonb`.

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteRow;
use sqlx::{Arguments, PgPool, Row, ValueRef};
use uuid::Uuid;

use crate::{DbError, DbResult, Store};

/// The tables copied, parents before children. `instances` (leases of running processes) is not
/// data and starts empty.
pub const TABLES: &[&str] = &[
    "users",
    "sessions",
    "accounts",
    "verifications",
    "conversations",
    "messages",
    "agent_logs",
    "agent_log_summaries",
    "preferences",
    "platform_preferences",
    "api_tokens",
    "audit_log",
    "job_runs",
    "attempts",
    "imports",
];

/// Bind parameters one insert may carry (PostgreSQL's limit is 65 535).
const MAX_PARAMS: usize = 60_000;
/// Rows one insert carries at most.
const BATCH_ROWS: usize = 1000;

/// One table's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCopy {
    pub table: String,
    pub rows: u64,
    /// The rows' checksum, the same on both sides.
    pub checksum: String,
}

/// Progress of a copy, for the one reporting it.
#[derive(Clone, Debug)]
pub enum Progress<'a> {
    /// Rows of `table` copied so far, of `total`.
    Copying { table: &'a str, done: u64, total: u64 },
    /// `table` is being checked on both sides.
    Verifying { table: &'a str },
}

/// A column of the target and how a source value becomes its type.
#[derive(Clone, Debug)]
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Uuid,
    Int,
    Bool,
    Text,
    Json,
    Bytes,
    Float,
}

impl Kind {
    fn of(data_type: &str) -> Option<Kind> {
        Some(match data_type {
            "uuid" => Kind::Uuid,
            "bigint" | "integer" | "smallint" => Kind::Int,
            "boolean" => Kind::Bool,
            "text" | "character varying" => Kind::Text,
            "jsonb" | "json" => Kind::Json,
            "bytea" => Kind::Bytes,
            "double precision" | "real" => Kind::Float,
            _ => return None,
        })
    }
}

/// A value on its way, in the target's type.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
enum Value {
    Null,
    Uuid(Uuid),
    Int(i64),
    Bool(bool),
    Text(String),
    Json(serde_json::Value),
    Bytes(Vec<u8>),
    Float(f64),
}

/// Copies `source` (SQLite) into `target` (PostgreSQL, migrated and empty), reporting progress to
/// `report`; returns each table's rows and checksum, verified on both sides.
pub async fn sqlite_to_postgres(
    source: &Store,
    target: &Store,
    mut report: impl FnMut(Progress<'_>),
) -> DbResult<Vec<TableCopy>> {
    let (Store::Sqlite(source), Store::Postgres(target)) = (source, target) else {
        return Err(DbError::Invalid("copies go from a SQLite database to a PostgreSQL one".into()));
    };
    let (from, to) = (source.pool(), target.pool());
    for table in TABLES {
        let rows: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(to).await?;
        if rows > 0 {
            return Err(DbError::Conflict(format!(
                "the target database is not empty ({table} has {rows} rows); copy into an empty database"
            )));
        }
    }
    let mut copies = Vec::new();
    for table in TABLES {
        let columns = columns(to, table).await?;
        let total: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(from).await?;
        let total = total as u64;
        report(Progress::Copying { table, done: 0, total });
        let list = column_list(&columns);
        let per_insert = BATCH_ROWS.min(MAX_PARAMS / columns.len().max(1));
        let select = format!("SELECT {list} FROM {table}");
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(from);
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_insert);
        let mut done = 0u64;
        // The source's checksum is taken from the rows as they are copied (one read of SQLite).
        let mut source_sum = 0u128;
        let mut tx = to.begin().await?;
        while let Some(row) = rows.try_next().await? {
            let values = read_sqlite(&row, &columns, table)?;
            add(&mut source_sum, &values);
            batch.push(values);
            if batch.len() == per_insert {
                insert(&mut tx, table, &columns, &batch).await?;
                done += batch.len() as u64;
                batch.clear();
                report(Progress::Copying { table, done, total });
            }
        }
        if !batch.is_empty() {
            insert(&mut tx, table, &columns, &batch).await?;
            done += batch.len() as u64;
            report(Progress::Copying { table, done, total });
        }
        tx.commit().await?;
        report(Progress::Verifying { table });
        let (source_rows, source_sum) = (done, format!("{source_sum:032x}"));
        let (target_rows, target_sum) = checksum_postgres(to, table, &columns).await?;
        if (source_rows, &source_sum) != (target_rows, &target_sum) {
            return Err(DbError::Internal(format!(
                "{table} differs after the copy: {source_rows} rows ({source_sum}) in SQLite, {target_rows} rows ({target_sum}) in PostgreSQL"
            )));
        }
        copies.push(TableCopy { table: table.to_string(), rows: target_rows, checksum: target_sum });
    }
    Ok(copies)
}

/// The target table's columns, in order.
async fn columns(pool: &PgPool, table: &str) -> DbResult<Vec<Column>> {
    let found: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
         ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    if found.is_empty() {
        return Err(DbError::Internal(format!("the target has no table {table}")));
    }
    found
        .into_iter()
        .map(|(name, data_type)| match Kind::of(&data_type) {
            Some(kind) => Ok(Column { name, kind }),
            None => Err(DbError::Internal(format!("{table}.{name}: cannot copy a {data_type} column"))),
        })
        .collect()
}

/// The columns' names, for a statement.
fn column_list(columns: &[Column]) -> String {
    columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// A SQLite row in the target's types.
fn read_sqlite(row: &SqliteRow, columns: &[Column], table: &str) -> DbResult<Vec<Value>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let bad = |e: &dyn std::fmt::Display| DbError::Invalid(format!("{table}.{}: {e}", c.name));
            if row.try_get_raw(i).map_err(|e| bad(&e))?.is_null() {
                return Ok(Value::Null);
            }
            Ok(match c.kind {
                Kind::Uuid => match row.try_get::<Vec<u8>, _>(i) {
                    Ok(bytes) => Value::Uuid(Uuid::from_slice(&bytes).map_err(|e| bad(&e))?),
                    Err(_) => {
                        Value::Uuid(row.try_get::<String, _>(i).map_err(|e| bad(&e))?.parse().map_err(|e| bad(&e))?)
                    }
                },
                Kind::Int => Value::Int(row.try_get(i).map_err(|e| bad(&e))?),
                Kind::Bool => Value::Bool(row.try_get::<i64, _>(i).map_err(|e| bad(&e))? != 0),
                Kind::Text => Value::Text(row.try_get(i).map_err(|e| bad(&e))?),
                Kind::Json => {
                    let text: String = row.try_get(i).map_err(|e| bad(&e))?;
                    Value::Json(serde_json::from_str(&text).map_err(|e| bad(&e))?)
                }
                Kind::Bytes => Value::Bytes(row.try_get(i).map_err(|e| bad(&e))?),
                Kind::Float => Value::Float(row.try_get(i).map_err(|e| bad(&e))?),
            })
        })
        .collect()
}

/// A PostgreSQL row in the same form, for the checksum.
fn read_postgres(row: &sqlx::postgres::PgRow, columns: &[Column], table: &str) -> DbResult<Vec<Value>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let bad = |e: sqlx::Error| DbError::Internal(format!("{table}.{}: {e}", c.name));
            if row.try_get_raw(i).map_err(bad)?.is_null() {
                return Ok(Value::Null);
            }
            Ok(match c.kind {
                Kind::Uuid => Value::Uuid(row.try_get(i).map_err(bad)?),
                Kind::Int => Value::Int(match row.try_get::<i64, _>(i) {
                    Ok(v) => v,
                    Err(_) => row
                        .try_get::<i32, _>(i)
                        .map(i64::from)
                        .or_else(|_| row.try_get::<i16, _>(i).map(i64::from))
                        .map_err(bad)?,
                }),
                Kind::Bool => Value::Bool(row.try_get(i).map_err(bad)?),
                Kind::Text => Value::Text(row.try_get(i).map_err(bad)?),
                Kind::Json => Value::Json(row.try_get(i).map_err(bad)?),
                Kind::Bytes => Value::Bytes(row.try_get(i).map_err(bad)?),
                Kind::Float => Value::Float(row.try_get(i).map_err(bad)?),
            })
        })
        .collect()
}

/// One multi-row insert.
async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    table: &str,
    columns: &[Column],
    batch: &[Vec<Value>],
) -> DbResult<()> {
    let width = columns.len();
    let list = column_list(columns);
    let mut args = PgArguments::default();
    let mut groups = Vec::with_capacity(batch.len());
    let mut n = 0;
    for row in batch {
        let mut marks = Vec::with_capacity(width);
        for (value, column) in row.iter().zip(columns) {
            n += 1;
            marks.push(format!("${n}"));
            let added = match value {
                // A NULL is sent in its column's type (parameters are typed).
                Value::Null => match column.kind {
                    Kind::Uuid => args.add(None::<Uuid>),
                    Kind::Int => args.add(None::<i64>),
                    Kind::Bool => args.add(None::<bool>),
                    Kind::Text => args.add(None::<String>),
                    Kind::Json => args.add(None::<sqlx::types::Json<serde_json::Value>>),
                    Kind::Bytes => args.add(None::<Vec<u8>>),
                    Kind::Float => args.add(None::<f64>),
                },
                Value::Uuid(v) => args.add(v),
                Value::Int(v) => args.add(v),
                Value::Bool(v) => args.add(v),
                Value::Text(v) => args.add(v),
                Value::Json(v) => args.add(sqlx::types::Json(v)),
                Value::Bytes(v) => args.add(v),
                Value::Float(v) => args.add(v),
            };
            added.map_err(|e| DbError::Internal(format!("{table}: {e}")))?;
        }
        groups.push(format!("({})", marks.join(", ")));
    }
    let sql = format!("INSERT INTO {table} ({list}) VALUES {}", groups.join(", "));
    sqlx::query_with(sqlx::AssertSqlSafe(sql), args).execute(&mut **tx).await.map_err(|e| match DbError::from(e) {
        DbError::Invalid(problem) => DbError::Invalid(format!("{table}: {problem}")),
        other => other,
    })?;
    Ok(())
}

/// Adds one row to a running checksum.
fn add(sum: &mut u128, row: &[Value]) {
    let encoded = serde_json::to_vec(row).unwrap_or_default();
    let digest = Sha256::digest(&encoded);
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    *sum = sum.wrapping_add(u128::from_be_bytes(first));
}

/// The rows of `table` in the target, counted and summed like the source's as they were copied.
async fn checksum_postgres(pool: &PgPool, table: &str, columns: &[Column]) -> DbResult<(u64, String)> {
    let list = column_list(columns);
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {list} FROM {table}"))).fetch(pool);
    let (mut count, mut sum) = (0u64, 0u128);
    while let Some(row) = rows.try_next().await? {
        add(&mut sum, &read_postgres(&row, columns, table)?);
        count += 1;
    }
    Ok((count, format!("{sum:032x}")))
}
