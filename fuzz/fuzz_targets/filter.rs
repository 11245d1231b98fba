//! JSON filters: parsing never panics, and every accepted filter renders, on
//! both dialects, to SQL whose every value is bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dataflow_fuzz::filter(data));
