//! The risk rules over plain numbers: each case gives a change and the facts the
//! database would report, and checks the verdict `docs/risk.md` promises. No
//! database is involved, so a rule can be read and changed next to its table row.
//!
//! Long on purpose: it is one table, a case per rule, read top to bottom.

use proptest::prelude::*;

use super::*;
use crate::migrate::schema::{Check, ForeignKey, Index, SchemaDefault, Table};
use crate::model::descriptor::FkAction;

/// What the database would answer, and which questions were asked.
#[derive(Debug, Default, Clone)]
struct Numbers {
    rows: i64,
    non_null: i64,
    duplicate_groups: i64,
    not_fitting: i64,
    orphans: i64,
    /// Values outside an enum's allowed ones.
    outside: i64,
    asked: Vec<&'static str>,
}

impl Numbers {
    fn rows(rows: i64) -> Numbers {
        Numbers {
            rows,
            non_null: rows,
            ..Numbers::default()
        }
    }
    fn non_null(mut self, n: i64) -> Numbers {
        self.non_null = n;
        self
    }
    fn duplicates(mut self, n: i64) -> Numbers {
        self.duplicate_groups = n;
        self
    }
    fn not_fitting(mut self, n: i64) -> Numbers {
        self.not_fitting = n;
        self
    }
    fn orphans(mut self, n: i64) -> Numbers {
        self.orphans = n;
        self
    }
    fn outside(mut self, n: i64) -> Numbers {
        self.outside = n;
        self
    }
}

impl Facts for Numbers {
    fn row_count(&mut self, _: &str) -> Result<i64> {
        self.asked.push("rows");
        Ok(self.rows)
    }
    fn non_null_count(&mut self, _: &str, _: &str) -> Result<i64> {
        self.asked.push("non_null");
        Ok(self.non_null)
    }
    fn duplicate_groups(&mut self, _: &str, _: &[String]) -> Result<i64> {
        self.asked.push("duplicates");
        Ok(self.duplicate_groups)
    }
    fn values_not_fitting(&mut self, _: &str, _: &Column, _: &Column) -> Result<i64> {
        self.asked.push("not_fitting");
        Ok(self.not_fitting)
    }
    fn orphans(&mut self, _: &str, _: &ForeignKey) -> Result<i64> {
        self.asked.push("orphans");
        Ok(self.orphans)
    }
    fn values_outside(&mut self, _: &str, _: &str, _: &[String]) -> Result<i64> {
        self.asked.push("outside");
        Ok(self.outside)
    }
    fn check_violations(&mut self, _: &str, _: &str) -> Result<i64> {
        self.asked.push("violations");
        Ok(self.outside)
    }
}

fn col(ty: T) -> Column {
    Column {
        name: "c".into(),
        ty,
        nullable: false,
        max_length: None,
        default: None,
        auto_increment: false,
        enum_values: None,
        collation: None,
    }
}

fn text(max_length: Option<u32>) -> Column {
    Column {
        max_length,
        ..col(T::Text)
    }
}

fn nullable(c: Column) -> Column {
    Column {
        nullable: true,
        ..c
    }
}

fn with_default(c: Column, d: SchemaDefault) -> Column {
    Column {
        default: Some(d),
        ..c
    }
}

fn table() -> Table {
    Table {
        name: "t".into(),
        columns: vec![col(T::BigInt)],
        primary_key: vec!["c".into()],
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        triggers: Vec::new(),
        checks: Vec::new(),
    }
}

fn fk() -> ForeignKey {
    ForeignKey {
        column: "p_id".into(),
        references_table: "p".into(),
        references_column: "id".into(),
        on_delete: FkAction::NoAction,
        on_update: FkAction::NoAction,
    }
}

fn add(c: Column) -> Change {
    Change::AddColumn {
        table: "t".into(),
        column: c,
    }
}

fn drop_column(c: Column) -> Change {
    Change::DropColumn {
        table: "t".into(),
        column: c,
    }
}

fn alter(from: Column, to: Column) -> Change {
    Change::alter("t", from, to)
}

