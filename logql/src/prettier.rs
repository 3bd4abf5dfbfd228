//! `format_query`: Loki's `syntax.Prettify`, the multi-line form that
//! `/loki/api/v1/format_query` returns.
//!
//! An expression whose one-line `String()` form fits in 100 bytes stays on one line
//! (indented by its depth); a longer one is split: pipeline stages one per line,
//! aggregation arguments on their own lines, binary operands around the operator.
//! Loki's quirks are kept: a split line-filter chain prints only the first alternative
//! of an `or`, `decolorize` is never indented, a split log range writes ` [5m]`.

use crate::ast::{
    Expr, LineFilter, LogExpr, LogRange, MetricExpr, Stage, Unwrap, UnwrapConv, VectorOp,
};
use crate::printer::{bin_op_text_pretty, quote};
use crate::units;
use crate::validate::{range_op_name, vector_op_name};

const MAX_CHARS_PER_LINE: usize = 100;

fn indent(level: usize) -> String {
    "  ".repeat(level)
}

fn need_split(s: &str) -> bool {
    s.len() > MAX_CHARS_PER_LINE
}

/// Prettifies a whole query.
pub fn prettify(e: &Expr) -> String {
    match e {
        Expr::Log(l) => log_expr(l, 0),
        Expr::Metric(m) => metric(m, 0),
    }
}

/// Groups consecutive line filters into one chain, as Loki's parser does.
enum Piece<'a> {
    Filters(Vec<&'a LineFilter>),
    Other(&'a Stage),
}

fn pieces(stages: &[Stage]) -> Vec<Piece<'_>> {
    let mut out: Vec<Piece<'_>> = Vec::new();
    for s in stages {
        match s {
            Stage::LineFilter(f) => match out.last_mut() {
                Some(Piece::Filters(v)) => v.push(f),
                _ => out.push(Piece::Filters(vec![f])),
            },
            other => out.push(Piece::Other(other)),
        }
    }
    out
}

fn log_expr(l: &LogExpr, level: usize) -> String {
    let one_line = l.to_string();
    if l.pipeline.is_empty() || !need_split(&one_line) {
        return indent(level) + &one_line;
    }
    let mut sel = String::new();
    let _ = crate::printer::write_selector(&mut sel, &l.selector);
    let mut s = indent(level) + &sel + "\n";
    let ps = pieces(&l.pipeline);
    for (i, p) in ps.iter().enumerate() {
        match p {
            Piece::Filters(fs) => s += &filter_chain(fs, level + 1),
            Piece::Other(Stage::Decolorize) => s += "| decolorize",
            Piece::Other(st) => {
                s += &indent(level + 1);
                s += &st.to_string();
            }
        }
        if i + 1 < ps.len() {
            s.push('\n');
        }
    }
    s
}

