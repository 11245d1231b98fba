//! Comparisons give PostgreSQL's answer on every backend: decimals compare and
//! order as numbers (exactly), dates and timestamps are limited to the years
//! 0000–9999 where every backend orders them chronologically, and `LIKE` has one
//! meaning (`\` escapes, a dangling escape is refused).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use dataflow_core::prelude::*;
use rust_decimal::Decimal;

use crate::backends::TestBackend;

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "cmp_prices")]
struct Price {
    id: i64,
    amount: Decimal,
    label: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "cmp_events")]
struct Event {
    id: i64,
    day: NaiveDate,
    at: NaiveDateTime,
    at_tz: DateTime<Utc>,
    o_day: Option<NaiveDate>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "cmp_words")]
struct Word {
    id: i64,
    text: String,
}

fn handle(db: &TestBackend) -> DataFlow {
    let h = db.reopen();
    h.register_all(models![Price, Event, Word]).unwrap();
    h.auto_migrate(MigrateOptions::default()).unwrap();
    h
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn labels(rows: Vec<Price>) -> Vec<String> {
    rows.into_iter().map(|p| p.label).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub fn decimals_compare_and_order_as_numbers(db: &TestBackend) {
    let h = handle(db);
    let amounts = [
        "9.99",
        "10.00",
        "100",
        "1000.5",
        "45",
        "-1",
        "1.10",
        "2",
        "9.5",
        "-10.5",
        "0.0000000000000000000000000001",
        "79228162514264337593543950335",
        "79228162514264337593543950334",
        "-79228162514264337593543950335",
    ];
    let rows: Vec<Price> = amounts
        .iter()
        .map(|a| Price {
            id: 0,
            amount: dec(a),
            label: (*a).to_owned(),
        })
        .collect();
    Price::bulk_create(&h, &rows).unwrap();

    // The expected answers, computed with exact decimal arithmetic.
    let expect = |keep: &dyn Fn(Decimal) -> bool| -> Vec<String> {
        sorted(
            amounts
                .iter()
                .filter(|a| keep(dec(a)))
                .map(|a| (*a).to_owned())
                .collect(),
        )
    };
    let got = |f: Filter<Price>| sorted(labels(Price::list(&h).filter(f).all().unwrap()));
    let fifty = Decimal::from(50);
    assert_eq!(got(Price::AMOUNT.gt(fifty)), expect(&|d| d > fifty));
    assert_eq!(
        got(Price::AMOUNT.ge(dec("10"))),
        expect(&|d| d >= dec("10"))
    );
    assert_eq!(got(Price::AMOUNT.lt(dec("20"))), expect(&|d| d < dec("20")));
    assert_eq!(
        got(Price::AMOUNT.le(dec("9.5"))),
        expect(&|d| d <= dec("9.5"))
    );
    assert_eq!(got(Price::AMOUNT.eq(dec("1.1"))), ["1.10"]);
    assert_eq!(got(Price::AMOUNT.eq(dec("10"))), ["10.00"]);
    assert_eq!(
        got(Price::AMOUNT.ne(dec("10.0"))).len(),
        amounts.len() - 1,
        "ne(10.0) excludes the stored 10.00"
    );
    assert_eq!(
        got(Price::AMOUNT.is_in([dec("1.1"), dec("45.000"), dec("3")])),
        ["1.10", "45"]
    );
    assert_eq!(
        got(Price::AMOUNT.not_in([dec("1.1"), dec("45.000")])).len(),
        amounts.len() - 2
    );
    // Exact: a float would merge these.
    assert_eq!(
        got(Price::AMOUNT.gt(dec("79228162514264337593543950334"))),
        ["79228162514264337593543950335"]
    );
    assert_eq!(
        got(Price::AMOUNT
            .gt(Decimal::ZERO)
            .and(Price::AMOUNT.lt(dec("0.001")))),
        ["0.0000000000000000000000000001"]
    );

    let mut numeric: Vec<&str> = amounts.to_vec();
    numeric.sort_by_key(|a| dec(a));
    let asc = labels(Price::list(&h).order_by(Price::AMOUNT.asc()).all().unwrap());
    assert_eq!(asc, numeric);
    let desc = labels(
        Price::list(&h)
            .order_by(Price::AMOUNT.desc())
            .all()
            .unwrap(),
    );
    numeric.reverse();
    assert_eq!(desc, numeric);

    // bulk_update and bulk_delete select the same rows as the list does.
    let n = Price::bulk_update(
        &h,
        Price::AMOUNT
            .lt(dec("20"))
            .and(Price::AMOUNT.gt(Decimal::ZERO)),
        PricePatch {
            label: Some("small".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(n, 6, "0.0…1, 1.10, 2, 9.5, 9.99, 10.00");
    let small: Vec<Decimal> = Price::list(&h)
        .filter(Price::LABEL.eq("small"))
        .order_by(Price::AMOUNT.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|p| p.amount)
        .collect();
    assert_eq!(
        small,
        [
            "0.0000000000000000000000000001",
            "1.1",
            "2",
            "9.5",
            "9.99",
            "10"
        ]
        .map(dec)
    );
    let n = Price::bulk_delete(&h, Price::AMOUNT.gt(fifty)).unwrap();
    assert_eq!(n, 4, "100, 1000.5 and the two largest");
    assert_eq!(
        Price::list(&h)
            .filter(Price::AMOUNT.gt(fifty))
            .count()
            .unwrap(),
        0
    );
    assert_eq!(
        Price::list(&h)
            .filter(Price::AMOUNT.eq(dec("45")))
            .count()
            .unwrap(),
        1,
        "45 is kept"
    );
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn event(day: NaiveDate) -> Event {
    let at = day.and_hms_micro_opt(12, 0, 0, 0).unwrap();
    Event {
        id: 0,
        day,
        at,
        at_tz: at.and_utc(),
        o_day: None,
    }
}

fn is_invalid_input(r: Result<impl std::fmt::Debug>) -> bool {
    matches!(r, Err(Error::InvalidInput(_)))
}

pub fn dates_outside_years_0000_to_9999_are_refused_before_writing(db: &TestBackend) {
    let h = handle(db);
    let too_late = ymd(10000, 1, 1);
    let too_early = ymd(-1, 12, 31);
    let first = ymd(0, 1, 1);
    let last = ymd(9999, 12, 31);

    // The extremes of the range are stored and order chronologically.
    let last_instant = last.and_hms_micro_opt(23, 59, 59, 999_999).unwrap();
    let first_instant = first.and_hms_micro_opt(0, 0, 0, 0).unwrap();
    let mut edge = event(last);
    edge.at = last_instant;
    edge.at_tz = last_instant.and_utc();
    let mut start = event(first);
    start.at = first_instant;
    start.at_tz = first_instant.and_utc();
    for e in [
        event(ymd(2024, 2, 29)),
        edge.clone(),
        start.clone(),
        event(ymd(1, 1, 1)),
    ] {
        let stored = Event::create(&h, e.clone()).unwrap();
        assert_eq!(
            (stored.day, stored.at, stored.at_tz),
            (e.day, e.at, e.at_tz)
        );
    }
    let days: Vec<NaiveDate> = Event::list(&h)
        .order_by(Event::DAY.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|e| e.day)
        .collect();
    assert_eq!(days, [first, ymd(1, 1, 1), ymd(2024, 2, 29), last]);
    let late = Event::list(&h)
        .filter(Event::DAY.gt(ymd(9000, 1, 1)))
        .all()
        .unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].day, last);
    assert_eq!(
        Event::list(&h)
            .filter(Event::AT.lt(ymd(1, 1, 1).and_hms_opt(0, 0, 0).unwrap()))
            .count()
            .unwrap(),
        1
    );
    assert_eq!(
        Event::list(&h)
            .filter(Event::AT_TZ.ge(last_instant.and_utc()))
            .count()
            .unwrap(),
        1
    );

    // Outside the range: refused on every path, nothing written.
    let before = Event::list(&h).count().unwrap();
    for day in [
        too_late,
        too_early,
        ymd(-4713, 1, 1),
        NaiveDate::MAX,
        NaiveDate::MIN,
    ] {
        assert!(is_invalid_input(Event::create(&h, event(day))), "{day}");
        let mut only_tz = event(ymd(2000, 1, 1));
        only_tz.at_tz = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
        assert!(is_invalid_input(Event::create(&h, only_tz)), "{day}");
        let mut only_ts = event(ymd(2000, 1, 1));
        only_ts.at = day.and_hms_opt(0, 0, 0).unwrap();
        assert!(is_invalid_input(Event::create(&h, only_ts)), "{day}");
        let mut only_opt = event(ymd(2000, 1, 1));
        only_opt.o_day = Some(day);
        assert!(is_invalid_input(Event::create(&h, only_opt)), "{day}");
        assert!(
            is_invalid_input(Event::bulk_create(
                &h,
                &[event(ymd(2000, 1, 1)), event(day)]
            )),
            "{day}"
        );
        assert!(is_invalid_input(Event::upsert(
            &h,
            event(day),
            &[Event::ID]
        )));
        assert!(is_invalid_input(Event::bulk_upsert(
            &h,
            &[event(day)],
            &[Event::ID]
        )));
        let patch = || EventPatch {
            day: Some(day),
            ..Default::default()
        };
        let any = Event::list(&h).first().unwrap().unwrap();
        assert!(is_invalid_input(Event::update(&h, any.id, patch())));
        assert!(is_invalid_input(Event::bulk_update(
            &h,
            Filter::all(),
            patch()
        )));
        // Filters on such values would compare differently: refused too.
        assert!(is_invalid_input(
            Event::list(&h).filter(Event::DAY.lt(day)).all()
        ));
        assert!(is_invalid_input(
            Event::list(&h).filter(Event::O_DAY.is_in([day])).count()
        ));
        assert!(is_invalid_input(Event::bulk_delete(&h, Event::DAY.ne(day))));
    }
    assert_eq!(Event::list(&h).count().unwrap(), before);
    let days_now: Vec<NaiveDate> = Event::list(&h)
        .order_by(Event::DAY.asc())
        .all()
        .unwrap()
        .into_iter()
        .map(|e| e.day)
        .collect();
    assert_eq!(days_now, days, "nothing was changed either");
}

fn words(h: &DataFlow, f: Filter<Word>) -> Result<Vec<String>> {
    let mut v: Vec<String> = Word::list(h)
        .filter(f)
        .all()?
        .into_iter()
        .map(|w| w.text)
        .collect();
    v.sort();
    Ok(v)
}

pub fn like_has_one_meaning_with_backslash_escapes(db: &TestBackend) {
    let h = handle(db);
    let texts = [
        "50%", "50x", "50\\x", "a\\", "a_b", "axb", "a\\b", "100%", "%", "_", "\\", "",
    ];
    let rows: Vec<Word> = texts
        .iter()
        .map(|t| Word {
            id: 0,
            text: (*t).to_owned(),
        })
        .collect();
    Word::bulk_create(&h, &rows).unwrap();
    let w = |f| words(&h, f).unwrap();
    // `\` makes the next character literal; it is the escape on every backend.
    assert_eq!(w(Word::TEXT.like("50\\%")), ["50%"]);
    assert_eq!(w(Word::TEXT.like("50%")), ["50%", "50\\x", "50x"]);
    assert_eq!(w(Word::TEXT.like("a\\_b")), ["a_b"]);
    assert_eq!(w(Word::TEXT.like("a_b")), ["a\\b", "a_b", "axb"]);
    assert_eq!(w(Word::TEXT.like("a\\\\")), ["a\\"]);
    assert_eq!(w(Word::TEXT.like("50\\\\x")), ["50\\x"]);
    assert_eq!(w(Word::TEXT.like("\\a\\\\\\b")), ["a\\b"], "\\a is a");
    assert_eq!(w(Word::TEXT.like("%\\%")), ["%", "100%", "50%"]);
    // A pattern ending in a lone escape has no meaning: refused everywhere.
    for bad in ["a\\", "\\", "50\\\\\\"] {
        let err = words(&h, Word::TEXT.like(bad)).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad:?}: {err:?}");
        assert!(matches!(
            Word::bulk_delete(&h, Word::TEXT.like(bad)),
            Err(Error::InvalidInput(_))
        ));
    }
    assert_eq!(Word::list(&h).count().unwrap(), texts.len() as i64);

    // contains / starts_with / ends_with take text, not patterns.
    assert_eq!(w(Word::TEXT.contains("%")), ["%", "100%", "50%"]);
    assert_eq!(w(Word::TEXT.contains("_")), ["_", "a_b"]);
    assert_eq!(w(Word::TEXT.contains("\\")), ["50\\x", "\\", "a\\", "a\\b"]);
    assert_eq!(w(Word::TEXT.starts_with("a\\")), ["a\\", "a\\b"]);
    assert_eq!(w(Word::TEXT.starts_with("50")), ["50%", "50\\x", "50x"]);
    assert_eq!(w(Word::TEXT.ends_with("_b")), ["a_b"]);
    assert_eq!(w(Word::TEXT.ends_with("%")), ["%", "100%", "50%"]);
    assert_eq!(w(Word::TEXT.contains("")).len(), texts.len());
    assert_eq!(
        w(Word::TEXT.contains("A")),
        Vec::<String>::new(),
        "case-sensitive"
    );
    assert_eq!(
        Word::bulk_delete(&h, Word::TEXT.starts_with("50").not()).unwrap(),
        texts.len() - 3
    );
}

pub fn nulls_sort_last_ascending_and_first_descending(db: &TestBackend) {
    let h = handle(db);
    for day in [Some(ymd(2000, 1, 1)), None, Some(ymd(1999, 1, 1))] {
        Event::create(
            &h,
            Event {
                o_day: day,
                ..event(ymd(2020, 1, 1))
            },
        )
        .unwrap();
    }
    let order = |o: Order<Event>| -> Vec<Option<NaiveDate>> {
        Event::list(&h)
            .order_by(o)
            .all()
            .unwrap()
            .into_iter()
            .map(|e| e.o_day)
            .collect()
    };
    assert_eq!(
        order(Event::O_DAY.asc()),
        [Some(ymd(1999, 1, 1)), Some(ymd(2000, 1, 1)), None]
    );
    assert_eq!(
        order(Event::O_DAY.desc()),
        [None, Some(ymd(2000, 1, 1)), Some(ymd(1999, 1, 1))]
    );
}