/// A text column allowing `values` (an enum column).
fn enum_col(values: &[&str]) -> Column {
    Column {
        enum_values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        ..col(T::Text)
    }
}

/// An alteration of enum values renaming `renames` (previous, new).
fn alter_renaming(from: Column, to: Column, renames: &[(&str, &str)]) -> Change {
    Change::AlterColumn {
        table: "t".into(),
        from,
        to,
        renamed_values: renames
            .iter()
            .map(|(f, t)| ValueRename {
                from: (*f).to_owned(),
                to: (*t).to_owned(),
            })
            .collect(),
    }
}

fn add_check() -> Change {
    Change::AddCheck {
        table: "t".into(),
        check: Check::new("ck_c_positive", "(c > 0)"),
    }
}

fn create_index(unique: bool) -> Change {
    Change::CreateIndex {
        table: "t".into(),
        index: Index::new("t_c", &["c"], unique),
    }
}

/// The verdict expected of one case.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Safe,
    Medium,
    High,
    /// HIGH, and data is destroyed (backed up first).
    Destroys,
    /// MEDIUM, and backed up first (values are overwritten or a column dropped).
    MediumBackedUp,
    /// Refused: HIGH with a `blocked` reason.
    Blocked,
}

fn verdict(a: &Assessment) -> Verdict {
    match (a.risk, a.blocked.is_some(), a.destructive) {
        // A refused step never runs, so whether it would destroy data is moot.
        (RiskLevel::High, true, _) => Verdict::Blocked,
        (RiskLevel::High, false, true) => Verdict::Destroys,
        (RiskLevel::High, false, false) => Verdict::High,
        (RiskLevel::Medium, false, true) => Verdict::MediumBackedUp,
        (RiskLevel::Medium, false, false) => Verdict::Medium,
        (RiskLevel::Safe, false, false) => Verdict::Safe,
        other => panic!("no rule gives {other:?}: {a:?}"),
    }
}

struct Case {
    rule: &'static str,
    change: Change,
    facts: Numbers,
    expect: Verdict,
    /// Words the reason must quote (the facts it was decided on).
    reason: &'static str,
}

fn case(
    rule: &'static str,
    change: Change,
    facts: Numbers,
    expect: Verdict,
    reason: &'static str,
) -> Case {
    Case {
        rule,
        change,
        facts,
        expect,
        reason,
    }
}

