//! Regular-expression filters with one meaning on every backend.
//!
//! PostgreSQL matches `~` (`~*` ignoring case) with its own engine (Advanced
//! Regular Expressions); SQLite has no engine, so its backend registers
//! `regexp()` built on the `regex` crate ([`PortableRegex`]). The two engines
//! disagree on much: backreferences and lookaround exist on one only, `\b` is
//! a word boundary on one and a backspace on the other, `\d`, `\w` and
//! `[[:alpha:]]` follow the locale on PostgreSQL and Unicode or ASCII in the
//! crate, `.` stops at a newline in the crate only, `\x41B` reads a different
//! number of digits, inline flags differ, and ignoring case follows the
//! locale on PostgreSQL. A filter therefore accepts only the subset on which
//! both agree, checked with the `regex` crate's parser before any SQL is
//! rendered ([`check_regex`]); anything else is `Error::InvalidInput`, never
//! a silent difference.
//!
//! The subset:
//! - literal characters (any but NUL); punctuation escaped with `\` (`\.`,
//!   `\*`, `\\`, `\/`); `\t \n \r \f \v \a`;
//! - `.` (any character, newline included); `^` and `$` (start and end of
//!   the whole text);
//! - bracket classes `[abc]`, `[a-z]`, `[^…]`, holding literals and ranges
//!   only, with `-` literal only first or last;
//! - groups `(…)` and `(?:…)`, alternation `|`;
//! - quantifiers `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` (n, m ≤ 255) and their
//!   lazy forms, applied to an atom, a class or a group (not to another
//!   quantifier or an anchor);
//! - at most [`MAX_REGEX_BYTES`] bytes, expanding to at most
//!   [`MAX_REGEX_UNITS`] atoms once counted repetitions are unrolled.
//!
//! Refused: backreferences, lookaround, `\d \w \s \b \A \z \p{…}` and other
//! letter escapes, `[[:alpha:]]`, hexadecimal and Unicode escapes, inline
//! flags such as `(?i)`, named groups, nested classes and class set
//! operations. Ignoring case (`$options: "i"`) makes ASCII letters match
//! either case and needs an ASCII pattern (other letters' cases follow the
//! locale on PostgreSQL). Matching is a search: the pattern matches anywhere
//! in the text unless anchored. The PostgreSQL database must be UTF-8.

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassSet, ClassSetItem, GroupKind, LiteralKind, RepetitionKind,
    RepetitionRange, SpecialLiteralKind,
};

/// The SQL function `regexp(pattern, text)` a backend without a native
/// operator registers (SQLite's `text REGEXP pattern` calls it): NULL when
/// either side is NULL or the pattern is outside the subset, else whether
/// [`PortableRegex`] matches.
pub const REGEXP_FUNCTION: &str = "regexp";

/// The same as [`REGEXP_FUNCTION`], ignoring ASCII case.
pub const IREGEXP_FUNCTION: &str = "dataflow_iregexp";

/// The longest pattern a filter takes, in bytes.
pub const MAX_REGEX_BYTES: usize = 1024;

/// The most atoms a pattern may stand for once counted repetitions are
/// unrolled (`(ab){100}` is 200): PostgreSQL compiles counted repetitions by
/// copying, and refuses or slows down on large expansions.
pub const MAX_REGEX_UNITS: usize = 10_000;

/// The largest count `{n,m}` takes (PostgreSQL's `DUPMAX`).
pub const MAX_REGEX_COUNT: u32 = 255;

/// How deep groups and classes may nest.
const NEST_LIMIT: u32 = 32;

/// Checks that `pattern` is in the subset every backend reads alike (see the
/// module documentation); `Err` says why not, for an `InvalidInput` message.
pub fn check_regex(pattern: &str, case_insensitive: bool) -> Result<(), String> {
    if pattern.len() > MAX_REGEX_BYTES {
        return Err(format!(
            "regular expression of {} bytes is longer than {MAX_REGEX_BYTES}",
            pattern.len()
        ));
    }
    if pattern.contains('\0') {
        return Err("a regular expression cannot contain NUL".into());
    }
    if case_insensitive && !pattern.is_ascii() {
        return Err(
            "ignoring case needs an ASCII pattern: other letters' cases follow the database's \
             locale on PostgreSQL"
                .into(),
        );
    }
    let parsed = ast::parse::ParserBuilder::new()
        .nest_limit(NEST_LIMIT)
        .build()
        .parse(pattern)
        .map_err(|e| format!("invalid regular expression {pattern:?}: {}", e.kind()))?;
    let units = walk(&parsed)?;
    if units > MAX_REGEX_UNITS {
        return Err(format!(
            "regular expression expands to {units} atoms once counted repetitions are unrolled \
             (at most {MAX_REGEX_UNITS})"
        ));
    }
    Ok(())
}