fn filter_chain(fs: &[&LineFilter], level: usize) -> String {
    let one_line = fs
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    if !need_split(&one_line) {
        return indent(level) + &one_line;
    }
    fs.iter()
        .map(|f| {
            // Loki re-prints each filter without its `or` alternatives.
            let first = LineFilter {
                op: f.op,
                values: f.values.iter().take(1).cloned().collect(),
            };
            indent(level) + &first.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn unwrap(u: &Unwrap, level: usize) -> String {
    let mut s = indent(level);
    match u.conv {
        UnwrapConv::None => s += &format!("| unwrap {}", u.label),
        UnwrapConv::Bytes => s += &format!("| unwrap bytes({})", u.label),
        UnwrapConv::Duration => s += &format!("| unwrap duration({})", u.label),
    }
    for f in &u.post_filters {
        s += &format!("\n{}| {f}", indent(level));
    }
    s
}

fn log_range(r: &LogRange, level: usize) -> String {
    let mut s = log_expr(&r.log, level);
    if let Some(u) = &r.unwrap {
        s.push('\n');
        s += &unwrap(u, level + 1);
    }
    s = format!("{s} [{}]", units::format_prom_duration(r.range));
    if r.offset != 0 {
        s += &format!(" offset {}", units::format_prom_duration(r.offset));
    }
    s
}

fn grouping_pretty(g: Option<&crate::ast::Grouping>) -> String {
    let Some(g) = g else {
        return String::new();
    };
    let mut s = String::new();
    if g.without {
        s += " without";
    } else if !g.labels.is_empty() {
        s += " by";
    }
    if !g.labels.is_empty() {
        s += &format!(" ({})", g.labels.join(", "));
    }
    s
}

fn metric(m: &MetricExpr, level: usize) -> String {
    crate::validate::deep(|| metric_inner(m, level))
}

fn metric_inner(m: &MetricExpr, level: usize) -> String {
    let one_line = m.to_string();
    if !need_split(&one_line) {
        return indent(level) + &one_line;
    }
    match m {
        MetricExpr::Range(r) => {
            let mut s = indent(level) + range_op_name(r.op) + "(\n";
            if let Some(p) = r.param {
                s += &format!("{}{},\n", indent(level + 1), units::format_go_float(p));
            }
            s += &log_range(&r.range, level + 1);
            s += &format!("\n{})", indent(level));
            s += &grouping_pretty(r.grouping.as_ref());
            s
        }
        MetricExpr::Vector(v) => {
            let left = metric(&v.expr, level + 1);
            let mut params = Vec::new();
            match v.op {
                VectorOp::Topk | VectorOp::Bottomk => {
                    params.push(format!("{}{}", indent(level + 1), v.param.unwrap_or(0)));
                }
                _ => {
                    if let Some(p) = v.param.filter(|p| *p != 0) {
                        params.push(format!("{}{p}", indent(level + 1)));
                    }
                }
            }
            params.push(left);
            let mut s = indent(level) + vector_op_name(v.op);
            s += &grouping_pretty(v.grouping.as_ref());
            s += "(\n";
            s += &params.join(",\n");
            s += &format!("\n{})", indent(level));
            s
        }
        MetricExpr::Binary(b) => {
            let mut s = metric(&b.lhs, level + 1) + "\n";
            s += &indent(level);
            s += &bin_op_text_pretty(b.op, b.return_bool, b.matching.as_ref());
            s.push('\n');
            s += &metric(&b.rhs, level + 1);
            s
        }
        MetricExpr::LabelReplace(l) => {
            let params = [
                metric(&l.expr, level + 1),
                indent(level + 1) + &quote(&l.dst),
                indent(level + 1) + &quote(&l.replacement),
                indent(level + 1) + &quote(&l.src),
                indent(level + 1) + &quote(&l.regex),
            ];
            format!(
                "{}label_replace(\n{}\n{})",
                indent(level),
                params.join(",\n"),
                indent(level)
            )
        }
        MetricExpr::Paren(inner) => metric(inner, level),
        MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => indent(level) + &one_line,
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_expr, printer::format_query};

    fn fq(q: &str) -> String {
        format_query(&parse_expr(q).unwrap())
    }

    #[test]
    fn short_queries_stay_on_one_line() {
        assert_eq!(fq(r#"{job="api"} |= "x""#), r#"{job="api"} |= "x""#);
        assert_eq!(
            fq(r#"sum(rate({job="api"}[5m])) by (app)"#),
            r#"sum by (app)(rate({job="api"}[5m]))"#
        );
    }

    #[test]
    fn long_queries_split() {
        let q = r#"sum by (namespace, app) (count_over_time({job="api", namespace="production"} |= "error" != "timeout" | json | level="error" [5m]))"#;
        assert_eq!(
            fq(q),
            "sum by (namespace, app)(\n  count_over_time(\n    {job=\"api\", namespace=\"production\"} |= \"error\" != \"timeout\" | json | level=\"error\" [5m]\n  )\n)"
        );
        let q = r#"{job="api", namespace="production", cluster="eu-west-1"} |= "error" != "timeout" | json | level="error" | line_format "{{.msg}}""#;
        assert_eq!(
            fq(q),
            "{job=\"api\", namespace=\"production\", cluster=\"eu-west-1\"}\n  |= \"error\" != \"timeout\"\n  | json\n  | level=\"error\"\n  | line_format \"{{.msg}}\""
        );
    }

    #[test]
    fn long_binary_splits_around_operator() {
        let q = r#"sum(rate({job="api", namespace="production"} |= "error" [5m])) / sum(rate({job="api", namespace="production"}[5m]))"#;
        assert_eq!(
            fq(q),
            "  sum(rate({job=\"api\", namespace=\"production\"} |= \"error\"[5m]))\n/\n  sum(rate({job=\"api\", namespace=\"production\"}[5m]))"
        );
    }
}
