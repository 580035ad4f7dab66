//! Schema parity: the SQLite and the PostgreSQL migrations must build the same schema, whatever
//! files they are cut into. Each side is read back from its catalog and normalized: tables;
//! columns (name, type through the table of accepted mappings, nullability, default); primary
//! keys; unique constraints; foreign keys; checks; and the indexes made with `CREATE INDEX`
//! (name, columns, uniqueness, partial predicate).

use kassa_store::testing::TestDatabase;
use sqlx::{Connection, PgConnection, SqliteConnection};
use std::collections::{BTreeMap, BTreeSet};

/// Column types that mean the same on both sides: (SQLite, PostgreSQL, normalized). SQLite's
/// INTEGER is a 64-bit integer, PostgreSQL's BIGINT; BIGSERIAL is a BIGINT with a sequence as
/// its default (see [`AUTOINCREMENT`]).
const TYPES: &[(&str, &str, &str)] = &[("INTEGER", "bigint", "int64"), ("TEXT", "text", "text")];

/// The normalized default of a key that numbers itself: SQLite's `INTEGER PRIMARY KEY
/// AUTOINCREMENT`, PostgreSQL's `BIGSERIAL` (`nextval(…)`). Both only ever increase.
const AUTOINCREMENT: &str = "<autoincrement>";

/// The normalized default of an event's commit-order key (`events.tx`, see the migrations
/// `*_events_in_commit_order.sql`): PostgreSQL's is the inserting transaction's id; SQLite's is 0,
/// its one writer committing in position order.
const COMMIT_ORDER: &str = "<the transaction's id>";

/// Tables or indexes that are deliberately not the same on both sides, with the reason.
const ACCEPTED: &[(&str, &str)] = &[(
    "events_by_session",
    "PostgreSQL's only; on SQLite a session's events are read through UNIQUE (session_kind, \
     session_id, seq) with every kind listed (sql/events.rs), so event inserts keep one index less",
)];

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Name → (type, not null, default).
    columns: BTreeMap<String, (String, bool, Option<String>)>,
    primary_key: Vec<String>,
    uniques: BTreeSet<Vec<String>>,
    /// (columns, referenced table, referenced columns).
    foreign_keys: BTreeSet<(Vec<String>, String, Vec<String>)>,
    checks: BTreeSet<String>,
}

#[derive(Debug, PartialEq, Eq)]
struct Index {
    table: String,
    columns: Vec<String>,
    unique: bool,
    predicate: Option<String>,
}

#[derive(Debug, Default)]
struct Schema {
    tables: BTreeMap<String, Table>,
    indexes: BTreeMap<String, Index>,
}

#[tokio::test]
async fn both_backends_migrate_to_the_same_schema() {
    let Some(postgres) = TestDatabase::postgres().await else { return };
    let sqlite = TestDatabase::sqlite();
    // Opening a store runs its migrations.
    drop((sqlite.open().await, postgres.open().await));
    let (mut lite, mut pg) = (sqlite_schema(&sqlite.url).await, postgres_schema(&postgres.url).await);
    for (name, _why) in ACCEPTED {
        for schema in [&mut lite, &mut pg] {
            schema.tables.remove(*name);
            schema.indexes.remove(*name);
        }
    }
    // Every part was read, so that an empty side cannot pass.
    let tables = || lite.tables.values();
    assert!(tables().any(|t| !t.checks.is_empty()), "sqlite: checks were read");
    assert!(tables().any(|t| !t.foreign_keys.is_empty()), "sqlite: foreign keys were read");
    assert!(tables().any(|t| !t.uniques.is_empty()), "sqlite: unique constraints were read");
    assert!(tables().any(|t| t.primary_key.len() == 2), "sqlite: composite keys were read");
    assert!(lite.indexes.values().any(|i| i.unique && i.predicate.is_some()), "sqlite: indexes were read");

    assert_eq!(lite.tables.keys().collect::<Vec<_>>(), pg.tables.keys().collect::<Vec<_>>(), "the same tables");
    assert!(lite.tables.len() >= 10, "every table was read: {:?}", lite.tables.keys());
    for (name, table) in &lite.tables {
        assert!(!table.columns.is_empty(), "sqlite {name}: columns were read");
        assert_eq!(table, &pg.tables[name], "table {name}: sqlite (left) and postgres (right) differ");
    }
    assert_eq!(
        lite.indexes.keys().collect::<Vec<_>>(),
        pg.indexes.keys().collect::<Vec<_>>(),
        "the same indexes: sqlite (left), postgres (right)"
    );
    for (name, index) in &lite.indexes {
        assert_eq!(index, &pg.indexes[name], "index {name}: sqlite (left) and postgres (right) differ");
    }
}

