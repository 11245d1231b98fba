//! Comparing SQL-expression defaults (`default_sql`, [`SchemaDefault::Sql`])
//! with the text a database reports for them.
//!
//! SQLite keeps a default's text as it was written; PostgreSQL stores the
//! parsed expression and prints it back its own way: casts added to literals
//! (`lower('X')` comes back `lower('X'::text)`), typed literals turned into
//! casts (`interval '1 day'` into `'1 day'::interval`), parentheses around an
//! operator expression, keywords in upper case. A model's text and the live
//! text are equal defaults when their [normal forms](normalize_default_sql)
//! are equal; when they still differ the default is taken as changed, and the
//! plan sets the model's (a SAFE step). The normal form is for comparing only:
//! DDL always carries the author's text.
//!
//! [`SchemaDefault::Sql`]: crate::migrate::schema::SchemaDefault::Sql

/// Words that continue a multi-word type name after `::` (`character
/// varying`, `double precision`, `timestamp with time zone`).
const TYPE_CONTINUATIONS: &[&str] = &["varying", "precision", "with", "without", "time", "zone"];

/// Type names written before a quoted literal (`interval '1 day'`), which
/// PostgreSQL prints as a cast after it.
const TYPED_LITERALS: &[&str] = &[
    "bigint",
    "bool",
    "boolean",
    "bytea",
    "char",
    "date",
    "decimal",
    "int",
    "integer",
    "interval",
    "json",
    "jsonb",
    "numeric",
    "real",
    "smallint",
    "text",
    "time",
    "timestamp",
    "timestamptz",
    "uuid",
    "varchar",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An identifier, keyword or number, lower-cased.
    Word(String),
    /// A `'…'` literal, verbatim.
    Literal(String),
    /// A `"…"` identifier, verbatim.
    Quoted(String),
    /// Any other character.
    Punct(char),
}

impl Token {
    fn is_wordlike(&self) -> bool {
        matches!(self, Token::Word(_) | Token::Quoted(_))
    }
}

fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // The text up to and including the closing `quote` (a doubled quote
    // stays inside); an unterminated one runs to the end.
    let quoted = |i: &mut usize, quote: char| {
        let start = *i;
        *i += 1;
        while *i < chars.len() {
            if chars[*i] == quote {
                if chars.get(*i + 1) == Some(&quote) {
                    *i += 2;
                    continue;
                }
                *i += 1;
                break;
            }
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            out.push(Token::Literal(quoted(&mut i, '\'')));
        } else if c == '"' {
            out.push(Token::Quoted(quoted(&mut i, '"')));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(Token::Word(word.to_ascii_lowercase()));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// Skips the type name of a cast starting at `i` (after `::`): a possibly
/// qualified name, the words of a multi-word type, a `(…)` modifier and
/// `[]` suffixes. Returns the index after it.
fn skip_type(t: &[Token], mut i: usize) -> usize {
    if matches!(t.get(i), Some(Token::Word(_) | Token::Quoted(_))) {
        i += 1;
        while matches!(t.get(i), Some(Token::Punct('.')))
            && matches!(t.get(i + 1), Some(Token::Word(_) | Token::Quoted(_)))
        {
            i += 2;
        }
    }
    while matches!(t.get(i), Some(Token::Word(w)) if TYPE_CONTINUATIONS.contains(&w.as_str())) {
        i += 1;
    }
    if matches!(t.get(i), Some(Token::Punct('('))) {
        let mut depth = 0usize;
        while let Some(tok) = t.get(i) {
            i += 1;
            match tok {
                Token::Punct('(') => depth += 1,
                Token::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    while matches!(t.get(i), Some(Token::Punct('[')))
        && matches!(t.get(i + 1), Some(Token::Punct(']')))
    {
        i += 2;
    }
    i
}

/// Whether `t[0]` is a `(` whose matching `)` is the last token.
fn wrapped(t: &[Token]) -> bool {
    if !matches!(t.first(), Some(Token::Punct('('))) {
        return false;
    }
    let mut depth = 0usize;
    for (i, tok) in t.iter().enumerate() {
        match tok {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i == t.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// The form two SQL defaults are compared in: whitespace between tokens
/// dropped (one space kept between two words), identifiers and keywords
/// lower-cased outside quotes, `::type` casts and the type word of a typed
/// literal (`interval '1 day'`) removed, redundant outer parentheses removed.
/// Quoted literals and identifiers are kept exactly. Idempotent.
///
/// Removing casts equates defaults that differ only in a cast (`'1'::int` and
/// `'1'::text`): such a change is not planned, which is the price of not
/// showing PostgreSQL's added casts as drift.
pub fn normalize_default_sql(sql: &str) -> String {
    let all = tokens(sql);
    let mut kept: Vec<Token> = Vec::with_capacity(all.len());
    let mut i = 0;
    while i < all.len() {
        match &all[i] {
            Token::Punct(':') if all.get(i + 1) == Some(&Token::Punct(':')) => {
                i = skip_type(&all, i + 2);
                continue;
            }
            Token::Literal(_) => {
                while matches!(kept.last(), Some(Token::Word(w)) if TYPED_LITERALS.contains(&w.as_str()))
                {
                    kept.pop();
                }
            }
            _ => {}
        }
        kept.push(all[i].clone());
        i += 1;
    }
    let mut t: &[Token] = &kept;
    while wrapped(t) {
        t = &t[1..t.len() - 1];
    }
    let mut out = String::new();
    for (i, tok) in t.iter().enumerate() {
        if i > 0 && tok.is_wordlike() && t[i - 1].is_wordlike() {
            out.push(' ');
        }
        match tok {
            Token::Word(s) | Token::Literal(s) | Token::Quoted(s) => out.push_str(s),
            Token::Punct(c) => out.push(*c),
        }
    }
    out
}

/// `sql` as the value of a `DEFAULT` clause: in parentheses, which every
/// dialect takes around any expression (SQLite takes nothing else but a
/// literal), unless it already is in one pair.
pub fn default_clause(sql: &str) -> String {
    let sql = sql.trim();
    if wrapped(&tokens(sql)) {
        sql.to_owned()
    } else {
        format!("({sql})")
    }
}

/// The text of `sql` when it is one whole `'…'` literal (doubled quotes
/// read as one); `None` for anything else (`'a' || 'b'` included).
pub fn quoted_literal(sql: &str) -> Option<String> {
    let inner = sql.strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.replace("''", "").contains('\'')).then(|| inner.replace("''", "'"))
}

/// Whether two SQL defaults are the same default (equal normal forms).
pub fn same_default_sql(a: &str, b: &str) -> bool {
    a == b || normalize_default_sql(a) == normalize_default_sql(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn postgres_reprints_compare_equal() {
        for (written, printed) in [
            ("lower('X')", "lower('X'::text)"),
            ("now() + interval '1 day'", "(now() + '1 day'::interval)"),
            ("now() + '1 day'::interval", "(now() + '1 day'::interval)"),
            ("gen_random_uuid()", "gen_random_uuid()"),
            ("current_date", "CURRENT_DATE"),
            ("nextval('s')", "nextval('s'::regclass)"),
            ("'a'::character varying", "'a'::character varying(10)"),
            (
                "'2020-01-01 00:00'::timestamp with time zone",
                "'2020-01-01 00:00'",
            ),
            ("(strftime('%s','now'))", "strftime( '%s' , 'now' )"),
            ("((randomblob(16)))", "randomblob(16)"),
            ("ARRAY[1, 2]::int[]", "array[1,2]"),
        ] {
            assert!(
                same_default_sql(written, printed),
                "{written} / {printed}: {} vs {}",
                normalize_default_sql(written),
                normalize_default_sql(printed)
            );
        }
    }

    #[test]
    fn different_defaults_stay_different() {
        for (a, b) in [
            ("lower('X')", "lower('x')"),
            ("upper('X')", "lower('X')"),
            ("now() + interval '1 day'", "now() + interval '2 days'"),
            ("(a) + (b)", "a + b)"),
            ("\"Col\"", "\"col\""),
            ("1 + 2", "12"),
            ("'a  b'", "'a b'"),
        ] {
            assert!(!same_default_sql(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn default_clause_parenthesizes_once() {
        assert_eq!(default_clause("gen_random_uuid()"), "(gen_random_uuid())");
        assert_eq!(
            default_clause(" (strftime('%s','now')) "),
            "(strftime('%s','now'))"
        );
        assert_eq!(default_clause("(a) + (b)"), "((a) + (b))");
        assert_eq!(default_clause("')'"), "(')')");
    }

    #[test]
    fn whole_literals_only() {
        assert_eq!(quoted_literal("'it''s'").as_deref(), Some("it's"));
        assert_eq!(quoted_literal("''").as_deref(), Some(""));
        assert_eq!(quoted_literal("'a' || 'b'"), None);
        assert_eq!(quoted_literal("'"), None);
        assert_eq!(quoted_literal("lower('X')"), None);
    }

    #[test]
    fn keeps_words_apart_and_quotes_whole() {
        assert_eq!(normalize_default_sql("  A  IS NOT  NULL "), "a is not null");
        assert_eq!(normalize_default_sql("'It''s'  ||  'X'"), "'It''s'||'X'");
        assert_eq!(normalize_default_sql("(a) + (b)"), "(a)+(b)");
        assert_eq!(normalize_default_sql("'open"), "'open");
    }

    /// Tokens of small default expressions, joined by arbitrary whitespace.
    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "now",
            "(",
            ")",
            "+",
            "'1 day'",
            "::",
            "interval",
            "lower",
            "'X'",
            "CURRENT_DATE",
            ",",
            "\"Name\"",
            "nextval",
            "text",
            "1",
            "||",
            "'it''s'",
        ])
    }

    fn whitespace() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec![" ", "\n", "\t", "  "]), 1..3)
            .prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn idempotent(s in "[ -~]{0,40}") {
            let once = normalize_default_sql(&s);
            prop_assert_eq!(normalize_default_sql(&once), once);
        }

        #[test]
        fn idempotent_on_sql_shapes(parts in prop::collection::vec(token(), 0..12)) {
            let s = parts.join(" ");
            let once = normalize_default_sql(&s);
            prop_assert_eq!(normalize_default_sql(&once), once);
        }

        #[test]
        fn whitespace_insensitive(
            parts in prop::collection::vec((token(), whitespace()), 1..12),
        ) {
            let single: Vec<&str> = parts.iter().map(|(t, _)| *t).collect();
            let spread: String = parts.iter().map(|(t, w)| format!("{t}{w}")).collect();
            prop_assert_eq!(
                normalize_default_sql(&single.join(" ")),
                normalize_default_sql(&format!("{}{spread}", parts[0].1))
            );
        }

        #[test]
        fn case_insensitive_outside_quotes(parts in prop::collection::vec(token(), 1..12)) {
            let s = parts.join(" ");
            let upper: Vec<String> = parts
                .iter()
                .map(|t| if t.starts_with(['\'', '"']) { (*t).to_owned() } else { t.to_uppercase() })
                .collect();
            prop_assert_eq!(normalize_default_sql(&s), normalize_default_sql(&upper.join(" ")));
        }

        #[test]
        fn outer_parentheses_are_redundant(name in "[a-z_]{1,8}", arg in "'[a-z ]{0,6}'") {
            let call = format!("{name}({arg})");
            prop_assert_eq!(
                normalize_default_sql(&format!("(({call}))")),
                normalize_default_sql(&call)
            );
        }
    }
}
