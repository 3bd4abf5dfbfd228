//! Times repeated parses of each argument (a debugging aid).
fn main() {
    for q in std::env::args().skip(1) {
        let n = 200;
        let t = std::time::Instant::now();
        for _ in 0..n {
            let _ = std::hint::black_box(logql::parse_expr(&q));
        }
        println!("{:?}: {:?}/parse", q, t.elapsed() / n);
    }
}