/// An expression as both catalogs can be made to spell it: lower case, without casts to text,
/// `= ANY (ARRAY[…])` as `IN (…)`, without parentheses or white space.
fn expression(text: &str) -> String {
    let text = text.to_lowercase().replace("::text", "").replace("= any (array[", " in (").replace(']', "");
    text.chars().filter(|c| !c.is_whitespace() && *c != '(' && *c != ')').collect()
}

fn column_type(sqlite: Option<&str>, postgres: Option<&str>) -> String {
    let found = TYPES.iter().find(|(l, p, _)| Some(*l) == sqlite || Some(*p) == postgres);
    let (_, _, normalized) =
        found.unwrap_or_else(|| panic!("no accepted mapping for {sqlite:?} / {postgres:?}: add one to TYPES"));
    (*normalized).to_owned()
}

async fn sqlite_schema(url: &str) -> Schema {
    let mut db = SqliteConnection::connect(url).await.unwrap();
    let mut schema = Schema::default();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    for (name, sql) in tables {
        let mut table = Table::default();
        let columns: Vec<(String, String, bool, Option<String>, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?) ORDER BY pk")
                .bind(&name)
                .fetch_all(&mut db)
                .await
                .unwrap();
        for (column, ty, not_null, default, pk) in columns {
            // A rowid key is the only INTEGER PRIMARY KEY; with AUTOINCREMENT it never reuses a number.
            let autoincrement = pk == 1 && ty == "INTEGER" && sql.to_uppercase().contains("AUTOINCREMENT");
            let commit_order = name == "events" && column == "tx" && default.as_deref() == Some("0");
            let default = if autoincrement {
                Some(AUTOINCREMENT.to_owned())
            } else if commit_order {
                Some(COMMIT_ORDER.to_owned())
            } else {
                default
            };
            if pk > 0 {
                table.primary_key.push(column.clone());
            }
            // Key columns are not null on both sides (STRICT tables refuse NULL keys).
            table.columns.insert(column, (column_type(Some(&ty), None), not_null || pk > 0, default));
        }
        let indexes: Vec<(String, bool, String)> =
            sqlx::query_as("SELECT name, \"unique\", origin FROM pragma_index_list(?)")
                .bind(&name)
                .fetch_all(&mut db)
                .await
                .unwrap();
        for (index, unique, origin) in indexes {
            let columns: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                .bind(&index)
                .fetch_all(&mut db)
                .await
                .unwrap();
            let columns: Vec<String> = columns.into_iter().map(|(c,)| c).collect();
            match origin.as_str() {
                "pk" => assert_eq!(columns, table.primary_key, "sqlite {name}: the key's index"),
                "u" => {
                    table.uniques.insert(columns);
                }
                _ => {
                    let (text,): (String,) = sqlx::query_as("SELECT sql FROM sqlite_master WHERE name = ?")
                        .bind(&index)
                        .fetch_one(&mut db)
                        .await
                        .unwrap();
                    let predicate = text.to_uppercase().find(" WHERE ").map(|at| expression(&text[at + 7..]));
                    schema.indexes.insert(index, Index { table: name.clone(), columns, unique, predicate });
                }
            }
        }
        let keys: Vec<(i64, String, String, Option<String>)> =
            sqlx::query_as("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq")
                .bind(&name)
                .fetch_all(&mut db)
                .await
                .unwrap();
        let mut by_id: BTreeMap<i64, (Vec<String>, String, Vec<String>)> = BTreeMap::new();
        for (id, target, from, to) in keys {
            let key = by_id.entry(id).or_insert_with(|| (Vec::new(), target, Vec::new()));
            key.0.push(from);
            key.2.push(to.expect("foreign keys name the columns they reference"));
        }
        table.foreign_keys = by_id.into_values().collect();
        table.checks = checks(&sql);
        schema.tables.insert(name, table);
    }
    schema
}

