//! Reading what SQLite keeps only in a table's `CREATE TABLE` text: column
//! collations and `CHECK` constraints (no pragma reports either).
//!
//! Written by hand rather than with a SQL parser crate: the migration needs
//! each check's condition as the very text SQLite stores (it is compared with
//! the model's and written back by a table rebuild), and a parser gives an
//! AST that it prints back in its own spelling, without comments. What is
//! needed is lexical — quotes of four kinds, comments, nesting parentheses,
//! top-level commas — and is tested below on the shapes that break naive
//! splitting.

/// One lexical piece of a table definition.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// A bare word or number.
    Word(String),
    /// A quoted name or string (quotes kept).
    Quoted(String),
    /// A parenthesised group, as written (parentheses and comments kept).
    Group(String),
    /// A top-level comma.
    Comma,
}

/// The end (exclusive) of the quoted text starting at `chars[start]`, whose
/// closing quote is `close` (a doubled one is the character itself);
/// `chars.len()` when unterminated.
fn quoted_end(chars: &[char], start: usize, close: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == close {
            if close != ']' && chars.get(i + 1) == Some(&close) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// The end (exclusive) of the comment starting at `chars[i]`, if one does.
fn comment_end(chars: &[char], i: usize) -> Option<usize> {
    match (chars[i], chars.get(i + 1)) {
        ('-', Some('-')) => Some(
            (i + 2..chars.len())
                .find(|&j| chars[j] == '\n')
                .map_or(chars.len(), |j| j + 1),
        ),
        ('/', Some('*')) => Some(
            (i + 2..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                .map_or(chars.len(), |j| j + 2),
        ),
        _ => None,
    }
}

fn closing(c: char) -> Option<char> {
    match c {
        '\'' | '"' | '`' => Some(c),
        '[' => Some(']'),
        _ => None,
    }
}

/// The pieces of `body` at nesting depth 0 (comments outside groups dropped).
fn pieces(body: &str) -> Vec<Piece> {
    let chars: Vec<char> = body.chars().collect();
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if let Some(end) = comment_end(&chars, i) {
            i = end;
        } else if c == ',' {
            out.push(Piece::Comma);
            i += 1;
        } else if let Some(close) = closing(c) {
            let end = quoted_end(&chars, i, close);
            out.push(Piece::Quoted(text(i, end)));
            i = end;
        } else if c == '(' {
            let start = i;
            let mut depth = 0;
            while i < chars.len() {
                let ch = chars[i];
                if let Some(close) = closing(ch) {
                    i = quoted_end(&chars, i, close);
                    continue;
                }
                if let Some(end) = comment_end(&chars, i) {
                    i = end;
                    continue;
                }
                i += 1;
                if ch == '(' {
                    depth += 1;
                } else if ch == ')' {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
            }
            out.push(Piece::Group(text(start, i)));
        } else {
            // A name, keyword or number; any other character is a word of
            // its own (`price>0` is three words).
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            if i == start {
                i += 1;
            }
            out.push(Piece::Word(text(start, i)));
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn unquote(p: &Piece) -> Option<String> {
    match p {
        Piece::Word(w) => Some(w.clone()),
        Piece::Quoted(q) if q.len() >= 2 && !q.starts_with('\'') => {
            let inner = &q[1..q.len() - 1];
            Some(match q.chars().next() {
                Some('"') => inner.replace("\"\"", "\""),
                Some('`') => inner.replace("``", "`"),
                _ => inner.to_owned(),
            })
        }
        // A string literal as a name: SQLite accepts it where a name must be.
        Piece::Quoted(q) if q.len() >= 2 => Some(q[1..q.len() - 1].replace("''", "'")),
        _ => None,
    }
}

fn is_word(p: Option<&Piece>, word: &str) -> bool {
    matches!(p, Some(Piece::Word(w)) if w.eq_ignore_ascii_case(word))
}

/// A `CHECK` constraint as a `CREATE TABLE` statement writes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WrittenCheck {
    /// The name after `CONSTRAINT`, if it has one.
    pub name: Option<String>,
    /// The condition, as written between the parentheses after `CHECK`.
    pub expr: String,
}

/// What a `CREATE TABLE` statement declares beyond the pragmas.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TableText {
    /// Each column's collation: (column name, collation name), in order.
    pub collations: Vec<(String, String)>,
    /// Each `CHECK`, of a column or of the table, in order.
    pub checks: Vec<WrittenCheck>,
}

/// Reads the collations and checks of a `CREATE TABLE` statement.
pub(crate) fn table_text(create_table: &str) -> TableText {
    let mut out = TableText::default();
    let Some(Piece::Group(body)) = pieces(create_table)
        .into_iter()
        .find(|p| matches!(p, Piece::Group(_)))
    else {
        return out;
    };
    let inner = &body[1..body.len().saturating_sub(1)];
    let all = pieces(inner);
    for def in all.split(|p| *p == Piece::Comma) {
        let Some(first) = def.first() else { continue };
        let constraint = ["CONSTRAINT", "CHECK", "PRIMARY", "UNIQUE", "FOREIGN"]
            .iter()
            .any(|k| is_word(Some(first), k));
        let column = if constraint { None } else { unquote(first) };
        // A column's type may be a word that reads like a keyword (`TEXT
        // CHECK`, never), so words are looked at from the second on.
        let from = usize::from(column.is_some());
        for (i, p) in def.iter().enumerate().skip(from) {
            if is_word(Some(p), "CHECK") {
                if let Some(Piece::Group(g)) = def.get(i + 1) {
                    let name = (i >= 2 && is_word(def.get(i - 2), "CONSTRAINT"))
                        .then(|| def.get(i - 1).and_then(unquote))
                        .flatten();
                    out.checks.push(WrittenCheck {
                        name,
                        expr: g[1..g.len() - 1].to_owned(),
                    });
                }
            }
            if is_word(Some(p), "COLLATE") {
                if let (Some(c), Some(name)) = (&column, def.get(i + 1).and_then(unquote)) {
                    out.collations.push((c.clone(), name));
                }
            }
        }
    }
    out
}

/// The names a condition mentions: its bare words and quoted names, string
/// literals and comments left out (to tell which columns it reads).
pub(crate) fn names_in(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![expr.to_owned()];
    while let Some(text) = stack.pop() {
        for p in pieces(&text) {
            match &p {
                Piece::Group(g) => stack.push(g[1..g.len() - 1].to_owned()),
                Piece::Word(w) if w.starts_with(|c: char| c.is_alphabetic() || c == '_') => {
                    out.push(w.clone())
                }
                Piece::Quoted(q) if !q.starts_with('\'') => out.extend(unquote(&p)),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: Option<&str>, expr: &str) -> WrittenCheck {
        WrittenCheck {
            name: name.map(str::to_owned),
            expr: expr.to_owned(),
        }
    }

    #[test]
    fn reads_collations_and_checks() {
        let t = table_text(
            r#"CREATE TABLE "t" (
                id INTEGER PRIMARY KEY,
                "Name" TEXT COLLATE NOCASE NOT NULL,
                status TEXT CHECK (status IN ('a', 'b,c')) DEFAULT 'a',
                [odd col] TEXT COLLATE "RTRIM",
                CONSTRAINT positive CHECK (id > 0),
                UNIQUE (status, "Name")
            )"#,
        );
        assert_eq!(
            t.collations,
            vec![
                ("Name".to_owned(), "NOCASE".to_owned()),
                ("odd col".to_owned(), "RTRIM".to_owned())
            ]
        );
        assert_eq!(
            t.checks,
            vec![
                check(None, "status IN ('a', 'b,c')"),
                check(Some("positive"), "id > 0")
            ]
        );
        assert_eq!(table_text("CREATE TABLE x (a)"), TableText::default());
    }

    #[test]
    fn quotes_comments_and_nesting_do_not_split_or_end_a_check() {
        let t = table_text(
            "CREATE TABLE t (\n\
             a TEXT, -- a comment with CHECK (x) and a quote ' and a paren )\n\
             /* CONSTRAINT fake CHECK (1) */\n\
             b INTEGER CONSTRAINT \"b ok\" CHECK ((b > 0) AND (b < 10 /* ) */)),\n\
             c TEXT CHECK (c <> ')' AND c <> '--' AND \"c\" <> 'it''s, (x'),\n\
             CONSTRAINT [all] CHECK (length(a) > length(c) -- why )\n\
             ),\n\
             CHECK (coalesce(b, 0) >= 0) COLLATE\n\
             )",
        );
        assert_eq!(
            t.checks,
            vec![
                check(Some("b ok"), "(b > 0) AND (b < 10 /* ) */)"),
                check(None, "c <> ')' AND c <> '--' AND \"c\" <> 'it''s, (x'"),
                check(Some("all"), "length(a) > length(c) -- why )\n"),
                check(None, "coalesce(b, 0) >= 0"),
            ]
        );
        assert!(t.collations.is_empty());
    }

    #[test]
    fn names_in_a_condition_leave_literals_out() {
        assert_eq!(
            names_in("length(\"Name\") > 0 AND status IN ('price', 'x') -- price"),
            ["length", "AND", "status", "IN", "Name"]
        );
    }
}
