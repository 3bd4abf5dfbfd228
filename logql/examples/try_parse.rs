//! Prints the parse result of each argument (a debugging aid).
fn main() {
    for q in std::env::args().skip(1) {
        let t = std::time::Instant::now();
        let r = logql::parse_expr(&q);
        let el = t.elapsed();
        match r {
            Ok(e) if std::env::var("BRIEF").is_ok() => {
                println!("OK ({el:?}) {} bytes", e.to_string().len())
            }
            Ok(e) => println!("OK {:?} ({el:?})\n  {e:?}", q),
            Err(e) => println!("ERR {:?} ({el:?})\n  {e}", q),
        }
    }
}
