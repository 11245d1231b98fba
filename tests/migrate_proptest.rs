//! Property tests of the migration engine.
//!
//! * On a real SQLite file: a random table (schema A) holding random rows is
//!   migrated to a random edit of itself (schema B: columns added, dropped,
//!   loosened or tightened, widened, given other defaults). Afterwards the live
//!   schema is B, every surviving value is intact (NULLs of a tightened column
//!   hold its default). Rows are then written in B's shape, and the rollback
//!   (a migration of its own) refuses under default options only what destroys
//!   data, is blocked only where a later row cannot go back to A, and otherwise
//!   brings back A with every value of A, dropped columns included, and the
//!   later rows; undoing the rollback brings back B with every value written
//!   to it. Models are built at runtime as leaked
//!   `ModelDescriptor`s.
//! * Pure: for random schemas, `diff(x, x)` is empty; applying `diff(a, b)` to
//!   `a` step by step (each step's preconditions holding when it runs) reaches a
//!   schema whose diff to `b` is empty; applying the inverses backwards returns
//!   to `a`. A created table's keys reference tables that exist by then, so
//!   new tables that reference each other get their keys after both exist.
//! * On a real SQLite file: foreign keys on columns the same plan adds,
//!   renames or fills, to a parent whose table and key may be renamed too, next
//!   to new tables that reference each other: a key step is blocked exactly
//!   when the values its column will hold have orphans (`planned_keys`).

use std::collections::{BTreeMap, BTreeSet};

use dataflow_core::migrate::diff::{self, Change, Droppable, Hints};
use dataflow_core::migrate::schema::{self, ForeignKey, Index, Schema, SchemaDefault, Table};
use dataflow_core::model::descriptor::{ColumnDescriptor, DefaultValue, FkAction, ModelDescriptor};
use dataflow_core::prelude::*;
use dataflow_core::query::statement::StatementCache;
use dataflow_core::{LogicalType, MigrationStatus};
use proptest::prelude::*;
use proptest::test_runner::Config;

// ---------------------------------------------------------------------------
// The runtime model: table `t`, key `id`, columns from c0..c7.
// ---------------------------------------------------------------------------

const NAMES: [&str; 8] = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    BigInt,
    Int,
    Text,
    Double,
    Bool,
}

impl Ty {
    fn logical(self) -> LogicalType {
        match self {
            Ty::BigInt => LogicalType::BigInt,
            Ty::Int => LogicalType::Int,
            Ty::Text => LogicalType::Text,
            Ty::Double => LogicalType::Double,
            Ty::Bool => LogicalType::Bool,
        }
    }
}

/// A value as stored and read back (integers of every width as `Int`).
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Text(String),
    Float(f64),
    Bool(bool),
}

impl Cell {
    fn value(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::I64(*i),
            Cell::Text(s) => Value::Text(s.clone()),
            Cell::Float(f) => Value::F64(*f),
            Cell::Bool(b) => Value::Bool(*b),
        }
    }

    fn from_value(v: Value) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::I16(i) => Cell::Int(i.into()),
            Value::I32(i) => Cell::Int(i.into()),
            Value::I64(i) => Cell::Int(i),
            Value::Text(s) => Cell::Text(s),
            Value::F64(f) => Cell::Float(f),
            Value::F32(f) => Cell::Float(f.into()),
            Value::Bool(b) => Cell::Bool(b),
            other => panic!("unexpected value {other:?}"),
        }
    }

    fn default_value(&self) -> DefaultValue {
        match self {
            Cell::Int(i) => DefaultValue::Int(*i),
            Cell::Text(s) => DefaultValue::Text(Box::leak(s.clone().into_boxed_str())),
            Cell::Float(f) => DefaultValue::Float(*f),
            Cell::Bool(b) => DefaultValue::Bool(*b),
            Cell::Null => unreachable!("a default is never NULL"),
        }
    }
}

/// One pre-drawn value per type, so edits and rows need not depend on the
/// types drawn before them.
#[derive(Debug, Clone)]
struct Seed {
    int: i32,
    big: i64,
    text: String,
    float: f64,
    boolean: bool,
}

impl Seed {
    fn cell(&self, ty: Ty) -> Cell {
        match ty {
            Ty::BigInt => Cell::Int(self.big),
            Ty::Int => Cell::Int(self.int.into()),
            Ty::Text => Cell::Text(self.text.clone()),
            Ty::Double => Cell::Float(self.float),
            Ty::Bool => Cell::Bool(self.boolean),
        }
    }