fn cases() -> Vec<Case> {
    use Verdict::*;
    let int_default = |c| with_default(c, SchemaDefault::Int(0));
    vec![
        case(
            "create table",
            Change::CreateTable { table: table() },
            Numbers::rows(10),
            Safe,
            "no data",
        ),
        case(
            "drop table, empty",
            Change::DropTable { table: table() },
            Numbers::rows(0),
            Safe,
            "table t is empty",
        ),
        case(
            "drop table with rows",
            Change::DropTable { table: table() },
            Numbers::rows(7),
            Destroys,
            "7 rows that would be lost",
        ),
        case(
            "add nullable column",
            add(nullable(col(T::Int))),
            Numbers::rows(5),
            Safe,
            "read NULL",
        ),
        case(
            "add NOT NULL column with a default",
            add(int_default(col(T::Int))),
            Numbers::rows(5),
            Safe,
            "default",
        ),
        case(
            "add NOT NULL column without default, empty table",
            add(col(T::Int)),
            Numbers::rows(0),
            Safe,
            "table t is empty",
        ),
        case(
            "add NOT NULL column without default, populated table",
            add(col(T::Int)),
            Numbers::rows(5),
            Blocked,
            "which has 5 rows",
        ),
        case(
            "widen smallint to bigint",
            alter(col(T::SmallInt), col(T::BigInt)),
            Numbers::rows(5),
            Safe,
            "widens smallint to bigint",
        ),
        case(
            "widen text length",
            alter(text(Some(10)), text(Some(20))),
            Numbers::rows(5),
            Safe,
            "every value fits",
        ),
        case(
            "widen to unbounded text",
            alter(col(T::Uuid), text(None)),
            Numbers::rows(5),
            Safe,
            "widens uuid to text",
        ),
        case(
            "allow NULL",
            alter(col(T::Int), nullable(col(T::Int))),
            Numbers::rows(5),
            Safe,
            "allows NULL",
        ),
        case(
            "change a default",
            alter(col(T::Int), int_default(col(T::Int))),
            Numbers::rows(5),
            Safe,
            "default becomes 0",
        ),
        case(
            "drop a default",
            alter(int_default(col(T::Int)), col(T::Int)),
            Numbers::rows(5),
            Safe,
            "drops the default",
        ),
        case(
            "non-unique index",
            create_index(false),
            Numbers::rows(5).duplicates(3),
            Safe,
            "changes no data",
        ),
        case(
            "unique index, empty table",
            create_index(true),
            Numbers::rows(0),
            Safe,
            "table t is empty",
        ),
        case(
            "narrow a number on an empty table",
            alter(col(T::BigInt), col(T::SmallInt)),
            Numbers::rows(0).not_fitting(3),
            Safe,
            "on an empty table",
        ),
        case(
            "unsafe cast on an empty table",
            alter(col(T::Text), col(T::Int)),
            Numbers::rows(0),
            Safe,
            "on an empty table",
        ),
        case(
            "set NOT NULL on an empty table",
            alter(nullable(col(T::Int)), col(T::Int)),
            Numbers::rows(0),
            Safe,
            "no NULLs today",
        ),
        case(
            "add foreign key, empty table",
            Change::AddForeignKey {
                table: "t".into(),
                foreign_key: fk(),
            },
            Numbers::rows(0).orphans(2),
            Safe,
            "table t is empty",
        ),
        case(
            "drop column, empty table",
            drop_column(col(T::Int)),
            Numbers::rows(0),
            Safe,
            "table t is empty",
        ),
        case(
            "rename column",
            Change::RenameColumn {
                table: "t".into(),
                from: "a".into(),
                to: "b".into(),
            },
            Numbers::rows(5),
            Medium,
            "renames t.a to b",
        ),
        case(
            "rename table",
            Change::RenameTable {
                from: "t".into(),
                to: "u".into(),
            },
            Numbers::rows(5),
            Medium,
            "renames t to u",
        ),
        case(
            "rename index",
            Change::RenameIndex {
                table: "t".into(),
                from: "t_a".into(),
                to: "t_b".into(),
            },
            Numbers::rows(5),
            Safe,
            "renames index t_a to t_b",
        ),
        case(
            "set NOT NULL, no NULLs today",
            alter(nullable(col(T::Int)), col(T::Int)),
            Numbers::rows(5),
            Medium,
            "no NULLs today",
        ),
        case(
            "set NOT NULL, NULLs today, with a default",
            alter(nullable(col(T::Int)), int_default(col(T::Int))),
            Numbers::rows(5).non_null(2),
            MediumBackedUp,
            "3 NULLs take the default",
        ),
        case(
            "narrow a number, every value fits",
            alter(col(T::BigInt), col(T::Int)),
            Numbers::rows(5),
            Medium,
            "all 5 rows fit today",
        ),
        case(
            "narrow text length, every value fits",
            alter(text(Some(20)), text(Some(10))),
            Numbers::rows(5),
            Medium,
            "all 5 rows fit today",
        ),
        case(
            "unsafe cast, column has no values",
            alter(nullable(col(T::Text)), nullable(col(T::Int))),
            Numbers::rows(5).non_null(0),
            Medium,
            "no values to convert",
        ),
        case(
            "unique index, no duplicates",
            create_index(true),
            Numbers::rows(5),
            Medium,
            "no duplicates in (c)",
        ),
        case(
            "drop unique index",
            Change::DropIndex {
                table: "t".into(),
                index: Index::new("t_c", &["c"], true),
            },
            Numbers::rows(5),
            Medium,
            "duplicates become possible",
        ),
        case(
            "drop plain index",
            Change::DropIndex {
                table: "t".into(),
                index: Index::new("t_c", &["c"], false),
            },
            Numbers::rows(5),
            Medium,
            "slow down",
        ),
        case(
            "add foreign key, no orphans",
            Change::AddForeignKey {
                table: "t".into(),
                foreign_key: fk(),
            },
            Numbers::rows(5),
            Medium,
            "references an existing row",
        ),
        case(
            "drop foreign key",
            Change::DropForeignKey {
                table: "t".into(),
                foreign_key: fk(),
            },
            Numbers::rows(5),
            Medium,
            "p_id no longer has to reference an existing p",
        ),
        case(
            "drop column, all NULL",
            drop_column(nullable(col(T::Int))),
            Numbers::rows(20).non_null(0),
            MediumBackedUp,
            "20 rows, all NULL in c",
        ),
        case(
            "drop column with values",
            drop_column(col(T::Int)),
            Numbers::rows(20),
            Destroys,
            "table t has 20 rows; 20 non-null values in c would be lost",
        ),
        case(
            "narrow text length, some values longer",
            alter(text(Some(20)), text(Some(10))),
            Numbers::rows(5).not_fitting(2),
            Destroys,
            "2 values are longer and would be truncated",
        ),
        case(
            "narrow to bounded text, some values longer",
            alter(col(T::BigInt), text(Some(4))),
            Numbers::rows(5).not_fitting(1),
            Destroys,
            "would be truncated",
        ),
        case(
            "unsafe cast with values",
            alter(col(T::Text), col(T::Int)),
            Numbers::rows(5).non_null(4),
            Destroys,
            "4 values must convert",
        ),
        case(
            "bytes to text is no widening",
            alter(col(T::Bytes), text(None)),
            Numbers::rows(5),
            Destroys,
            "has no safe cast",
        ),
        case(
            "narrow a number, some values do not fit",
            alter(col(T::BigInt), col(T::Int)),
            Numbers::rows(5).not_fitting(2),
            Blocked,
            "2 values of t.c do not fit in int",
        ),
        case(
            "set NOT NULL, NULLs today, no default",
            alter(nullable(col(T::Int)), col(T::Int)),
            Numbers::rows(5).non_null(1),
            Blocked,
            "4 rows are NULL and there is no default",
        ),
        case(
            "unique index, duplicates today",
            create_index(true),
            Numbers::rows(5).duplicates(2),
            Blocked,
            "2 groups of rows in t share values in (c)",
        ),
        case(
            "add foreign key, orphans today",
            Change::AddForeignKey {
                table: "t".into(),
                foreign_key: fk(),
            },
            Numbers::rows(5).orphans(3),
            Blocked,
            "3 rows of t reference a missing p.id",
        ),
        case(
            "change of auto-increment",
            alter(
                col(T::BigInt),
                Column {
                    auto_increment: true,
                    ..col(T::BigInt)
                },
            ),
            Numbers::rows(0),
            Blocked,
            "auto-increment is not supported",
        ),
        case(
            "change of primary key",
            Change::Unsupported {
                table: "t".into(),
                detail: "primary key changes from (id) to (code)".into(),
            },
            Numbers::rows(0),
            Blocked,
            "primary key changes",
        ),
        // Several parts of one alteration: the worst decides, every part is quoted.
        case(
            "narrow that fits and set NOT NULL with backfill",
            alter(
                nullable(col(T::BigInt)),
                int_default(col(T::Int)),
            ),
            Numbers::rows(5).non_null(3),
            MediumBackedUp,
            "narrows bigint to int; all 5 rows fit today; sets NOT NULL; 2 NULLs take the default; default becomes 0",
        ),
        // A rebuild (one copy of the table for several changes): the worst part
        // decides, each part is quoted, a blocked part blocks the step.
        case(
            "rebuild with a widening and a drop of values",
            Change::RebuildTable {
                table: "t".into(),
                changes: vec![
                    alter(col(T::Int), col(T::BigInt)),
                    drop_column(col(T::Int)),
                ],
            },
            Numbers::rows(4),
            Destroys,
            "widens int to bigint: every value fits; table t has 4 rows; 4 non-null values in c would be lost",
        ),
        case(
            "rebuild with a blocked part",
            Change::RebuildTable {
                table: "t".into(),
                changes: vec![
                    alter(nullable(col(T::Int)), nullable(col(T::BigInt))),
                    alter(col(T::BigInt), col(T::Int)),
                ],
            },
            Numbers::rows(4).not_fitting(1),
            Blocked,
            "1 values of t.c do not fit in int",
        ),
        // Enum values (a check of allowed values on a text column).
        case(
            "enum: add a value",
            alter(enum_col(&["a", "b"]), enum_col(&["a", "b", "c"])),
            Numbers::rows(5),
            Safe,
            "allows \"c\": every row still fits",
        ),
        case(
            "enum: remove a value rows hold",
            alter(enum_col(&["a", "b", "c"]), enum_col(&["a", "b"])),
            Numbers::rows(5).outside(3),
            Blocked,
            "3 rows of t.c hold removed values (\"c\")",
        ),
        case(
            "enum: remove a value no row holds",
            alter(enum_col(&["a", "b", "c"]), enum_col(&["a"])),
            Numbers::rows(5),
            Medium,
            "removes \"b\", \"c\"; no row holds them today",
        ),
        case(
            "enum: remove a value, empty table",
            alter(enum_col(&["a", "b"]), enum_col(&["a"])),
            Numbers::rows(0),
            Safe,
            "removes \"b\" on an empty table",
        ),
        case(
            "enum: rename a value",
            alter_renaming(enum_col(&["a", "done"]), enum_col(&["a", "closed"]), &[("done", "closed")]),
            Numbers::rows(5).outside(2),
            Medium,
            "renames \"done\" to \"closed\": 2 rows are rewritten",
        ),
        case(
            "enum: rename one value, remove another that rows hold",
            alter_renaming(
                enum_col(&["a", "done", "x"]),
                enum_col(&["a", "closed"]),
                &[("done", "closed")],
            ),
            Numbers::rows(5).outside(1),
            Blocked,
            "1 rows of t.c hold removed values (\"x\")",
        ),
        case(
            "enum: text becomes an enum over values outside it",
            alter(text(None), enum_col(&["a"])),
            Numbers::rows(5).outside(2),
            Blocked,
            "2 rows of t.c hold values outside \"a\"",
        ),
        case(
            "enum: text becomes an enum its rows fit",
            alter(text(None), enum_col(&["a"])),
            Numbers::rows(5),
            Medium,
            "allows only \"a\"; no row holds another value today",
        ),
        case(
            "enum: back to plain text",
            alter(enum_col(&["a"]), text(None)),
            Numbers::rows(5),
            Safe,
            "any text fits",
        ),
        case(
            "add check, empty table",
            add_check(),
            Numbers::rows(0),
            Safe,
            "table t is empty",
        ),
        case(
            "add check, every row satisfies it",
            add_check(),
            Numbers::rows(5),
            Medium,
            "every row satisfies check ck_c_positive (c > 0) today",
        ),
        case(
            "add check, rows violate it",
            add_check(),
            Numbers::rows(5).outside(2),
            Blocked,
            "2 rows of t violate check ck_c_positive (c > 0)",
        ),
        case(
            "drop check",
            Change::DropCheck {
                table: "t".into(),
                check: Check::new("ck_c_positive", "c > 0"),
            },
            Numbers::rows(5),
            Medium,
            "drops check ck_c_positive (c > 0)",
        ),
        case(
            "change a collation",
            alter(
                text(None),
                Column {
                    collation: Some("NOCASE".into()),
                    ..text(None)
                },
            ),
            Numbers::rows(5),
            Medium,
            "collation the default becomes NOCASE",
        ),
        case(
            "widen and set NOT NULL without a default on NULLs",
            alter(nullable(col(T::Int)), col(T::BigInt)),
            Numbers::rows(5).non_null(4),
            Blocked,
            "widens int to bigint: every value fits; cannot set NOT NULL",
        ),
    ]
}

