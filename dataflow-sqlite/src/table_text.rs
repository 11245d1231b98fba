//! Reading what SQLite keeps only in a table's `CREATE TABLE` text: column
//! collations and `CHECK` constraints (no pragma reports either). Used when
//! describing a database's details for model generation, never for diffing.

/// One lexical piece of a table definition.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// A bare word or number.
    Word(String),
    /// A quoted name or string (quotes kept).
    Quoted(String),
    /// A parenthesised group (parentheses kept).
    Group(String),
    /// A top-level comma.
    Comma,
}

/// The pieces of `body` at nesting depth 0.
fn pieces(body: &str) -> Vec<Piece> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == ',' {
            out.push(Piece::Comma);
            i += 1;
        } else if matches!(c, '\'' | '"' | '`' | '[') {
            let close = if c == '[' { ']' } else { c };
            let start = i;
            i += 1;
            while i < chars.len() {
                if chars[i] == close {
                    // A doubled quote is one quote character inside.
                    if close != ']' && chars.get(i + 1) == Some(&close) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            out.push(Piece::Quoted(chars[start..i].iter().collect()));
        } else if c == '(' {
            let start = i;
            let mut depth = 0;
            let mut quote: Option<char> = None;
            while i < chars.len() {
                let ch = chars[i];
                match quote {
                    Some(q) if ch == q => quote = None,
                    Some(_) => {}
                    None if matches!(ch, '\'' | '"' | '`') => quote = Some(ch),
                    None if ch == '(' => depth += 1,
                    None if ch == ')' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    None => {}
                }
                i += 1;
            }
            out.push(Piece::Group(chars[start..i].iter().collect()));
        } else {
            let start = i;
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !matches!(chars[i], ',' | '(' | '\'' | '"' | '`' | '[')
            {
                i += 1;
            }
            if i == start {
                i += 1;
            }
            out.push(Piece::Word(chars[start..i].iter().collect()));
        }
    }
    out
}

fn unquote(p: &Piece) -> Option<String> {
    match p {
        Piece::Word(w) => Some(w.clone()),
        Piece::Quoted(q) if q.len() >= 2 => {
            let inner = &q[1..q.len() - 1];
            Some(match q.chars().next() {
                Some('"') => inner.replace("\"\"", "\""),
                Some('`') => inner.replace("``", "`"),
                _ => inner.to_owned(),
            })
        }
        _ => None,
    }
}

fn is_word(p: Option<&Piece>, word: &str) -> bool {
    matches!(p, Some(Piece::Word(w)) if w.eq_ignore_ascii_case(word))
}

/// What a `CREATE TABLE` statement declares beyond the pragmas: each column's
/// collation (column name, collation name) and each `CHECK` constraint's
/// condition (with its parentheses), in order.
pub(crate) fn collations_and_checks(create_table: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut collations = Vec::new();
    let mut checks = Vec::new();
    let Some(Piece::Group(body)) = pieces(create_table)
        .into_iter()
        .find(|p| matches!(p, Piece::Group(_)))
    else {
        return (collations, checks);
    };
    let inner = &body[1..body.len().saturating_sub(1)];
    let all = pieces(inner);
    for def in all.split(|p| *p == Piece::Comma) {
        let Some(first) = def.first() else { continue };
        let constraint = ["CONSTRAINT", "CHECK", "PRIMARY", "UNIQUE", "FOREIGN"]
            .iter()
            .any(|k| is_word(Some(first), k));
        let column = if constraint { None } else { unquote(first) };
        for (i, p) in def.iter().enumerate() {
            if is_word(Some(p), "CHECK") {
                if let Some(Piece::Group(g)) = def.get(i + 1) {
                    checks.push(g.clone());
                }
            }
            if is_word(Some(p), "COLLATE") {
                if let (Some(c), Some(name)) = (&column, def.get(i + 1).and_then(unquote)) {
                    collations.push((c.clone(), name));
                }
            }
        }
    }
    (collations, checks)
}

#[cfg(test)]
mod tests {
    use super::collations_and_checks;

    #[test]
    fn reads_collations_and_checks() {
        let (coll, checks) = collations_and_checks(
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
            coll,
            vec![
                ("Name".to_owned(), "NOCASE".to_owned()),
                ("odd col".to_owned(), "RTRIM".to_owned())
            ]
        );
        assert_eq!(checks, vec!["(status IN ('a', 'b,c'))", "(id > 0)"]);
        assert_eq!(
            collations_and_checks("CREATE TABLE x (a)"),
            (Vec::new(), Vec::new())
        );
    }
}