    /// A default: like a value, but a float default has few digits. SQLite
    /// parses some long literals in DDL to a neighbouring double (see
    /// `float_default_is_the_value_rows_get`), and infinities have no literal.
    fn default(&self, ty: Ty) -> Cell {
        match self.cell(ty) {
            Cell::Float(f) if f.is_nan() => Cell::Float(-1.5),
            Cell::Float(f) => Cell::Float((f.clamp(-1e9, 1e9) * 8.0).round() / 8.0),
            c => c,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Col {
    name: &'static str,
    ty: Ty,
    nullable: bool,
    default: Option<Cell>,
}

#[derive(Debug, Clone)]
enum Edit {
    /// Add an unused column: nullable (with or without a default), or NOT NULL
    /// with a default.
    Add {
        pick: usize,
        ty: Ty,
        nullable: bool,
        with_default: bool,
        seed: Seed,
    },
    Drop {
        pick: usize,
    },
    /// Loosen a NOT NULL column, or tighten a nullable one (giving it a default
    /// when it has none).
    ToggleNull {
        pick: usize,
        seed: Seed,
    },
    /// INT to BIGINT.
    Widen {
        pick: usize,
    },
    /// A new default value, or none (only where that keeps the step executable).
    ChangeDefault {
        pick: usize,
        remove: bool,
        seed: Seed,
    },
}

fn apply_edit(a: &[Col], b: &mut Vec<Col>, edit: &Edit) {
    match edit {
        Edit::Add {
            pick,
            ty,
            nullable,
            with_default,
            seed,
        } => {
            let free: Vec<&'static str> = NAMES
                .iter()
                .copied()
                .filter(|n| a.iter().chain(b.iter()).all(|c| c.name != *n))
                .collect();
            if free.is_empty() {
                return;
            }
            b.push(Col {
                name: free[pick % free.len()],
                ty: *ty,
                nullable: *nullable,
                default: (*with_default || !*nullable).then(|| seed.default(*ty)),
            });
        }
        Edit::Drop { pick } => {
            if !b.is_empty() {
                let i = pick % b.len();
                b.remove(i);
            }
        }
        Edit::ToggleNull { pick, seed } => {
            if b.is_empty() {
                return;
            }
            let n = b.len();
            let c = &mut b[pick % n];
            if c.nullable {
                c.nullable = false;
                if c.default.is_none() {
                    c.default = Some(seed.default(c.ty));
                }
            } else {
                c.nullable = true;
            }
        }
        Edit::Widen { pick } => {
            let ints: Vec<usize> = (0..b.len()).filter(|&i| b[i].ty == Ty::Int).collect();
            if !ints.is_empty() {
                b[ints[pick % ints.len()]].ty = Ty::BigInt;
            }
        }
        Edit::ChangeDefault { pick, remove, seed } => {
            if b.is_empty() {
                return;
            }
            let n = b.len();
            let c = &mut b[pick % n];
            // A NOT NULL column keeps a default unless A had it NOT NULL
            // already: a tightened column's NULLs, and an added column's
            // rows, need it.
            let was_not_null = a.iter().any(|x| x.name == c.name && !x.nullable);
            if *remove && (c.nullable || was_not_null) {
                c.default = None;
            } else {
                c.default = Some(seed.default(c.ty));
            }
        }
    }
}

fn descriptor(cols: &[Col]) -> &'static ModelDescriptor {
    let mut columns = vec![ColumnDescriptor {
        name: "id",
        field: Some("id"),
        ty: LogicalType::BigInt,
        nullable: false,
        primary_key: true,
        auto_increment: true,
        enum_type: None,
        unique: false,
        max_length: None,
        default: None,
        renamed_from: None,
        managed: None,
        collation: None,
    }];
    columns.extend(cols.iter().map(|c| ColumnDescriptor {
        name: c.name,
        field: Some(c.name),
        ty: c.ty.logical(),
        nullable: c.nullable,
        primary_key: false,
        auto_increment: false,
        enum_type: None,
        unique: false,
        max_length: None,
        default: c.default.as_ref().map(Cell::default_value),
        renamed_from: None,
        managed: None,
        collation: None,
    }));
    Box::leak(Box::new(ModelDescriptor {
        name: "T",
        table: "t",
        renamed_from: None,
        columns: Box::leak(columns.into_boxed_slice()),
        primary_key: &[0],
        indexes: &[],
        foreign_keys: &[],
        checks: &[],
        timestamps: false,
        soft_delete: false,
        statements: StatementCache::new(),
    }))
}

fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

fn insert_rows(db: &DataFlow, cols: &[Col], rows: &[Vec<Cell>]) {
    let names: Vec<String> = cols.iter().map(|c| quoted(c.name)).collect();
    let marks = vec!["?"; cols.len()].join(", ");
    let sql = if cols.is_empty() {
        "INSERT INTO \"t\" DEFAULT VALUES".to_owned()
    } else {
        format!("INSERT INTO \"t\" ({}) VALUES ({marks})", names.join(", "))
    };
    db.transaction(|tx| {
        tx.with_conn(|c| {
            for row in rows {
                let binds: Vec<Value> = row.iter().map(Cell::value).collect();
                assert_eq!(c.execute(&sql, &binds)?, 1);
            }
            Ok(())
        })
    })
    .expect("insert rows");
}

/// Every row of `t` by key, with the given columns read as their types.
fn read_rows(db: &DataFlow, cols: &[(&'static str, Ty)]) -> BTreeMap<i64, Vec<Cell>> {
    let mut list = vec![quoted("id")];
    list.extend(cols.iter().map(|(n, _)| quoted(n)));
    let sql = format!("SELECT {} FROM \"t\" ORDER BY \"id\"", list.join(", "));
    let mut types = vec![LogicalType::BigInt];
    // Integers of any width read as 64-bit: a value that does not fit the
    // column's declared width then shows up as a wrong value, not as a
    // decoding error that hides which value it is.
    types.extend(cols.iter().map(|(_, t)| match t {
        Ty::Int => LogicalType::BigInt,
        other => other.logical(),
    }));
    let mut out = BTreeMap::new();
    db.with_conn(|c| {
        c.query(&sql, &[], &types, &mut |row| {
            let id = match row[0] {
                Value::I64(i) => i,
                ref other => panic!("id {other:?}"),
            };
            let cells = row[1..]
                .iter_mut()
                .map(|v| Cell::from_value(std::mem::take(v)))
                .collect();
            out.insert(id, cells);
            Ok(())
        })
    })
    .expect("read rows");
    out
}

fn backup_tables(db: &DataFlow) -> Vec<String> {
    let mut out = Vec::new();
    db.with_conn(|c| {
        c.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            &[],
            &[LogicalType::Text],
            &mut |row| {
                if let Value::Text(s) = std::mem::take(&mut row[0]) {
                    if s.starts_with("_dataflow_backup") {
                        out.push(s);
                    }
                }
                Ok(())
            },
        )
    })
    .expect("list tables");
    out
}

/// Values B must hold: surviving columns keep their values (a NULL in a column
/// that became NOT NULL reads the new default), added columns read their
/// default.
fn expected_after(
    a: &[Col],
    b: &[Col],
    rows: &BTreeMap<i64, Vec<Cell>>,
) -> BTreeMap<i64, Vec<Cell>> {
    rows.iter()
        .map(|(id, row)| {
            let cells = b
                .iter()
                .map(|bc| match a.iter().position(|ac| ac.name == bc.name) {
                    Some(i) => match &row[i] {
                        Cell::Null if !bc.nullable => {
                            bc.default.clone().expect("tightened column has a default")
                        }
                        v => v.clone(),
                    },
                    None => bc.default.clone().unwrap_or(Cell::Null),
                })
                .collect();
            (*id, cells)
        })
        .collect()
}

fn typed(cols: &[Col]) -> Vec<(&'static str, Ty)> {
    cols.iter().map(|c| (c.name, c.ty)).collect()
}

fn assert_matches(db: &DataFlow, what: &str) {
    let plan = db.plan().expect("plan");
    assert!(
        plan.steps.is_empty(),
        "{what}: plan not empty:\n{}",
        plan.preview()
    );
    if let Err(e) = db.check() {
        panic!("{what}: check failed: {e}");
    }
}

#[derive(Debug, Clone)]
struct Case {
    a: Vec<Col>,
    edits: Vec<Edit>,
    rows: Vec<Vec<Cell>>,
    /// Rows written in B's shape after A → B, before the rollback: one cell
    /// (NULL where allowed, else a seed's value) per column of B.
    later: Vec<Vec<(bool, Seed)>>,
}

fn ty() -> impl Strategy<Value = Ty> {
    prop_oneof![
        Just(Ty::BigInt),
        Just(Ty::Int),
        Just(Ty::Text),
        Just(Ty::Double),
        Just(Ty::Bool),
    ]
}

fn seed() -> impl Strategy<Value = Seed> {
    let int = prop_oneof![-3i32..3, any::<i32>(), Just(i32::MIN), Just(i32::MAX)];
    let big = prop_oneof![-3i64..3, any::<i64>(), Just(i64::MIN), Just(i64::MAX)];
    let text = prop_oneof![
        Just(String::new()),
        "[a-z ']{0,8}",
        "\\PC{0,6}",
        Just("now".to_owned()),
        Just("NULL".to_owned()),
    ];
    let float = prop_oneof![
        (-100i32..100).prop_map(f64::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        Just(-0.0),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(f64::INFINITY),
        Just(0.1),
    ];
    (int, big, text, float, any::<bool>()).prop_map(|(int, big, text, float, boolean)| Seed {
        int,
        big,
        text,
        float,
        boolean,
    })
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), ty(), any::<bool>(), any::<bool>(), seed()).prop_map(
            |(pick, ty, nullable, with_default, seed)| Edit::Add {
                pick,
                ty,
                nullable,
                with_default,
                seed,
            }
        ),
        any::<usize>().prop_map(|pick| Edit::Drop { pick }),
        (any::<usize>(), seed()).prop_map(|(pick, seed)| Edit::ToggleNull { pick, seed }),
        any::<usize>().prop_map(|pick| Edit::Widen { pick }),
        (any::<usize>(), any::<bool>(), seed())
            .prop_map(|(pick, remove, seed)| Edit::ChangeDefault { pick, remove, seed }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let names = proptest::sample::subsequence(NAMES.to_vec(), 1..=5);
    let attrs = proptest::collection::vec((ty(), any::<bool>(), any::<bool>(), seed()), 5);
    let edits = proptest::collection::vec(edit(), 1..5);
    let rows = proptest::collection::vec(
        proptest::collection::vec((prop::bool::weighted(0.3), seed()), 5),
        0..7,
    );
    let later = proptest::collection::vec(
        proptest::collection::vec((prop::bool::weighted(0.3), seed()), NAMES.len()),
        0..4,
    );
    (names, attrs, edits, rows, later).prop_map(|(names, attrs, edits, raw_rows, later)| {
        let a: Vec<Col> = names
            .iter()
            .zip(&attrs)
            .map(|(name, (ty, nullable, has_default, seed))| Col {
                name,
                ty: *ty,
                nullable: *nullable,
                default: has_default.then(|| seed.default(*ty)),
            })
            .collect();
        let rows = raw_rows
            .iter()
            .map(|r| {
                a.iter()
                    .zip(r)
                    .map(|(c, (null, seed))| {
                        if *null && c.nullable {
                            Cell::Null
                        } else {
                            seed.cell(c.ty)
                        }
                    })
                    .collect()
            })
            .collect();
        Case {
            a,
            edits,
            rows,
            later,
        }
    })
}

/// Whether rollback gives back every NULL. It does not today, in two cases
/// the property forgives (and nothing else) while this is `false`:
/// * a column B made NOT NULL: B's default filled its NULLs, and the step is
///   not treated as destroying data, so nothing was backed up
///   (`rollback_restores_nulls_that_took_the_default`);
/// * a column B dropped while it held only NULLs: undoing the drop adds it
///   back with its default, which every row then reads
///   (`rollback_of_an_all_null_column_with_a_default_restores_nulls`).
const NULLS_COME_BACK: bool = true;

fn forgive_lost_nulls(
    a: &[Col],
    b: &[Col],
    original: &BTreeMap<i64, Vec<Cell>>,
    restored: &mut BTreeMap<i64, Vec<Cell>>,
) {
    for (i, ac) in a.iter().enumerate() {
        if !ac.nullable {
            continue;
        }
        let filler = match b.iter().find(|bc| bc.name == ac.name) {
            Some(bc) if !bc.nullable => bc.default.clone(),
            Some(_) => None,
            None if original.values().all(|r| r[i] == Cell::Null) => ac.default.clone(),
            None => None,
        };
        let Some(filler) = filler else {
            continue;
        };
        for (id, row) in restored.iter_mut() {
            if original.get(id).map(|r| &r[i]) == Some(&Cell::Null) && row[i] == filler {
                row[i] = Cell::Null;
            }
        }
    }
}

fn run_case(case: &Case) {
    let a = &case.a;
    let mut b = a.clone();
    for e in &case.edits {
        apply_edit(a, &mut b, e);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");

    let db_a = dataflow_sqlite::open(&path).expect("open A");
    db_a.register_all(&[descriptor(a)]).expect("register A");
    let created = db_a
        .auto_migrate(MigrateOptions::default())
        .expect("create A");
    assert!(created.applied);
    insert_rows(&db_a, a, &case.rows);
    let original = read_rows(&db_a, &typed(a));
    assert_eq!(original.len(), case.rows.len());
    for (row, expected) in original.values().zip(&case.rows) {
        assert_eq!(row, expected, "A's rows read back as written");
    }

    let db_b = dataflow_sqlite::open(&path).expect("open B");
    db_b.register_all(&[descriptor(&b)]).expect("register B");
    let options = MigrateOptions::default()
        .auto_confirm(true)
        .max_risk(RiskLevel::High);
    let report = match db_b.auto_migrate(options.clone()) {
        Ok(r) => r,
        Err(e) => panic!("migrating A → B failed: {e}\nA = {a:?}\nB = {b:?}"),
    };

    // (a) the live schema is B.
    assert_matches(&db_b, "after A → B");
    // (b) surviving values are intact.
    let after = read_rows(&db_b, &typed(&b));
    assert_eq!(
        after,
        expected_after(a, &b, &original),
        "values after A → B\n{}",
        report.preview()
    );

    if report.steps.is_empty() {
        assert!(!report.applied);
        assert_eq!(db_b.migration_history().expect("history").len(), 1);
        return;
    }
    assert!(report.applied);
    // Backups are on by default: no step is left without a way back.
    assert!(
        report.steps.iter().all(|s| s.irreversible.is_none()),
        "{}",
        report.preview()
    );

    // Rows written in B's shape after the migration.
    let later: Vec<Vec<Cell>> = case
        .later
        .iter()
        .map(|raw| {
            b.iter()
                .zip(raw)
                .map(|(c, (null, seed))| {
                    if *null && c.nullable {
                        Cell::Null
                    } else {
                        seed.cell(c.ty)
                    }
                })
                .collect()
        })
        .collect();
    insert_rows(&db_b, &b, &later);
    let written = read_rows(&db_b, &typed(&b));
    let later_ids: Vec<i64> = written
        .keys()
        .copied()
        .filter(|id| !original.contains_key(id))
        .collect();
    assert_eq!(later_ids.len(), later.len());
    // What the later rows read in A's shape after the rollback, or `None`
    // when the rollback must be refused as blocked: a NOT NULL column without
    // a default that a later row has no value for, or a value that no longer
    // fits a column B widened.
    let mut blocked = false;
    let mut later_in_a = BTreeMap::new();
    for (id, row) in later_ids.iter().zip(&later) {
        let cells: Vec<Cell> = a
            .iter()
            .map(|ac| {
                let j = b.iter().position(|bc| bc.name == ac.name);
                // A column B dropped comes back holding its default in rows
                // that never had it.
                let v = j.map_or_else(
                    || ac.default.clone().unwrap_or(Cell::Null),
                    |j| row[j].clone(),
                );
                if let (Some(j), Cell::Int(x)) = (j, &v) {
                    if ac.ty == Ty::Int && b[j].ty == Ty::BigInt && i32::try_from(*x).is_err() {
                        blocked = true;
                    }
                }
                match v {
                    Cell::Null if !ac.nullable => ac.default.clone().unwrap_or_else(|| {
                        blocked = true;
                        Cell::Null
                    }),
                    v => v,
                }
            })
            .collect();
        later_in_a.insert(*id, cells);
    }
    let opted = MigrateOptions::default()
        .auto_confirm(true)
        .max_risk(RiskLevel::High);
    let unchanged = |what: &str, written: &BTreeMap<i64, Vec<Cell>>| {
        assert_matches(&db_b, what);
        assert_eq!(
            &read_rows(&db_b, &typed(&b)),
            written,
            "{what}: values changed"
        );
    };
    if blocked {
        match db_b.rollback_last_with(opted.clone()) {
            Err(Error::MigrationRefused { steps, .. }) => {
                assert!(steps.iter().any(|s| s.contains("BLOCKED")), "{steps:?}")
            }
            other => panic!("a blocked rollback ran: {other:?}\nA = {a:?}\nB = {b:?}"),
        }
        unchanged("after a blocked rollback", &written);
        // Without the rows it cannot restore, it runs.
        db_b.transaction(|tx| {
            tx.with_conn(|c| {
                c.execute(
                    "DELETE FROM \"t\" WHERE \"id\" > ?",
                    &[Value::I64(original.keys().max().copied().unwrap_or(0))],
                )
                .map(|_| ())
            })
        })
        .expect("delete later rows");
        later_in_a.clear();
    }
    let expected_a: BTreeMap<i64, Vec<Cell>> = original
        .clone()
        .into_iter()
        .chain(later_in_a.clone())
        .collect();
    let written = read_rows(&db_b, &typed(&b));

    // (c) a rollback is a migration: under default options it applies what
    // loses nothing (up to MEDIUM) and refuses what destroys data, changing
    // nothing then; opted in, it brings back A and every value of A.
    let version = report.version.clone().expect("version");
    let undone = match db_b.rollback_last() {
        Ok(r) => {
            assert!(
                r.steps.iter().all(|s| s.risk <= RiskLevel::Medium),
                "{}",
                r.preview()
            );
            r
        }
        Err(Error::MigrationRefused { steps, .. }) => {
            let plan = db_b
                .rollback_last_with(MigrateOptions::default().dry_run(true))
                .expect("dry run");
            assert!(
                plan.steps.iter().any(|s| s.risk == RiskLevel::High),
                "refused {steps:?} without a HIGH step:\n{}",
                plan.preview()
            );
            assert_eq!(plan.rolled_back, vec![version.clone()]);
            unchanged("after a refused rollback", &written);
            db_b.rollback_last_with(opted.clone())
                .unwrap_or_else(|e| panic!("rollback: {e}\nA = {a:?}\nB = {b:?}"))
        }
        Err(e) => panic!("rollback: {e}\nA = {a:?}\nB = {b:?}"),
    };
    assert_eq!(undone.rolled_back, vec![version.clone()]);
    let rollback = undone.version.clone().expect("rollback version");
    let history = db_a.migration_history().expect("history");
    let statuses: Vec<(&str, MigrationStatus)> = history
        .iter()
        .map(|r| (r.version.as_str(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (
                created.version.as_deref().expect("version"),
                MigrationStatus::Applied
            ),
            (version.as_str(), MigrationStatus::RolledBack),
            (rollback.as_str(), MigrationStatus::Applied),
        ]
    );
    assert_matches(&db_a, "after rollback");
    let mut restored = read_rows(&db_a, &typed(a));
    if !NULLS_COME_BACK {
        forgive_lost_nulls(a, &b, &original, &mut restored);
    }
    assert_eq!(
        restored,
        expected_a,
        "values after rollback\n{}\n{}",
        report.preview(),
        undone.preview()
    );
    // The migration's backups were restored and dropped; what is left is the
    // rollback's own, for undoing it.
    let prefix = format!("_dataflow_backup_{rollback}_");
    let left = backup_tables(&db_a);
    assert!(
        left.iter().all(|t| t.starts_with(&prefix)),
        "backups left: {left:?}"
    );

    // (d) undoing the rollback brings back B with every value written to it.
    let redone = db_b
        .rollback_with(&rollback, opted.clone())
        .unwrap_or_else(|e| panic!("undoing the rollback: {e}\n{}", undone.preview()));
    assert_eq!(redone.rolled_back, vec![rollback.clone()]);
    assert_matches(&db_b, "after undoing the rollback");
    assert_eq!(
        read_rows(&db_b, &typed(&b)),
        written,
        "values after undoing the rollback\n{}\n{}",
        undone.preview(),
        redone.preview()
    );
    let prefix = format!(
        "_dataflow_backup_{}_",
        redone.version.clone().expect("version")
    );
    let left = backup_tables(&db_b);
    assert!(
        left.iter().all(|t| t.starts_with(&prefix)),
        "backups left: {left:?}"
    );

    // (e) rolled back once more, then migrating forward again reaches B again.
    db_b.rollback_last_with(opted).expect("rollback again");
    assert_matches(&db_a, "after rolling back again");
    assert_eq!(read_rows(&db_a, &typed(a)), expected_a);
    let again = db_b.auto_migrate(options).expect("migrate A → B again");
    assert!(again.applied);
    assert_matches(&db_b, "after A → B again");
    assert_eq!(
        read_rows(&db_b, &typed(&b)),
        expected_after(a, &b, &expected_a)
    );
}

/// `PROPTEST_CASES` when set (for a longer run), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(32),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn migrate_then_rollback_keeps_every_value(case in case()) {
        run_case(&case);
    }
}

// ---------------------------------------------------------------------------
// Pure: the differ and `apply`.
// ---------------------------------------------------------------------------

const TABLES: [&str; 4] = ["t0", "t1", "t2", "t3"];
const COLS: [&str; 5] = ["a", "b", "c", "d", "e"];
const TYPES: [LogicalType; 8] = [
    LogicalType::SmallInt,
    LogicalType::Int,
    LogicalType::BigInt,
    LogicalType::Double,
    LogicalType::Bool,
    LogicalType::Text,
    LogicalType::Bytes,
    LogicalType::Json,
];

#[derive(Debug, Clone)]
struct RawColumn {
    present: bool,
    ty: usize,
    nullable: bool,
    max_length: Option<u32>,
    default: Option<SchemaDefault>,
}

#[derive(Debug, Clone)]
struct RawTable {
    present: bool,
    columns: Vec<RawColumn>,
    indexes: Vec<(usize, Vec<usize>, bool)>,
    fks: Vec<(usize, usize, bool)>,
}

fn raw_default() -> impl Strategy<Value = Option<SchemaDefault>> {
    prop::option::of(prop_oneof![
        any::<bool>().prop_map(SchemaDefault::Bool),
        (-5i64..5).prop_map(SchemaDefault::Int),
        (-5i32..5).prop_map(|i| SchemaDefault::Float(f64::from(i) / 2.0)),
        "[a-z]{0,3}".prop_map(SchemaDefault::Text),
        // Spellings of one expression that compare equal (outer
        // parentheses, spacing, case), and different expressions.
        "(\\( ?)?(LOWER|lower)\\('[a-b]'(::text)?\\)( ?\\))?".prop_map(SchemaDefault::Sql),
    ])
}

fn raw_table() -> impl Strategy<Value = RawTable> {
    let column = (
        any::<bool>(),
        0..TYPES.len(),
        any::<bool>(),
        prop::option::of(prop_oneof![Just(10u32), Just(20u32)]),
        raw_default(),
    )
        .prop_map(|(present, ty, nullable, max_length, default)| RawColumn {
            present,
            ty,
            nullable,
            max_length,
            default,
        });
    (
        any::<bool>(),
        proptest::collection::vec(column, COLS.len()),
        proptest::collection::vec(
            (
                0..3usize,
                proptest::collection::vec(0..COLS.len(), 1..3),
                any::<bool>(),
            ),
            0..3,
        ),
        proptest::collection::vec((0..COLS.len(), 0..TABLES.len(), any::<bool>()), 0..3),
    )
        .prop_map(|(present, columns, indexes, fks)| RawTable {
            present,
            columns,
            indexes,
            fks,
        })
}

fn raw_schema() -> impl Strategy<Value = Vec<RawTable>> {
    proptest::collection::vec(raw_table(), TABLES.len())
}

fn build(raw: &[RawTable]) -> Schema {
    let present: Vec<&str> = TABLES
        .iter()
        .zip(raw)
        .filter(|(_, r)| r.present)
        .map(|(t, _)| *t)
        .collect();
    let mut tables = BTreeMap::new();
    for (name, r) in TABLES.iter().zip(raw) {
        if !r.present {
            continue;
        }
        let mut columns = vec![schema::Column {
            name: "id".into(),
            ty: LogicalType::BigInt,
            nullable: false,
            max_length: None,
            default: None,
            auto_increment: true,
            enum_values: None,
            collation: None,
        }];
        for (cname, c) in COLS.iter().zip(&r.columns) {
            if !c.present {
                continue;
            }
            let ty = TYPES[c.ty];
            columns.push(schema::Column {
                name: (*cname).into(),
                ty,
                nullable: c.nullable,
                max_length: if ty == LogicalType::Text {
                    c.max_length
                } else {
                    None
                },
                default: c.default.clone(),
                auto_increment: false,
                enum_values: None,
                collation: None,
            });
        }
        let own: Vec<String> = columns[1..].iter().map(|c| c.name.clone()).collect();
        let mut indexes: Vec<Index> = Vec::new();
        if !own.is_empty() {
            for (n, cols, unique) in &r.indexes {
                let iname = format!("ix{n}_{name}");
                if indexes.iter().any(|i| i.name == iname) {
                    continue;
                }
                let mut picked: Vec<String> = Vec::new();
                for &c in cols {
                    let col = own[c % own.len()].clone();
                    if !picked.contains(&col) {
                        picked.push(col);
                    }
                }
                // Every third index is partial (SQLite keeps the condition verbatim).
                let predicate = (n % 3 == 0).then(|| format!("\"{}\" IS NOT NULL", picked[0]));
                indexes.push(Index {
                    name: iname,
                    columns: picked,
                    unique: *unique,
                    kind: Default::default(),
                    predicate,
                });
            }
        }
        indexes.sort_by(|x, y| x.name.cmp(&y.name));
        let mut foreign_keys: Vec<ForeignKey> = Vec::new();
        if !own.is_empty() && !present.is_empty() {
            for (c, t, cascade) in &r.fks {
                let column = own[c % own.len()].clone();
                if foreign_keys.iter().any(|f| f.column == column) {
                    continue;
                }
                foreign_keys.push(ForeignKey {
                    column,
                    references_table: present[t % present.len()].into(),
                    references_column: "id".into(),
                    on_delete: if *cascade {
                        FkAction::Cascade
                    } else {
                        FkAction::NoAction
                    },
                    on_update: FkAction::NoAction,
                });
            }
        }
        foreign_keys.sort_by(|x, y| x.column.cmp(&y.column));
        tables.insert(
            (*name).to_owned(),
            Table {
                name: (*name).into(),
                columns,
                primary_key: vec!["id".into()],
                indexes,
                foreign_keys,
                triggers: Vec::new(),
                checks: Vec::new(),
            },
        );
    }
    Schema { tables }
}

/// Rename hints for tables and columns.
fn hints() -> impl Strategy<Value = Hints> {
    (
        proptest::collection::vec((0..TABLES.len(), 0..TABLES.len()), 0..3),
        proptest::collection::vec((0..TABLES.len(), 0..COLS.len(), 0..COLS.len()), 0..3),
    )
        .prop_map(|(tables, columns)| {
            let mut h = Hints::default();
            for (new, old) in tables {
                if new != old {
                    h.tables.insert(TABLES[new].into(), TABLES[old].into());
                }
            }
            for (t, new, old) in columns {
                if new != old {
                    h.columns
                        .insert((TABLES[t].into(), COLS[new].into()), COLS[old].into());
                }
            }
            h
        })
}

fn droppable() -> impl Strategy<Value = Droppable> {
    proptest::collection::vec(any::<bool>(), TABLES.len()).prop_map(|bits| {
        TABLES
            .iter()
            .zip(bits)
            .filter(|(_, b)| *b)
            .map(|(t, _)| (*t).to_owned())
            .collect()
    })
}

/// Why `change` cannot run on `state`, if it cannot: what a database would
/// refuse (or silently skip) at that point of the plan.
fn precondition(state: &Schema, change: &Change) -> Result<(), String> {
    let table = |name: &str| {
        state
            .tables
            .get(name)
            .ok_or_else(|| format!("table {name} does not exist yet (or any more)"))
    };
    match change {
        Change::CreateTable { table: t } => {
            if state.tables.contains_key(&t.name) {
                return Err(format!("table {} already exists", t.name));
            }
            // PostgreSQL resolves a key's table when the key is created.
            if let Some(f) = t.foreign_keys.iter().find(|f| {
                f.references_table != t.name && !state.tables.contains_key(&f.references_table)
            }) {
                return Err(format!(
                    "{}.{} references {}, which does not exist yet",
                    t.name, f.column, f.references_table
                ));
            }
        }
        Change::DropTable { table: t } => {
            table(&t.name)?;
        }
        Change::RenameTable { from, to } => {
            table(from)?;
            if state.tables.contains_key(to) {
                return Err(format!("table {to} already exists"));
            }
        }
        Change::AddColumn { table: t, column } => {
            if table(t)?.column(&column.name).is_some() {
                return Err(format!("{t}.{} already exists", column.name));
            }
        }
        Change::DropColumn { table: t, column } => {
            let tb = table(t)?;
            if tb.column(&column.name) != Some(column) {
                return Err(format!("{t}.{} is not the column dropped", column.name));
            }
            if let Some(i) = tb.indexes.iter().find(|i| i.columns.contains(&column.name)) {
                return Err(format!("index {} still uses {t}.{}", i.name, column.name));
            }
            if tb.foreign_keys.iter().any(|f| f.column == column.name) {
                return Err(format!("a foreign key still uses {t}.{}", column.name));
            }
        }
        Change::RenameColumn { table: t, from, to } => {
            let tb = table(t)?;
            if tb.column(from).is_none() {
                return Err(format!("{t}.{from} does not exist"));
            }
            if tb.column(to).is_some() {
                return Err(format!("{t}.{to} already exists"));
            }
        }
        Change::AlterColumn { table: t, from, .. } => {
            if table(t)?.column(&from.name) != Some(from) {
                return Err(format!("{t}.{} is not as the step expects", from.name));
            }
        }
        Change::CreateIndex { table: t, index } => {
            let tb = table(t)?;
            if tb.indexes.iter().any(|i| i.name == index.name) {
                return Err(format!("index {} already exists", index.name));
            }
            if let Some(c) = index.columns.iter().find(|c| tb.column(c).is_none()) {
                return Err(format!("index {} names missing {t}.{c}", index.name));
            }
        }
        Change::DropIndex { table: t, index } => {
            if !table(t)?.indexes.contains(index) {
                return Err(format!("index {} is not on {t}", index.name));
            }
        }
        Change::RenameIndex { table: t, from, to } => {
            let tb = table(t)?;
            if !tb.indexes.iter().any(|i| &i.name == from) {
                return Err(format!("index {from} is not on {t}"));
            }
            if state
                .tables
                .values()
                .any(|x| x.indexes.iter().any(|i| &i.name == to))
            {
                return Err(format!("index {to} already exists"));
            }
        }
        Change::AddForeignKey {
            table: t,
            foreign_key,
        } => {
            let tb = table(t)?;
            if tb.column(&foreign_key.column).is_none() {
                return Err(format!("{t}.{} does not exist", foreign_key.column));
            }
            if tb.foreign_keys.contains(foreign_key) {
                return Err("the foreign key already exists".into());
            }
            let target = table(&foreign_key.references_table)?;
            if target.column(&foreign_key.references_column).is_none() {
                return Err(format!(
                    "{}.{} does not exist",
                    foreign_key.references_table, foreign_key.references_column
                ));
            }
        }
        Change::DropForeignKey {
            table: t,
            foreign_key,
        } => {
            if !table(t)?.foreign_keys.contains(foreign_key) {
                return Err(format!(
                    "{t} has no foreign key {foreign_key:?} to drop at this point"
                ));
            }
        }
        Change::AddCheck { table: t, check } => {
            if table(t)?.checks.iter().any(|c| c.name == check.name) {
                return Err(format!("check {} already exists", check.name));
            }
        }
        Change::DropCheck { table: t, check } => {
            if !table(t)?.checks.contains(check) {
                return Err(format!("check {} is not on {t}", check.name));
            }
        }
        Change::Unsupported { detail, .. } => return Err(format!("unsupported: {detail}")),
        Change::RebuildTable { changes, .. } => {
            run_changes(state, changes)?;
        }
    }
    Ok(())
}

/// Applies `changes` to `start`, checking each step's preconditions.
fn run_changes(start: &Schema, changes: &[Change]) -> Result<Schema, String> {
    let mut state = start.clone();
    for (i, c) in changes.iter().enumerate() {
        precondition(&state, c).map_err(|why| format!("step {i} {c:?}: {why}"))?;
        diff::apply(&mut state, c);
    }
    Ok(state)
}

/// A schema in one line per table, for failure messages.
fn show(s: &Schema) -> String {
    let mut out = String::new();
    for t in s.tables.values() {
        let cols: Vec<String> = t
            .columns
            .iter()
            .skip(1)
            .map(|c| {
                let mut d = format!("{} {}", c.name, c.ty);
                if let Some(n) = c.max_length {
                    d.push_str(&format!("({n})"));
                }
                if !c.nullable {
                    d.push_str(" not null");
                }
                if let Some(v) = &c.default {
                    d.push_str(&format!(" default {v:?}"));
                }
                d
            })
            .collect();
        out.push_str(&format!("  {}(id, {})", t.name, cols.join(", ")));
        for i in &t.indexes {
            let u = if i.unique { "unique " } else { "" };
            out.push_str(&format!(" {u}{}({})", i.name, i.columns.join(", ")));
        }
        for f in &t.foreign_keys {
            out.push_str(&format!(" fk {} → {}", f.column, f.references_table));
        }
        out.push('\n');
    }
    out
}

fn names(s: &Schema) -> BTreeSet<&String> {
    s.tables.keys().collect()
}

proptest! {
    #![proptest_config(Config {
        cases: cases(256),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn diff_of_a_schema_with_itself_is_empty(
        x in raw_schema(),
        h in hints(),
        d in droppable(),
    ) {
        let x = build(&x);
        prop_assert_eq!(diff::diff(&x, &x, &Hints::default(), &Droppable::new()), vec![]);
        prop_assert_eq!(diff::diff(&x, &x, &h, &d), vec![]);
    }

    #[test]
    fn applying_the_diff_reaches_the_target(a in raw_schema(), b in raw_schema()) {
        let (a, b) = (build(&a), build(&b));
        let none = (Hints::default(), Droppable::new());
        let changes = diff::diff(&a, &b, &none.0, &none.1);
        let reached = run_changes(&a, &changes).map_err(|e| {
            TestCaseError::fail(format!("{e}\nA:\n{}B:\n{}", show(&a), show(&b)))
        })?;
        prop_assert_eq!(diff::diff(&reached, &b, &none.0, &none.1), vec![]);
        // Every table of B is there; A's other tables are left alone.
        prop_assert_eq!(names(&reached), names(&a).union(&names(&b)).copied().collect());
    }

    #[test]
    fn applying_the_diff_with_hints_and_drops_reaches_the_target(
        a in raw_schema(),
        b in raw_schema(),
        h in hints(),
        d in droppable(),
    ) {
        diff_round_trip(&a, &b, &h, &d)?;
    }
}

/// `diff(a, b)` runs step by step on `a`, reaches `b`, and its inverses run
/// backwards return to `a`.
fn diff_round_trip(
    a: &[RawTable],
    b: &[RawTable],
    h: &Hints,
    d: &Droppable,
) -> Result<(), TestCaseError> {
    let (a, b) = (build(a), build(b));
    let changes = diff::diff(&a, &b, h, d);
    let context = format!(
        "A:\n{}B:\n{}hints {:?} {:?}, droppable {:?}\nchanges {:#?}",
        show(&a),
        show(&b),
        h.tables,
        h.columns,
        d,
        changes
    );
    let reached =
        run_changes(&a, &changes).map_err(|e| TestCaseError::fail(format!("{e}\n{context}")))?;
    prop_assert_eq!(diff::diff(&reached, &b, h, d), vec![]);
    for t in b.tables.keys() {
        prop_assert!(reached.tables.contains_key(t), "{} missing", t);
    }
    // Undoing the steps backwards returns to A.
    let inverses: Vec<Change> = changes
        .iter()
        .rev()
        .map(|c| c.inverse().expect("no unsupported change"))
        .collect();
    let back = run_changes(&reached, &inverses)
        .map_err(|e| TestCaseError::fail(format!("undoing: {e}\n{context}")))?;
    prop_assert_eq!(names(&back), names(&a));
    prop_assert_eq!(
        diff::diff(&back, &a, &Hints::default(), &Droppable::new()),
        vec![]
    );
    // Folded into table rebuilds as SQLite plans them, the changes reach the
    // same schema, and their inverses return to A.
    let grouped = dataflow_core::migrate::rebuild::group(&dataflow_sqlite::SQLITE, &a, changes);
    let regrouped = run_changes(&a, &grouped)
        .map_err(|e| TestCaseError::fail(format!("grouped: {e}\n{context}\n{grouped:#?}")))?;
    prop_assert_eq!(&regrouped, &reached);
    let inverses: Vec<Change> = grouped
        .iter()
        .rev()
        .map(|c| c.inverse().expect("no unsupported change"))
        .collect();
    let back = run_changes(&reached, &inverses)
        .map_err(|e| TestCaseError::fail(format!("undoing grouped: {e}\n{context}")))?;
    prop_assert_eq!(
        diff::diff(&back, &a, &Hints::default(), &Droppable::new()),
        vec![]
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Engine bugs the properties found, each as its smallest case.
// ---------------------------------------------------------------------------

fn col(name: &'static str, ty: Ty, nullable: bool, default: Option<Cell>) -> Col {
    Col {
        name,
        ty,
        nullable,
        default,
    }
}

/// Creates A with `rows`, migrates to B (any risk), and returns both handles
/// (A's first) with the directory keeping the file.
fn migrated(
    a: &[Col],
    b: &[Col],
    rows: &[Vec<Cell>],
) -> (DataFlow, DataFlow, MigrationReport, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    let db_a = dataflow_sqlite::open(&path).expect("open A");
    db_a.register_all(&[descriptor(a)]).expect("register A");
    db_a.auto_migrate(MigrateOptions::default())
        .expect("create A");
    insert_rows(&db_a, a, rows);
    let db_b = dataflow_sqlite::open(&path).expect("open B");
    db_b.register_all(&[descriptor(b)]).expect("register B");
    let report = db_b
        .auto_migrate(
            MigrateOptions::default()
                .auto_confirm(true)
                .max_risk(RiskLevel::High),
        )
        .expect("migrate A → B");
    (db_a, db_b, report, dir)
}

#[test]
fn rollback_restores_nulls_that_took_the_default() {
    let a = [col("c0", Ty::BigInt, true, None)];
    let b = [col("c0", Ty::BigInt, false, Some(Cell::Int(7)))];
    let (db_a, db_b, report, _dir) = migrated(&a, &b, &[vec![Cell::Null], vec![Cell::Int(1)]]);
    assert_eq!(report.steps.len(), 1, "{}", report.preview());
    db_b.rollback_last().expect("rollback");
    let rows: Vec<Vec<Cell>> = read_rows(&db_a, &typed(&a)).into_values().collect();
    // Today: [[Int(7)], [Int(1)]].
    assert_eq!(rows, [vec![Cell::Null], vec![Cell::Int(1)]]);
}

#[test]
fn rollback_of_an_all_null_column_with_a_default_restores_nulls() {
    let a = [
        col("c0", Ty::Text, false, None),
        col("c1", Ty::Int, true, Some(Cell::Int(1))),
    ];
    let b = [col("c0", Ty::Text, false, None)];
    let (db_a, db_b, report, _dir) = migrated(&a, &b, &[vec![Cell::Text("x".into()), Cell::Null]]);
    // MEDIUM: "all NULL in c1: nothing is lost", so no backup is taken.
    assert_eq!(
        report.steps[0].risk,
        RiskLevel::Medium,
        "{}",
        report.preview()
    );
    db_b.rollback_last().expect("rollback");
    let rows: Vec<Vec<Cell>> = read_rows(&db_a, &typed(&a)).into_values().collect();
    // Today: [[Text("x"), Int(1)]] (sql_down is `ADD COLUMN "c1" INTEGER DEFAULT 1`).
    assert_eq!(rows, [vec![Cell::Text("x".into()), Cell::Null]]);
}

#[test]
#[ignore = "bug: a float default is rendered as Rust's shortest literal, which SQLite parses to a neighbouring double: rows get a value other than the declared default"]
fn float_default_is_the_value_rows_get() {
    let a = [col("c0", Ty::BigInt, false, None)];
    let declared = 4.142893223409239e307;
    let b = [
        col("c0", Ty::BigInt, false, None),
        col("c1", Ty::Double, false, Some(Cell::Float(declared))),
    ];
    let (_db_a, db_b, _report, _dir) = migrated(&a, &b, &[vec![Cell::Int(0)]]);
    // The schema check passes: the pragma gives back the literal's text.
    db_b.check().expect("check");
    let rows: Vec<Vec<Cell>> = read_rows(&db_b, &typed(&b)).into_values().collect();
    // Today: Float(4.1428932234092383e307).
    assert_eq!(rows, [vec![Cell::Int(0), Cell::Float(declared)]]);
}

mod renamed_tables {
    //! Hinted table renames combined with dropping what points at the table
    //! (regressions: both failed before 0ccbdea).

    use dataflow_core::prelude::*;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "teams")]
    struct Team {
        id: i64,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "players")]
    #[dataflow(foreign_key(field = "team_id", references = "teams(id)"))]
    struct Player {
        id: i64,
        team_id: Option<i64>,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "squads", renamed_from = "teams")]
    struct Squad {
        id: i64,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "players")]
    struct PlayerWithoutTeam {
        id: i64,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "old_items")]
    struct OldItem {
        id: i64,
        #[dataflow(index)]
        name: String,
    }

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dataflow(table = "items", renamed_from = "old_items")]
    struct Item {
        id: i64,
        name: String,
    }

    fn opted_in() -> MigrateOptions {
        MigrateOptions::default()
            .auto_confirm(true)
            .max_risk(RiskLevel::High)
    }

    /// Found by the pure property before table renames ran first: the plan
    /// dropped the foreign key under the new table name before the rename,
    /// and SQLite rebuilt `players` with a key on the dropped column.
    #[test]
    fn renaming_a_table_while_dropping_the_column_that_references_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let v1 = dataflow_sqlite::open(&path).expect("open");
        v1.register_all(models![Team, Player]).expect("register");
        v1.auto_migrate(MigrateOptions::default()).expect("v1");
        let v2 = dataflow_sqlite::open(&path).expect("open");
        v2.register_all(models![Squad, PlayerWithoutTeam])
            .expect("register");
        let report = v2.auto_migrate(opted_in()).expect("v2");
        assert!(report.applied);
        v2.check().expect("live schema is v2");
    }

    /// Found likewise: the index drop ran before the rename, so its undo
    /// (`CREATE INDEX … ON items`) ran after the rename was undone.
    #[test]
    fn renaming_a_table_while_dropping_its_index_rolls_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let v1 = dataflow_sqlite::open(&path).expect("open");
        v1.register::<OldItem>().expect("register");
        v1.auto_migrate(MigrateOptions::default()).expect("v1");
        let v2 = dataflow_sqlite::open(&path).expect("open");
        v2.register::<Item>().expect("register");
        v2.auto_migrate(opted_in()).expect("v2");
        v2.check().expect("live schema is v2");
        v2.rollback_last().expect("rollback");
        v1.check().expect("live schema is v1 again");
    }
}

