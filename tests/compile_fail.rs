//! Compile-time guarantees of `#[derive(Model)]` and the typed query API: every
//! program in `tests/ui/` must fail to compile with exactly the diagnostics in
//! its `.stderr` file (regenerate with `TRYBUILD=overwrite`), and the programs in
//! `tests/ui/pass/` (the same features used correctly) must compile and run.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