/// The `CHECK (…)` expressions of a `CREATE TABLE` statement.
fn checks(sql: &str) -> BTreeSet<String> {
    let upper = sql.to_uppercase();
    let mut found = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK") {
        let open = from + at + upper[from + at..].find('(').expect("CHECK (");
        let mut depth = 0;
        let close = open
            + sql[open..]
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .expect("a closed CHECK")
                .0;
        found.insert(expression(&sql[open..=close]));
        from = close;
    }
    found
}

/// A row of `pg_constraint`, with its columns and (foreign keys) the referenced ones by name.
#[derive(sqlx::FromRow)]
struct Constraint {
    kind: String,
    definition: String,
    columns: Vec<String>,
    target: String,
    targets: Vec<String>,
}

async fn postgres_schema(url: &str) -> Schema {
    let mut db = PgConnection::connect(url).await.unwrap();
    let mut schema = Schema::default();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    for (name,) in tables {
        let mut table = Table::default();
        let columns: Vec<(String, String, bool, Option<String>)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, is_nullable::text = 'NO', column_default::text
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(&name)
        .fetch_all(&mut db)
        .await
        .unwrap();
        for (column, ty, not_null, default) in columns {
            let default = default.map(|d| {
                if d.starts_with("nextval(") {
                    AUTOINCREMENT.to_owned()
                } else if d.starts_with("((pg_current_xact_id()") {
                    COMMIT_ORDER.to_owned()
                } else {
                    d.replace("::text", "")
                }
            });
            table.columns.insert(column, (column_type(None, Some(&ty)), not_null, default));
        }
        let constraints: Vec<Constraint> = sqlx::query_as(
            "SELECT c.contype::text AS kind, pg_get_constraintdef(c.oid) AS definition,
                    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
                    c.confrelid::regclass::text AS target,
                    ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS targets
             FROM pg_constraint c WHERE c.conrelid = $1::regclass",
        )
        .bind(&name)
        .fetch_all(&mut db)
        .await
        .unwrap();
        for Constraint { kind, definition, columns, target, targets } in constraints {
            match kind.as_str() {
                "p" => table.primary_key = columns,
                "u" => {
                    table.uniques.insert(columns);
                }
                "f" => {
                    table.foreign_keys.insert((columns, target, targets));
                }
                "c" => {
                    table.checks.insert(expression(definition.strip_prefix("CHECK ").unwrap_or(&definition)));
                }
                // PostgreSQL 18 keeps NOT NULL as constraints too; nullability is compared above.
                "n" => {}
                other => panic!("postgres {name}: a constraint of kind {other} ({definition}) nobody compares"),
            }
        }
        let indexes: Vec<(String, bool, Option<String>, Vec<String>)> = sqlx::query_as(
            "SELECT i.relname::text, x.indisunique, pg_get_expr(x.indpred, x.indrelid),
                    ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.o)
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
             WHERE x.indrelid = $1::regclass
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        )
        .bind(&name)
        .fetch_all(&mut db)
        .await
        .unwrap();
        for (index, unique, predicate, columns) in indexes {
            let predicate = predicate.map(|p| expression(&p));
            schema.indexes.insert(index, Index { table: name.clone(), columns, unique, predicate });
        }
        schema.tables.insert(name, table);
    }
    schema
}