// ---------------------------------------------------------------------------
// Foreign keys on columns the same plan adds, renames or fills, and new
// tables that reference each other (SQLite file). The oracle: the values each
// key's column will hold, computed here from the rows written, decide whether
// the key step is blocked (and with how many orphans); an unblocked plan
// applies, and the key's column then holds exactly those values.
// ---------------------------------------------------------------------------

mod planned_keys {
    use super::*;
    use dataflow_core::model::descriptor::{ForeignKeyDescriptor, IndexDescriptor, IndexMethod};

    /// Where a key of `t` sits in B.
    #[derive(Debug, Clone)]
    pub enum KeyOn {
        /// A nullable column `n` added by the plan, with this default.
        Added { default: Option<i64> },
        /// `c{col}` renamed to `r{col}` by a hint.
        Renamed { col: usize },
        /// `c{col}` made NOT NULL, its NULLs filled with `default`.
        Filled { col: usize, default: i64 },
        /// `c{col}` as it is.
        Plain { col: usize },
    }

    #[derive(Debug, Clone)]
    pub struct KeyCase {
        /// Parent rows' `k` values (distinct); their ids are 1, 2, ….
        parents: Vec<i64>,
        /// Child rows: `c0`, `c1`.
        rows: Vec<[Option<i64>; 2]>,
        /// Keys added in B, each to `p(id)` (false) or `p(k)` (true).
        keys: Vec<(KeyOn, bool)>,
        /// B renames `p` to `q`.
        rename_parent: bool,
        /// B renames `p.k` to `kk`.
        rename_k: bool,
        /// B adds tables `x` and `y` that reference each other (and `t`).
        circular: bool,
    }