#[test]
fn every_rule_gives_its_documented_verdict() {
    let mut failures = Vec::new();
    for mut c in cases() {
        let a = assess(&c.change, &mut c.facts).expect("plain numbers never fail");
        let got = verdict(&a);
        if got != c.expect || !a.reason.contains(c.reason) {
            failures.push(format!(
                "{}: expected {:?} quoting {:?}, got {got:?}: {:?}",
                c.rule, c.expect, c.reason, a.reason
            ));
        }
        if let Some(why) = &a.blocked {
            assert!(
                a.reason.contains(why.as_str()),
                "{}: reason quotes the block",
                c.rule
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn facts_are_asked_only_when_a_rule_needs_them() {
    let asked = |change: Change, facts: Numbers| {
        let mut facts = facts;
        assess(&change, &mut facts).unwrap();
        facts.asked
    };
    let none: Vec<&str> = Vec::new();
    assert_eq!(
        asked(Change::CreateTable { table: table() }, Numbers::rows(5)),
        none
    );
    assert_eq!(asked(add(nullable(col(T::Int))), Numbers::rows(5)), none);
    assert_eq!(asked(create_index(false), Numbers::rows(5)), none);
    // Nothing beyond the row count is asked of an empty table.
    assert_eq!(asked(drop_column(col(T::Int)), Numbers::rows(0)), ["rows"]);
    assert_eq!(asked(create_index(true), Numbers::rows(0)), ["rows"]);
    assert_eq!(
        asked(alter(col(T::BigInt), col(T::Int)), Numbers::rows(0)),
        ["rows"]
    );
    assert_eq!(
        asked(drop_column(col(T::Int)), Numbers::rows(3)),
        ["rows", "non_null"]
    );
    assert_eq!(
        asked(create_index(true), Numbers::rows(3)),
        ["rows", "duplicates"]
    );
    assert_eq!(
        asked(alter(col(T::BigInt), col(T::Int)), Numbers::rows(3)),
        ["rows", "not_fitting"]
    );
    // A widening never needs to look at the values.
    assert_eq!(
        asked(alter(col(T::Int), col(T::BigInt)), Numbers::rows(3)),
        ["rows"]
    );
    // Nor does adding an enum value; removing one looks at populated tables only.
    assert_eq!(
        asked(
            alter(enum_col(&["a"]), enum_col(&["a", "b"])),
            Numbers::rows(3)
        ),
        ["rows"]
    );
    assert_eq!(
        asked(
            alter(enum_col(&["a", "b"]), enum_col(&["a"])),
            Numbers::rows(0)
        ),
        ["rows"]
    );
    assert_eq!(
        asked(
            alter(enum_col(&["a", "b"]), enum_col(&["a"])),
            Numbers::rows(3)
        ),
        ["rows", "outside"]
    );
}

#[test]
fn casts_are_classified_as_documented() {
    use Cast::*;
    let cases = [
        (col(T::Int), col(T::Int), Same),
        (text(Some(5)), text(Some(5)), Same),
        (col(T::SmallInt), col(T::Int), Widening),
        (col(T::Int), col(T::BigInt), Widening),
        (col(T::SmallInt), col(T::BigInt), Widening),
        (col(T::BigInt), col(T::Int), Narrowing),
        (col(T::Int), col(T::SmallInt), Narrowing),
        (col(T::Float), col(T::Double), Widening),
        (col(T::Double), col(T::Float), Narrowing),
        (col(T::SmallInt), col(T::Float), Widening),
        (col(T::SmallInt), col(T::Double), Widening),
        (col(T::Int), col(T::Double), Widening),
        // 2^53 < i64::MAX: a bigint does not always fit a double.
        (col(T::BigInt), col(T::Double), Unsafe),
        (col(T::Int), col(T::Float), Unsafe),
        (col(T::SmallInt), col(T::Decimal), Widening),
        (col(T::BigInt), col(T::Decimal), Widening),
        (col(T::Decimal), col(T::BigInt), Unsafe),
        (text(Some(5)), text(Some(9)), Widening),
        (text(Some(5)), text(None), Widening),
        (text(None), text(Some(5)), Narrowing),
        (text(Some(9)), text(Some(5)), Narrowing),
        (col(T::BigInt), text(None), Widening),
        (col(T::Uuid), text(None), Widening),
        (col(T::Json), text(None), Widening),
        (col(T::BigInt), text(Some(5)), Narrowing),
        (col(T::Bytes), text(None), Unsafe),
        (col(T::Date), col(T::Timestamp), Widening),
        (col(T::Timestamp), col(T::Date), Unsafe),
        (col(T::Text), col(T::Int), Unsafe),
        (col(T::Bool), col(T::Int), Unsafe),
        (col(T::Timestamp), col(T::TimestampTz), Unsafe),
    ];
    for (from, to, expect) in cases {
        assert_eq!(
            classify_cast(&from, &to),
            expect,
            "{} -> {}",
            col_desc(&from),
            col_desc(&to)
        );
    }
}

const TYPES: [T; 14] = [
    T::SmallInt,
    T::Int,
    T::BigInt,
    T::Float,
    T::Double,
    T::Bool,
    T::Text,
    T::Bytes,
    T::Date,
    T::Timestamp,
    T::TimestampTz,
    T::Uuid,
    T::Json,
    T::Decimal,
];

fn any_column() -> impl Strategy<Value = Column> {
    (
        prop::sample::select(&TYPES[..]),
        any::<bool>(),
        prop::option::of(1u32..64),
        prop::option::of(-3i64..3),
        prop::bool::weighted(0.1),
        // An enum column: a subset of a few values.
        prop::option::weighted(
            0.3,
            prop::sample::subsequence(&["a", "b", "c", "d"][..], 1..=4),
        ),
        prop::option::weighted(0.1, Just("NOCASE")),
    )
        .prop_map(
            |(ty, nullable, max_length, default, auto_increment, values, collation)| Column {
                name: "c".into(),
                ty,
                nullable,
                max_length: if ty == T::Text { max_length } else { None },
                default: default.map(SchemaDefault::Int),
                auto_increment,
                enum_values: values
                    .filter(|_| ty == T::Text)
                    .map(|v| v.into_iter().map(str::to_owned).collect()),
                collation: collation.filter(|_| ty == T::Text).map(str::to_owned),
            },
        )
}

fn any_change() -> impl Strategy<Value = Change> {
    let part = one_change();
    prop_oneof![
        4 => one_change(),
        1 => prop::collection::vec(part, 1..4).prop_map(|changes| Change::RebuildTable {
            table: "t".into(),
            changes,
        }),
    ]
}

fn one_change() -> impl Strategy<Value = Change> {
    prop_oneof![
        Just(Change::CreateTable { table: table() }),
        Just(Change::DropTable { table: table() }),
        any_column().prop_map(add),
        any_column().prop_map(drop_column),
        (any_column(), any_column()).prop_map(|(from, to)| alter(from, to)),
        // A hinted rename between two enum columns, when it applies.
        (
            any_column(),
            any_column(),
            prop::sample::select(&["a", "b", "c", "d"][..]),
            prop::sample::select(&["a", "b", "c", "d"][..])
        )
            .prop_map(|(from, to, old, new)| {
                let applies =
                    from.enum_values
                        .as_ref()
                        .is_some_and(|v| v.iter().any(|x| x == old) && !v.iter().any(|x| x == new))
                        && to.enum_values.as_ref().is_some_and(|v| {
                            v.iter().any(|x| x == new) && !v.iter().any(|x| x == old)
                        });
                if applies {
                    alter_renaming(from, to, &[(old, new)])
                } else {
                    alter(from, to)
                }
            }),
        any::<bool>().prop_map(create_index),
        Just(Change::AddForeignKey {
            table: "t".into(),
            foreign_key: fk(),
        }),
        Just(Change::DropForeignKey {
            table: "t".into(),
            foreign_key: fk(),
        }),
        Just(add_check()),
        Just(Change::DropCheck {
            table: "t".into(),
            check: Check::new("ck_c_positive", "c > 0"),
        }),
    ]
}

/// Facts a database could report: never more non-NULL values, duplicate groups,
/// misfits or orphans than rows.
fn any_facts() -> impl Strategy<Value = Numbers> {
    (0i64..1000).prop_flat_map(|rows| {
        (0..=rows, 0..=rows / 2, 0..=rows, 0..=rows, 0..=rows).prop_map(
            move |(non_null, dups, bad, orphans, outside)| {
                Numbers::rows(rows)
                    .non_null(non_null)
                    .duplicates(dups)
                    .not_fitting(bad.min(non_null))
                    .orphans(orphans.min(non_null))
                    .outside(outside.min(non_null))
            },
        )
    })
}

fn same_facts_but(f: &Numbers, rows: i64) -> Numbers {
    Numbers {
        rows,
        non_null: f.non_null.min(rows),
        duplicate_groups: f.duplicate_groups.min(rows / 2),
        not_fitting: f.not_fitting.min(rows),
        orphans: f.orphans.min(rows),
        outside: f.outside.min(rows),
        asked: Vec::new(),
    }
}

/// Whether `change` (or a part of it) is one dataflow cannot make.
fn unsupported(change: &Change) -> bool {
    match change {
        Change::AlterColumn { from, to, .. } => from.auto_increment != to.auto_increment,
        Change::RebuildTable { changes, .. } => changes.iter().any(unsupported),
        Change::Unsupported { .. } => true,
        _ => false,
    }
}

/// Whether `change` (or a part of it) alters a column to itself.
fn no_op(change: &Change) -> bool {
    match change {
        Change::AlterColumn { from, to, .. } => from == to,
        Change::RebuildTable { changes, .. } => changes.iter().any(no_op),
        _ => false,
    }
}

proptest! {
    /// What every verdict promises, whatever the change and the numbers: a block
    /// is HIGH and quoted in the reason, destroying data is never SAFE, and the
    /// reason is never empty.
    #[test]
    fn verdicts_are_consistent(change in any_change(), mut facts in any_facts()) {
        let a = assess(&change, &mut facts).unwrap();
        if let Some(why) = &a.blocked {
            prop_assert_eq!(a.risk, RiskLevel::High);
            // A rebuild joins its parts' blocks with "; ".
            for part in why.split("; ") {
                prop_assert!(a.reason.contains(part), "{:?}", a);
            }
        }
        if a.destructive {
            prop_assert!(a.risk >= RiskLevel::Medium);
        }
        // The differ never emits an alteration that changes nothing.
        prop_assert!(!a.reason.is_empty() || no_op(&change), "{:?}", a);
    }

    /// On an empty table nothing is lost and nothing is refused for the data's
    /// sake: only unsupported changes stay blocked, and nothing is backed up.
    #[test]
    fn an_empty_table_loses_nothing(change in any_change(), facts in any_facts()) {
        let mut empty = same_facts_but(&facts, 0);
        let a = assess(&change, &mut empty).unwrap();
        prop_assert!(!a.destructive, "{:?}", a);
        let unsupported = unsupported(&change);
        prop_assert_eq!(a.blocked.is_some(), unsupported, "{:?}", a);
    }

    /// More data never makes a change safer: the verdict on a table with more
    /// rows (the same values otherwise) is at least as risky.
    #[test]
    fn more_rows_never_lower_the_risk(
        change in any_change(),
        facts in any_facts(),
        extra in 0i64..1000,
    ) {
        let mut fewer = facts.clone();
        let mut more = Numbers { rows: facts.rows + extra, ..facts.clone() };
        let before = assess(&change, &mut fewer).unwrap();
        let after = assess(&change, &mut more).unwrap();
        prop_assert!(after.risk >= before.risk, "{:?} then {:?}", before, after);
        prop_assert!(after.blocked.is_some() || before.blocked.is_none());
    }
}