/// Refuses what the backends read differently; returns the unrolled size.
/// Recursion is bounded by the parser's nest limit.
fn walk(node: &Ast) -> Result<usize, String> {
    Ok(match node {
        Ast::Empty(_) | Ast::Dot(_) => 1,
        Ast::Literal(l) => {
            literal(l)?;
            1
        }
        Ast::Assertion(a) => match a.kind {
            AssertionKind::StartLine | AssertionKind::EndLine => 1,
            _ => {
                return Err(unsupported(
                    a.span.start.offset,
                    "this assertion (use ^ or $)",
                ))
            }
        },
        Ast::Flags(f) => return Err(unsupported(f.span.start.offset, "inline flags")),
        Ast::ClassUnicode(c) => {
            return Err(unsupported(c.span.start.offset, "Unicode classes \\p{…}"))
        }
        Ast::ClassPerl(c) => {
            return Err(unsupported(
                c.span.start.offset,
                "\\d, \\s and \\w (their meaning follows the locale on PostgreSQL; write [0-9])",
            ))
        }
        Ast::ClassBracketed(c) => {
            class(&c.kind)?;
            1
        }
        Ast::Repetition(r) => {
            if matches!(
                *r.ast,
                Ast::Repetition(_) | Ast::Assertion(_) | Ast::Empty(_)
            ) {
                return Err(unsupported(
                    r.op.span.start.offset,
                    "a quantifier on a quantifier, an anchor or nothing (PostgreSQL refuses it)",
                ));
            }
            let factor = match &r.op.kind {
                RepetitionKind::ZeroOrOne
                | RepetitionKind::ZeroOrMore
                | RepetitionKind::OneOrMore => 1,
                RepetitionKind::Range(range) => {
                    // The largest count written, and how many copies the
                    // pattern unrolls to (`{n,}` is n copies and a star).
                    let (largest, copies) = match *range {
                        RepetitionRange::Exactly(n) => (n, n),
                        RepetitionRange::AtLeast(n) => (n, n.saturating_add(1)),
                        RepetitionRange::Bounded(m, n) => (m.max(n), n),
                    };
                    if largest > MAX_REGEX_COUNT {
                        return Err(unsupported(
                            r.op.span.start.offset,
                            &format!("counts above {MAX_REGEX_COUNT}"),
                        ));
                    }
                    copies.max(1) as usize
                }
            };
            walk(&r.ast)?.saturating_mul(factor)
        }
        Ast::Group(g) => {
            match &g.kind {
                GroupKind::CaptureIndex(_) => {}
                GroupKind::NonCapturing(flags) if flags.items.is_empty() => {}
                GroupKind::NonCapturing(_) => {
                    return Err(unsupported(g.span.start.offset, "inline flags"))
                }
                GroupKind::CaptureName { .. } => {
                    return Err(unsupported(g.span.start.offset, "named groups"))
                }
            }
            walk(&g.ast)?
        }
        Ast::Alternation(a) => sum(&a.asts)?,
        Ast::Concat(c) => sum(&c.asts)?,
    })
}

fn sum(items: &[Ast]) -> Result<usize, String> {
    items
        .iter()
        .try_fold(0usize, |n, a| Ok(n.saturating_add(walk(a)?)))
}

fn literal(l: &ast::Literal) -> Result<(), String> {
    match l.kind {
        LiteralKind::Verbatim | LiteralKind::Meta | LiteralKind::Superfluous => Ok(()),
        LiteralKind::Special(SpecialLiteralKind::Space) => {
            Err(unsupported(l.span.start.offset, "this escape"))
        }
        LiteralKind::Special(_) => Ok(()),
        LiteralKind::Octal | LiteralKind::HexFixed(_) | LiteralKind::HexBrace(_) => {
            Err(unsupported(
                l.span.start.offset,
                "numeric escapes (write the character itself)",
            ))
        }
    }
}

fn class(set: &ClassSet) -> Result<(), String> {
    let items = match set {
        ClassSet::BinaryOp(op) => {
            return Err(unsupported(
                op.span.start.offset,
                "class set operations (&&, --, ~~)",
            ))
        }
        ClassSet::Item(ClassSetItem::Union(u)) => &u.items[..],
        ClassSet::Item(item) => std::slice::from_ref(item),
    };
    let last = items.len().saturating_sub(1);
    for (i, item) in items.iter().enumerate() {
        match item {
            ClassSetItem::Empty(_) => {}
            ClassSetItem::Literal(l) => {
                literal(l)?;
                if l.c == '-' && l.kind == LiteralKind::Verbatim && i != 0 && i != last {
                    return Err(unsupported(
                        l.span.start.offset,
                        "a '-' inside a class other than first or last (escape it: \\-)",
                    ));
                }
            }
            ClassSetItem::Range(r) => {
                literal(&r.start)?;
                literal(&r.end)?;
            }
            ClassSetItem::Ascii(a) => {
                return Err(unsupported(
                    a.span.start.offset,
                    "[[:name:]] classes (their meaning follows the locale on PostgreSQL)",
                ))
            }
            ClassSetItem::Unicode(c) => {
                return Err(unsupported(c.span.start.offset, "Unicode classes \\p{…}"))
            }
            ClassSetItem::Perl(c) => {
                return Err(unsupported(
                    c.span.start.offset,
                    "\\d, \\s and \\w (their meaning follows the locale on PostgreSQL)",
                ))
            }
            ClassSetItem::Bracketed(b) => {
                return Err(unsupported(b.span.start.offset, "nested classes"))
            }
            ClassSetItem::Union(u) => class(&ClassSet::Item(ClassSetItem::Union(u.clone())))?,
        }
    }
    Ok(())
}