    fn leak<T>(v: Vec<T>) -> &'static [T] {
        Box::leak(v.into_boxed_slice())
    }

    fn s(v: String) -> &'static str {
        Box::leak(v.into_boxed_str())
    }

    fn column(name: &'static str, nullable: bool) -> ColumnDescriptor {
        ColumnDescriptor {
            name,
            field: Some(name),
            ty: LogicalType::BigInt,
            nullable,
            primary_key: false,
            auto_increment: false,
            enum_type: None,
            unique: false,
            max_length: None,
            default: None,
            renamed_from: None,
            managed: None,
            collation: None,
        }
    }

    fn key_column() -> ColumnDescriptor {
        ColumnDescriptor {
            primary_key: true,
            auto_increment: true,
            ..column("id", false)
        }
    }

    fn model(
        table: &'static str,
        renamed_from: Option<&'static str>,
        columns: Vec<ColumnDescriptor>,
        indexes: Vec<IndexDescriptor>,
        foreign_keys: Vec<ForeignKeyDescriptor>,
    ) -> &'static ModelDescriptor {
        Box::leak(Box::new(ModelDescriptor {
            name: table,
            table,
            renamed_from,
            columns: leak(columns),
            primary_key: &[0],
            indexes: leak(indexes),
            foreign_keys: leak(foreign_keys),
            checks: &[],
            timestamps: false,
            soft_delete: false,
            statements: StatementCache::new(),
        }))
    }

    fn fk(column: &'static str, table: &'static str, to: &'static str) -> ForeignKeyDescriptor {
        ForeignKeyDescriptor {
            column,
            references_table: table,
            references_column: to,
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
        }
    }

    fn parent(
        table: &'static str,
        from: Option<&'static str>,
        k: &'static str,
        k_from: Option<&'static str>,
    ) -> &'static ModelDescriptor {
        model(
            table,
            from,
            vec![
                key_column(),
                ColumnDescriptor {
                    renamed_from: k_from,
                    ..column(k, false)
                },
            ],
            vec![IndexDescriptor {
                name: s(format!("ux_{table}_{k}")),
                columns: leak(vec![k]),
                unique: true,
                method: IndexMethod::BTree,
                predicate: None,
            }],
            Vec::new(),
        )
    }

    fn models_a() -> Vec<&'static ModelDescriptor> {
        let child = model(
            "t",
            None,
            vec![key_column(), column("c0", true), column("c1", true)],
            Vec::new(),
            Vec::new(),
        );
        vec![parent("p", None, "k", None), child]
    }

    /// The column a key sits on in B.
    fn key_column_name(on: &KeyOn) -> &'static str {
        match on {
            KeyOn::Added { .. } => "n",
            KeyOn::Renamed { col } => ["r0", "r1"][*col],
            KeyOn::Filled { col, .. } | KeyOn::Plain { col } => ["c0", "c1"][*col],
        }
    }

    fn names(case: &KeyCase) -> (&'static str, &'static str) {
        (
            if case.rename_parent { "q" } else { "p" },
            if case.rename_k { "kk" } else { "k" },
        )
    }

    fn models_b(case: &KeyCase) -> Vec<&'static ModelDescriptor> {
        let (ptable, pk) = names(case);
        let p = parent(
            ptable,
            case.rename_parent.then_some("p"),
            pk,
            case.rename_k.then_some("k"),
        );
        let mut cols = vec![key_column()];
        let mut fks = Vec::new();
        for (i, name) in ["c0", "c1"].into_iter().enumerate() {
            let on = case.keys.iter().find(|(on, _)| {
                matches!(on, KeyOn::Renamed { col } | KeyOn::Filled { col, .. } | KeyOn::Plain { col } if *col == i)
            });
            cols.push(match on {
                Some((KeyOn::Renamed { .. }, _)) => ColumnDescriptor {
                    renamed_from: Some(name),
                    ..column(["r0", "r1"][i], true)
                },
                Some((KeyOn::Filled { default, .. }, _)) => ColumnDescriptor {
                    default: Some(DefaultValue::Int(*default)),
                    ..column(name, false)
                },
                _ => column(name, true),
            });
        }
        for (on, to_k) in &case.keys {
            if let KeyOn::Added { default } = on {
                cols.push(ColumnDescriptor {
                    default: default.map(DefaultValue::Int),
                    ..column("n", true)
                });
            }
            fks.push(fk(
                key_column_name(on),
                ptable,
                if *to_k { pk } else { "id" },
            ));
        }
        fks.sort_by_key(|f| f.column);
        let mut out = vec![p, model("t", None, cols, Vec::new(), fks)];
        if case.circular {
            out.push(model(
                "x",
                None,
                vec![key_column(), column("y_id", true), column("t_id", true)],
                Vec::new(),
                vec![fk("t_id", "t", "id"), fk("y_id", "y", "id")],
            ));
            out.push(model(
                "y",
                None,
                vec![key_column(), column("x_id", true)],
                Vec::new(),
                vec![fk("x_id", "x", "id")],
            ));
        }
        out
    }

    /// What the key's column holds after the plan, row by row.
    fn values(case: &KeyCase, on: &KeyOn) -> Vec<Option<i64>> {
        case.rows
            .iter()
            .map(|r| match on {
                KeyOn::Added { default } => *default,
                KeyOn::Renamed { col } | KeyOn::Plain { col } => r[*col],
                KeyOn::Filled { col, default } => Some(r[*col].unwrap_or(*default)),
            })
            .collect()
    }

    fn key_case() -> impl Strategy<Value = KeyCase> {
        let small = || prop::option::of(0i64..8);
        let on = prop_oneof![
            prop::option::of(0i64..6).prop_map(|default| KeyOn::Added { default }),
            (0..2usize).prop_map(|col| KeyOn::Renamed { col }),
            (0..2usize, 0i64..6).prop_map(|(col, default)| KeyOn::Filled { col, default }),
            (0..2usize).prop_map(|col| KeyOn::Plain { col }),
        ];
        (
            proptest::sample::subsequence((0i64..7).collect::<Vec<_>>(), 0..5),
            proptest::collection::vec((small(), small()), 0..6),
            proptest::collection::vec((on, any::<bool>()), 1..3),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(parents, rows, keys, rename_parent, rename_k, circular)| {
                // One key per column.
                let mut seen: Vec<&'static str> = Vec::new();
                let keys = keys
                    .into_iter()
                    .filter(|(on, _)| {
                        let c = match on {
                            KeyOn::Added { .. } => "n",
                            KeyOn::Renamed { col }
                            | KeyOn::Filled { col, .. }
                            | KeyOn::Plain { col } => ["c0", "c1"][*col],
                        };
                        !seen.contains(&c) && {
                            seen.push(c);
                            true
                        }
                    })
                    .collect();
                KeyCase {
                    parents,
                    rows: rows.into_iter().map(|(a, b)| [a, b]).collect(),
                    keys,
                    rename_parent,
                    rename_k,
                    circular,
                }
            })
    }

    pub fn run(case: &KeyCase) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("k.db");
        let a = dataflow_sqlite::open(&path).expect("open A");
        a.register_all(&models_a()).expect("register A");
        a.auto_migrate(MigrateOptions::default()).expect("create A");
        a.transaction(|tx| {
            tx.with_conn(|c| {
                for k in &case.parents {
                    c.execute("INSERT INTO \"p\" (\"k\") VALUES (?)", &[Value::I64(*k)])?;
                }
                for r in &case.rows {
                    let v = |x: Option<i64>| x.map_or(Value::Null, Value::I64);
                    c.execute(
                        "INSERT INTO \"t\" (\"c0\", \"c1\") VALUES (?, ?)",
                        &[v(r[0]), v(r[1])],
                    )?;
                }
                Ok(())
            })
        })
        .expect("rows of A");

        let b = dataflow_sqlite::open(&path).expect("open B");
        b.register_all(&models_b(case)).expect("register B");
        let plan = b
            .plan()
            .map_err(|e| TestCaseError::fail(format!("plan: {e}")))?;
        let context = format!("{case:?}\n{}", plan.preview());
        let (ptable, pk) = names(case);
        let ids: Vec<i64> = (1..=case.parents.len() as i64).collect();
        let mut expect_blocked = false;
        for (on, to_k) in &case.keys {
            let column = key_column_name(on);
            // Each change as judged: a step of its own, or a part of a table rebuild.
            let judged: Vec<(Operation, &String, &Option<String>)> = plan
                .steps
                .iter()
                .filter(|s| s.table == "t")
                .flat_map(|s| match s.parts.is_empty() {
                    true => vec![(s.operation, &s.detail, &s.blocked)],
                    false => s
                        .parts
                        .iter()
                        .map(|p| (p.operation, &p.detail, &p.blocked))
                        .collect(),
                })
                .collect();
            let blocked = judged
                .iter()
                .find(|(operation, detail, _)| {
                    *operation == Operation::AddForeignKey
                        && detail.starts_with(&format!("{column} →"))
                })
                .map(|(_, _, blocked)| *blocked)
                .ok_or_else(|| {
                    TestCaseError::fail(format!("no key step on {column}\n{context}"))
                })?;
            let referenced = if *to_k { &case.parents } else { &ids };
            let orphans = values(case, on)
                .iter()
                .filter(|v| v.is_some_and(|v| !referenced.contains(&v)))
                .count();
            let to = if *to_k { pk } else { "id" };
            let expected = (orphans > 0)
                .then(|| format!("{orphans} rows of t reference a missing {ptable}.{to}"));
            prop_assert_eq!(blocked, &expected, "{}", context);
            expect_blocked |= orphans > 0;
        }
        let options = MigrateOptions::default()
            .auto_confirm(true)
            .max_risk(RiskLevel::High);
        if expect_blocked {
            prop_assert!(
                matches!(b.auto_migrate(options), Err(Error::MigrationRefused { .. })),
                "{}",
                context
            );
            return Ok(());
        }
        prop_assert!(
            plan.steps.iter().all(|s| s.blocked.is_none()),
            "{}",
            context
        );
        let report = b
            .auto_migrate(options)
            .map_err(|e| TestCaseError::fail(format!("migrate: {e}\n{context}")))?;
        prop_assert!(report.applied || plan.steps.is_empty());
        b.check()
            .map_err(|e| TestCaseError::fail(format!("check: {e}\n{context}")))?;
        for (on, _) in &case.keys {
            let column = key_column_name(on);
            let mut got = Vec::new();
            b.with_conn(|c| {
                c.query(
                    &format!("SELECT \"{column}\" FROM \"t\" ORDER BY \"id\""),
                    &[],
                    &[LogicalType::BigInt],
                    &mut |row| {
                        got.push(match row[0] {
                            Value::I64(v) => Some(v),
                            _ => None,
                        });
                        Ok(())
                    },
                )
            })
            .expect("read the key's column");
            prop_assert_eq!(got, values(case, on), "{}", context);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(Config {
            cases: cases(48),
            failure_persistence: None,
            ..Config::default()
        })]

        #[test]
        fn keys_on_added_renamed_and_filled_columns_are_judged_on_their_values(case in key_case()) {
            run(&case)?;
        }
    }
}
