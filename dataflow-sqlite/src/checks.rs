//! Reading enum columns' `CHECK`s back from the `CREATE TABLE` text SQLite
//! keeps verbatim (it has no pragma for checks).
//!
//! A check is an enum check when it has the shape and the name dataflow
//! writes, `CONSTRAINT "ck_<column>" CHECK (<column> IN ('a', 'b', …))`; any
//! other check (one written by hand, `CHECK (x IN ('a'))` included) is not
//! dataflow's and is left alone. The name is derived from the column alone,
//! so a renamed table keeps it right; SQLite does not rename it with its
//! column, so renaming an enum column rebuilds the table (see `rebuild`).

use dataflow_core::migrate::dialect::enum_check_name;

/// One token of SQL text.
#[derive(Debug, PartialEq)]
enum Token {
    /// A bare or quoted identifier (quotes removed), or a keyword.
    Word { text: String, quoted: bool },
    /// A string literal (quotes removed).
    Str(String),
    /// Any other character.
    Punct(char),
}

/// Splits SQL into tokens; `None` for an unterminated quote.
fn tokens(sql: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let mut text = String::new();
                loop {
                    match chars.next()? {
                        ch if ch == close => {
                            // A doubled quote is the quote itself.
                            if close != ']' && chars.peek() == Some(&close) {
                                chars.next();
                                text.push(close);
                            } else {
                                break;
                            }
                        }
                        ch => text.push(ch),
                    }
                }
                out.push(if c == '\'' {
                    Token::Str(text)
                } else {
                    Token::Word { text, quoted: true }
                });
            }
            '-' if chars.peek() == Some(&'-') => {
                for ch in chars.by_ref() {
                    if ch == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for ch in chars.by_ref() {
                    if prev == '*' && ch == '/' {
                        break;
                    }
                    prev = ch;
                }
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut text = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' || n == '$' {
                        text.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word {
                    text,
                    quoted: false,
                });
            }
            other => out.push(Token::Punct(other)),
        }
    }
    Some(out)
}

fn keyword(t: Option<&Token>, word: &str) -> bool {
    matches!(t, Some(Token::Word { text, quoted: false }) if text.eq_ignore_ascii_case(word))
}

fn punct(t: Option<&Token>, c: char) -> bool {
    matches!(t, Some(Token::Punct(p)) if *p == c)
}

/// Every `CONSTRAINT "ck_<column>" CHECK (<column> IN ('a', …))` of a
/// `CREATE TABLE` statement, as (column, values in the order written).
pub(crate) fn enum_checks(create_table: &str) -> Vec<(String, Vec<String>)> {
    let Some(t) = tokens(create_table) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..t.len() {
        if i < 2 || !keyword(t.get(i), "CHECK") || !punct(t.get(i + 1), '(') {
            continue;
        }
        let Some(Token::Word { text: column, .. }) = t.get(i + 2) else {
            continue;
        };
        let named = keyword(t.get(i - 2), "CONSTRAINT")
            && matches!(t.get(i - 1), Some(Token::Word { text, .. }) if *text == enum_check_name(column));
        if !named {
            continue;
        }
        if !keyword(t.get(i + 3), "IN") || !punct(t.get(i + 4), '(') {
            continue;
        }
        let mut values = Vec::new();
        let mut j = i + 5;
        let closed = loop {
            let Some(Token::Str(v)) = t.get(j) else {
                break false;
            };
            values.push(v.clone());
            j += 1;
            if punct(t.get(j), ',') {
                j += 1;
            } else {
                break punct(t.get(j), ')') && punct(t.get(j + 1), ')');
            }
        };
        if closed {
            out.push((column.clone(), values));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::enum_checks;

    #[test]
    fn reads_checks_of_dataflow_shape_only() {
        let sql = r#"CREATE TABLE "issues" ("id" INTEGER PRIMARY KEY AUTOINCREMENT,
            "status" TEXT NOT NULL DEFAULT 'open' CONSTRAINT "ck_status" CHECK ("status" IN ('open', 'it''s', 'check (x in (''y''))')),
            -- CONSTRAINT ck_c CHECK (c IN ('no'))
            kind TEXT CONSTRAINT ck_kind CHECK (kind IN ('a')),
            "hand" TEXT CHECK ("hand" IN ('a')),
            "other" TEXT CONSTRAINT "ck_hand" CHECK ("other" IN ('a')),
            "n" INTEGER CONSTRAINT "ck_n" CHECK ("n" > 0),
            "m" TEXT CONSTRAINT "ck_m" CHECK ("m" IN ('a', upper('b'))))"#;
        assert_eq!(
            enum_checks(sql),
            vec![
                (
                    "status".to_owned(),
                    vec!["open".into(), "it's".into(), "check (x in ('y'))".into()]
                ),
                ("kind".to_owned(), vec!["a".into()]),
            ]
        );
        assert_eq!(
            enum_checks("CREATE TABLE t (a TEXT CHECK (a IN ('x"),
            vec![]
        );
    }
    proptest::proptest! {
        /// Whatever the column's name and values, the check the dialect
        /// writes reads back as the values written, in order.
        #[test]
        fn the_dialects_check_reads_back(
            column in "[^\\x00]{1,12}",
            values in proptest::collection::vec("[^\\x00]{0,12}", 1..5),
            nullable: bool,
        ) {
            use dataflow_core::migrate::schema::{Column, SchemaDefault};
            use dataflow_core::{LogicalType, QueryDialect, SchemaDialect};
            let d = &crate::dialect::SQLITE;
            let col = Column {
                name: column.clone(),
                ty: LogicalType::Text,
                nullable,
                max_length: None,
                default: Some(SchemaDefault::Text(values[0].clone())),
                auto_increment: false,
                enum_values: Some(values.clone()),
                collation: None,
            };
            let mut sql = String::from("CREATE TABLE ");
            d.quote_ident("t", &mut sql);
            sql.push_str(" (\"id\" INTEGER PRIMARY KEY, ");
            d.column_definition(&col, false, &mut sql);
            sql.push(')');
            proptest::prop_assert_eq!(enum_checks(&sql), vec![(column, values)]);
        }
    }
}