fn unsupported(offset: usize, what: &str) -> String {
    format!(
        "regular expression uses {what} at byte {offset}, which backends read differently; \
         see the supported subset in the documentation of $regex"
    )
}

/// A pattern of the portable subset compiled with the `regex` crate to the
/// meaning PostgreSQL gives it: what SQLite's `regexp()` runs, and an oracle
/// for tests.
#[derive(Debug, Clone)]
pub struct PortableRegex {
    re: ::regex::Regex,
    case_insensitive: bool,
}

impl PortableRegex {
    /// Checks `pattern` ([`check_regex`]) and compiles it.
    pub fn new(pattern: &str, case_insensitive: bool) -> Result<Self, String> {
        check_regex(pattern, case_insensitive)?;
        let re = ::regex::RegexBuilder::new(pattern)
            // PostgreSQL's `.` and negated classes match a newline; `^`/`$`
            // anchor the whole text on both.
            .dot_matches_new_line(true)
            .case_insensitive(case_insensitive)
            .nest_limit(NEST_LIMIT)
            .build()
            .map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))?;
        Ok(PortableRegex {
            re,
            case_insensitive,
        })
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        // Unicode case folding pairs the Kelvin sign with `k` and the long s
        // with `s`; PostgreSQL pairs ASCII letters with ASCII only. A pattern
        // that ignores case is ASCII, so any other non-ASCII character stands
        // in for these two.
        if self.case_insensitive && text.contains(['\u{212A}', '\u{017F}']) {
            let plain: String = text
                .chars()
                .map(|c| match c {
                    '\u{212A}' | '\u{017F}' => '\u{FFFD}',
                    c => c,
                })
                .collect();
            return self.re.is_match(&plain);
        }
        self.re.is_match(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portable_subset_is_accepted() {
        for p in [
            "",
            "^A",
            "n$",
            "a.c",
            "[abc]",
            "[a-z0-9]",
            "[^a-]",
            "[-a]",
            "[]a]",
            "a|b|",
            "(ab)+",
            "(?:ab)*?",
            "x{3}",
            "x{2,}",
            "x{0,255}",
            "\\.\\*\\\\\\/\\-",
            "\\t\\n",
            "é+ü",
            "[à-ÿ]",
            "日本",
            "(a*)*",
        ] {
            assert_eq!(check_regex(p, false), Ok(()), "{p:?}");
        }
    }

    #[test]
    fn constructs_read_differently_are_refused() {
        for p in [
            "(a)\\1",
            "a(?=b)",
            "\\d",
            "\\w+",
            "\\s",
            "\\bword",
            "\\Aa",
            "[[:alpha:]]",
            "\\pL",
            "\\x41",
            "\\u{41}",
            "(?i)a",
            "(?i:a)",
            "(?P<n>a)",
            "[a[b]]",
            "[a&&b]",
            "[a-c-e]",
            "a**",
            "^*",
            "a{256}",
            "a{1,300}",
            "a{,3}",
            "(.{100}){101}",
            "\\<",
            "a{",
            "\0",
            "(",
        ] {
            assert!(check_regex(p, false).is_err(), "{p:?} accepted");
        }
        assert!(check_regex(&"a".repeat(MAX_REGEX_BYTES + 1), false).is_err());
        assert!(check_regex(&"(".repeat(200), false).is_err());
        assert!(check_regex("é", true).is_err());
        assert!(check_regex("e", true).is_ok());
    }

    #[test]
    fn dot_spans_newlines_and_anchors_hold_the_whole_text() {
        let re = |p| PortableRegex::new(p, false).unwrap();
        assert!(re("a.b").is_match("a\nb"));
        assert!(!re("a$").is_match("a\n"));
        assert!(!re("^b").is_match("a\nb"));
        assert!(re("[^x]").is_match("\n"));
    }

    #[test]
    fn ignoring_case_pairs_ascii_letters_only() {
        let ci = PortableRegex::new("^[a-z]$", true).unwrap();
        assert!(ci.is_match("Q"));
        assert!(!ci.is_match("\u{212A}"), "Kelvin sign");
        assert!(!ci.is_match("\u{017F}"), "long s");
        let not_k = PortableRegex::new("^[^k]$", true).unwrap();
        assert!(not_k.is_match("\u{212A}"));
        assert!(!not_k.is_match("K"));
        // Those two are the only non-ASCII characters Unicode folds onto ASCII
        // letters, so replacing them is enough.
        let letters = ::regex::RegexBuilder::new("[a-zA-Z]")
            .case_insensitive(true)
            .build()
            .unwrap();
        let folded: Vec<char> = (0x80..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| letters.is_match(&c.to_string()))
            .collect();
        assert_eq!(folded, ['\u{017F}', '\u{212A}']);
    }
}
