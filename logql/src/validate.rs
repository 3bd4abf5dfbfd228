//! Semantic checks and conversion of the raw syntax tree into the public AST.
//!
//! Loki checks most things while its parser reduces grammar rules (so the first problem
//! in reduction order wins), then validates stream selectors of the finished tree. This
//! module walks the raw tree in the same order (children first, left to right) and uses
//! Loki's texts. It also folds `literal op literal` into one literal, as Loki does.

use crate::ast::{
    BinOp, BinaryExpr, Expr, LabelFilter, LabelReplace, LogExpr, LogRange, MetricExpr,
    NamedOrMatcher, Parser as LogParser, RangeAggregation, RangeOp, Stage, Unwrap,
    VectorAggregation, VectorOp,
};
use crate::error::ParseError;
use crate::goregex;
use crate::grammar::{RExpr, RLabelFilter, RLog, RLogRange, RMatcher, RNamed, RStage};
use crate::labels::is_valid_label_name;
use crate::matcher::{LabelMatcher, MatchOp};
use crate::units;

type Result<T> = std::result::Result<T, ParseError>;

/// Loki's text for a selector that would select every stream.
pub const ERR_EMPTY_MATCHERS: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

fn invalid(msg: impl Into<String>) -> ParseError {
    ParseError::Invalid(msg.into())
}

/// A converted expression: log or metric (binary legs may be either until checked).
enum Node {
    Log(LogExpr),
    Metric(MetricExpr),
}

/// Converts and validates a raw tree.
pub(crate) fn convert(raw: RExpr) -> Result<Expr> {
    let expr = match node(raw)? {
        Node::Log(l) => Expr::Log(l),
        Node::Metric(m) => Expr::Metric(m),
    };
    validate_expr(&expr)?;
    Ok(expr)
}

pub(crate) fn matcher(m: RMatcher) -> Result<LabelMatcher> {
    let anchored = format!("^(?:{})$", m.value);
    if matches!(m.op, MatchOp::Re | MatchOp::Nre)
        && let Some(msg) = goregex::go_only_error(&anchored)
    {
        return Err(invalid(msg));
    }
    LabelMatcher::new(m.name, m.op, m.value).map_err(|_| invalid(goregex::go_message(&anchored)))
}

fn label_filter(f: RLabelFilter) -> Result<LabelFilter> {
    deep(|| label_filter_inner(f))
}

fn label_filter_inner(f: RLabelFilter) -> Result<LabelFilter> {
    Ok(match f {
        RLabelFilter::And(a, b) => {
            let a = label_filter(*a)?;
            LabelFilter::And(Box::new(a), Box::new(label_filter(*b)?))
        }
        RLabelFilter::Or(a, b) => {
            let a = label_filter(*a)?;
            LabelFilter::Or(Box::new(a), Box::new(label_filter(*b)?))
        }
        RLabelFilter::Matcher(m) => LabelFilter::Matcher(matcher(m)?),
        RLabelFilter::Number { name, op, value } => {
            let v = units::parse_go_float(&value)
                .map_err(|e| invalid(format!("unable to parse literal as a float: {e}")))?;
            LabelFilter::Number { name, op, value: v }
        }
        RLabelFilter::Duration { name, op, value } => LabelFilter::Duration { name, op, value },
        RLabelFilter::Bytes { name, op, value } => LabelFilter::Bytes { name, op, value },
        RLabelFilter::Ip {
            name,
            negated,
            pattern,
        } => LabelFilter::Ip {
            name,
            negated,
            pattern,
        },
    })
}

fn named(v: Vec<RNamed>) -> Result<Vec<NamedOrMatcher>> {
    v.into_iter()
        .map(|n| match n {
            RNamed::Name(s) => Ok(NamedOrMatcher::Name(s)),
            RNamed::Matcher(m) => Ok(NamedOrMatcher::Matcher(matcher(m)?)),
        })
        .collect()
}

pub(crate) fn check_regexp_parser(re: &str) -> Result<()> {
    let prefix = "invalid regexp parser";
    // Go accepts any word characters as a group name; Loki then checks label syntax
    for (i, _) in re.match_indices("(?P<").chain(re.match_indices("(?<")) {
        let start = i + if re[i..].starts_with("(?P<") { 4 } else { 3 };
        if let Some(len) = re[start..].find('>') {
            let name = &re[start..start + len];
            if !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !is_valid_label_name(name)
            {
                return Err(invalid(format!(
                    "{prefix}: invalid extracted label name '{name}'"
                )));
            }
        }
    }
    if let Some(name) = goregex::duplicate_group_name(re) {
        return Err(invalid(format!(
            "{prefix}: duplicate extracted label name '{name}'"
        )));
    }
    goregex::check(re).map_err(|m| invalid(format!("{prefix}: {m}")))?;
    let compiled = regex::Regex::new(re).map_err(|_| invalid(format!("{prefix}: {re}")))?;
    let mut seen: Vec<&str> = Vec::new();
    for name in compiled.capture_names().flatten() {
        if !is_valid_label_name(name) {
            return Err(invalid(format!(
                "{prefix}: invalid extracted label name '{name}'"
            )));
        }
        if seen.contains(&name) {
            return Err(invalid(format!(
                "{prefix}: duplicate extracted label name '{name}'"
            )));
        }
        seen.push(name);
    }
    if seen.is_empty() {
        return Err(invalid(format!(
            "{prefix}: at least one named capture must be supplied"
        )));
    }
    Ok(())
}

/// Loki's pattern-parser checks: at least one named capture, no two captures in a row,
/// no duplicate names.
pub(crate) fn check_pattern_parser(p: &str) -> Result<()> {
    let prefix = "invalid pattern parser";
    // (is_capture, text)
    let mut nodes: Vec<(bool, &str)> = Vec::new();
    let b = p.as_bytes();
    let mut i = 0;
    let mut lit_start = 0;
    while i < b.len() {
        if b[i] == b'<' {
            let mut j = i + 1;
            if j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_') {
                j += 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'>' {
                    if lit_start < i {
                        nodes.push((false, &p[lit_start..i]));
                    }
                    nodes.push((true, &p[i + 1..j]));
                    i = j + 1;
                    lit_start = i;
                    continue;
                }
            }
        }
        i += 1;
    }
    if lit_start < b.len() {
        nodes.push((false, &p[lit_start..]));
    }
    if !nodes.iter().any(|(c, n)| *c && *n != "_") {
        return Err(invalid(format!(
            "{prefix}: at least one capture is required"
        )));
    }
    for w in nodes.windows(2) {
        if w[0].0 && w[1].0 {
            return Err(invalid(format!(
                "{prefix}: found consecutive capture '<{}><{}>': invalid expression",
                w[0].1, w[1].1
            )));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for (c, n) in &nodes {
        if *c && *n != "_" {
            if seen.contains(n) {
                return Err(invalid(format!(
                    "{prefix}: duplicate capture name ({n}): invalid expression"
                )));
            }
            seen.push(n);
        }
    }
    Ok(())
}

fn stage(s: RStage) -> Result<Stage> {
    Ok(match s {
        RStage::LineFilter(f) => Stage::LineFilter(f),
        RStage::Parser(p) => {
            match &p {
                LogParser::Regexp(re) => check_regexp_parser(re)?,
                LogParser::Pattern(pat) => check_pattern_parser(pat)?,
                _ => {}
            }
            Stage::Parser(p)
        }
        RStage::LabelFilter(f) => Stage::LabelFilter(label_filter(f)?),
        RStage::LineFormat(s) => Stage::LineFormat(s),
        RStage::LabelFormat(ops) => Stage::LabelFormat(ops),
        RStage::Decolorize => Stage::Decolorize,
        RStage::Drop(v) => Stage::Drop(named(v)?),
        RStage::Keep(v) => Stage::Keep(named(v)?),
    })
}

fn log_expr(l: RLog) -> Result<LogExpr> {
    let selector = l
        .selector
        .into_iter()
        .map(matcher)
        .collect::<Result<Vec<_>>>()?;
    let pipeline = l
        .stages
        .into_iter()
        .map(stage)
        .collect::<Result<Vec<_>>>()?;
    Ok(LogExpr { selector, pipeline })
}

fn log_range(r: RLogRange) -> Result<LogRange> {
    let log = log_expr(r.log)?;
    let unwrap = match r.unwrap {
        Some(u) => Some(Unwrap {
            label: u.label,
            conv: u.conv,
            post_filters: u
                .post
                .into_iter()
                .map(label_filter)
                .collect::<Result<Vec<_>>>()?,
        }),
        None => None,
    };
    Ok(LogRange {
        log,
        range: r.range,
        offset: r.offset,
        unwrap,
    })
}

/// Loki's name of a range aggregation operator.
pub fn range_op_name(op: RangeOp) -> &'static str {
    match op {
        RangeOp::Count => "count_over_time",
        RangeOp::Rate => "rate",
        RangeOp::RateCounter => "rate_counter",
        RangeOp::Bytes => "bytes_over_time",
        RangeOp::BytesRate => "bytes_rate",
        RangeOp::Absent => "absent_over_time",
        RangeOp::Sum => "sum_over_time",
        RangeOp::Avg => "avg_over_time",
        RangeOp::Min => "min_over_time",
        RangeOp::Max => "max_over_time",
        RangeOp::Stdvar => "stdvar_over_time",
        RangeOp::Stddev => "stddev_over_time",
        RangeOp::Quantile => "quantile_over_time",
        RangeOp::First => "first_over_time",
        RangeOp::Last => "last_over_time",
    }
}

/// Loki's name of a vector aggregation operator.
pub fn vector_op_name(op: VectorOp) -> &'static str {
    match op {
        VectorOp::Sum => "sum",
        VectorOp::Avg => "avg",
        VectorOp::Min => "min",
        VectorOp::Max => "max",
        VectorOp::Stddev => "stddev",
        VectorOp::Stdvar => "stdvar",
        VectorOp::Count => "count",
        VectorOp::Topk => "topk",
        VectorOp::Bottomk => "bottomk",
        VectorOp::Sort => "sort",
        VectorOp::SortDesc => "sort_desc",
        VectorOp::ApproxTopk => "approx_topk",
    }
}

/// Loki's name of a binary operator.
pub fn bin_op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Or => "or",
        BinOp::And => "and",
        BinOp::Unless => "unless",
        BinOp::Eq => "==",
        BinOp::Neq => "!=",
        BinOp::Gt => ">",
        BinOp::Gte => ">=",
        BinOp::Lt => "<",
        BinOp::Lte => "<=",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Pow => "^",
    }
}

fn range_agg(
    op: RangeOp,
    param: Option<String>,
    range: RLogRange,
    grouping: Option<crate::ast::Grouping>,
) -> Result<MetricExpr> {
    let range = log_range(range)?;
    let name = range_op_name(op);
    let param = match param {
        Some(p) => {
            if op != RangeOp::Quantile {
                return Err(invalid(format!(
                    "parameter {p} not supported for operation {name}"
                )));
            }
            Some(
                units::parse_go_float(&p)
                    .map_err(|e| invalid(format!("invalid parameter for operation {name}: {e}")))?,
            )
        }
        None => {
            if op == RangeOp::Quantile {
                return Err(invalid(format!("parameter required for operation {name}")));
            }
            None
        }
    };
    if grouping.is_some()
        && !matches!(
            op,
            RangeOp::Avg
                | RangeOp::Stddev
                | RangeOp::Stdvar
                | RangeOp::Quantile
                | RangeOp::Max
                | RangeOp::Min
                | RangeOp::First
                | RangeOp::Last
        )
    {
        return Err(invalid(format!(
            "grouping not allowed for {name} aggregation"
        )));
    }
    if range.unwrap.is_some() {
        if !matches!(
            op,
            RangeOp::Avg
                | RangeOp::Sum
                | RangeOp::Max
                | RangeOp::Min
                | RangeOp::Stddev
                | RangeOp::Stdvar
                | RangeOp::Quantile
                | RangeOp::Rate
                | RangeOp::RateCounter
                | RangeOp::Absent
                | RangeOp::First
                | RangeOp::Last
        ) {
            return Err(invalid(format!("invalid aggregation {name} with unwrap")));
        }
    } else if !matches!(
        op,
        RangeOp::Bytes | RangeOp::BytesRate | RangeOp::Count | RangeOp::Rate | RangeOp::Absent
    ) {
        return Err(invalid(format!(
            "invalid aggregation {name} without unwrap"
        )));
    }
    Ok(MetricExpr::Range(RangeAggregation {
        op,
        range,
        param,
        grouping,
    }))
}

/// Go's `strconv.Atoi`.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn vector_agg(
    op: VectorOp,
    param: Option<String>,
    inner: MetricExpr,
    grouping: Option<crate::ast::Grouping>,
) -> Result<MetricExpr> {
    let name = vector_op_name(op);
    let param = match op {
        VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk => {
            let Some(p) = param else {
                return Err(invalid(format!("parameter required for operation {name}")));
            };
            let Some(k) = go_atoi(&p) else {
                return Err(invalid(format!("invalid parameter {name}({p},")));
            };
            if k <= 0 {
                return Err(invalid(format!(
                    "invalid parameter (must be greater than 0) {name}({p}"
                )));
            }
            if op == VectorOp::ApproxTopk && grouping.is_some() {
                return Err(invalid(format!(
                    "grouping not allowed for {name} aggregation"
                )));
            }
            Some(k)
        }
        _ => {
            if let Some(p) = param {
                return Err(invalid(format!(
                    "unsupported parameter for operation {name}({p},"
                )));
            }
            None
        }
    };
    // `by ()` aggregates everything, exactly like no grouping: keep one form
    let grouping = grouping.filter(|g| g.without || !g.labels.is_empty());
    Ok(MetricExpr::Vector(VectorAggregation {
        op,
        expr: Box::new(inner),
        grouping,
        param,
    }))
}

fn metric(n: Node) -> Result<MetricExpr> {
    match n {
        Node::Metric(m) => Ok(m),
        // the grammar only lets log expressions through in binary legs
        Node::Log(_) => Err(invalid("unexpected log expression")),
    }
}

fn go_type_name(l: &LogExpr) -> &'static str {
    if l.pipeline.is_empty() {
        "*syntax.MatchersExpr"
    } else {
        "*syntax.PipelineExpr"
    }
}

/// Loki's `MergeBinOp` on two scalars (comparisons give 0 or 1).
pub fn fold_scalars(op: BinOp, l: f64, r: f64) -> f64 {
    let b = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        BinOp::Add => l + r,
        BinOp::Sub => l - r,
        BinOp::Mul => l * r,
        BinOp::Div => {
            if r == 0.0 {
                f64::NAN
            } else {
                l / r
            }
        }
        BinOp::Mod => {
            if r == 0.0 {
                f64::NAN
            } else {
                l % r
            }
        }
        BinOp::Pow => l.powf(r),
        BinOp::Eq => b(l == r),
        BinOp::Neq => b(l != r),
        BinOp::Gt => b(l > r),
        BinOp::Gte => b(l >= r),
        BinOp::Lt => b(l < r),
        BinOp::Lte => b(l <= r),
        // set operators never reach here (literal legs are rejected)
        BinOp::Or | BinOp::And | BinOp::Unless => l,
    }
}

/// Deeply nested queries (up to ~2,500 levels fit in Loki's 5,120 bytes) must not
/// overflow the stack of a small worker thread.
pub(crate) fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, f)
}

fn node(raw: RExpr) -> Result<Node> {
    deep(|| node_inner(raw))
}

fn node_inner(raw: RExpr) -> Result<Node> {
    Ok(match raw {
        RExpr::Log(l) => Node::Log(log_expr(l)?),
        RExpr::Range {
            op,
            param,
            range,
            grouping,
        } => Node::Metric(range_agg(op, param, range, grouping)?),
        RExpr::Vector {
            op,
            param,
            expr,
            grouping,
        } => {
            let inner = metric(node(*expr)?)?;
            Node::Metric(vector_agg(op, param, inner, grouping)?)
        }
        RExpr::Binary {
            op,
            lhs,
            rhs,
            return_bool,
            matching,
        } => {
            let l = node(*lhs)?;
            let r = node(*rhs)?;
            let name = bin_op_name(op);
            let l = match l {
                Node::Log(le) => {
                    return Err(invalid(format!(
                        "unexpected type for left leg of binary operation ({name}): {}",
                        go_type_name(&le)
                    )));
                }
                Node::Metric(m) => m,
            };
            let r = match r {
                Node::Log(le) => {
                    return Err(invalid(format!(
                        "unexpected type for right leg of binary operation ({name}): {}",
                        go_type_name(&le)
                    )));
                }
                Node::Metric(m) => m,
            };
            if op.is_set() {
                if let MetricExpr::Literal(v) = l {
                    return Err(invalid(format!(
                        "unexpected literal for left leg of logical/set binary operation ({name}): {}",
                        units::format_go_float_6(v)
                    )));
                }
                if let MetricExpr::Literal(v) = r {
                    return Err(invalid(format!(
                        "unexpected literal for right leg of logical/set binary operation ({name}): {}",
                        units::format_go_float_6(v)
                    )));
                }
            }
            if let (MetricExpr::Literal(a), MetricExpr::Literal(b)) = (&l, &r) {
                Node::Metric(MetricExpr::Literal(fold_scalars(op, *a, *b)))
            } else {
                Node::Metric(MetricExpr::Binary(BinaryExpr {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                    return_bool,
                    matching,
                }))
            }
        }
        RExpr::Literal(text, neg) => {
            let v = units::parse_go_float(&text)
                .map_err(|e| invalid(format!("unable to parse literal as a float: {e}")))?;
            Node::Metric(MetricExpr::Literal(if neg { -v } else { v }))
        }
        RExpr::VectorLit(text) => {
            let v = units::parse_go_float(&text)
                .map_err(|e| invalid(format!("unable to parse vectorExpr as a float: {e}")))?;
            Node::Metric(MetricExpr::VectorLiteral(v))
        }
        RExpr::LabelReplace {
            expr,
            dst,
            replacement,
            src,
            regex,
        } => {
            let inner = metric(node(*expr)?)?;
            let anchored = format!("^(?:{regex})$");
            if goregex::check(&anchored).is_err() {
                return Err(invalid(format!(
                    "invalid regex in label_replace: {}",
                    goregex::go_message(&anchored)
                )));
            }
            Node::Metric(MetricExpr::LabelReplace(LabelReplace {
                expr: Box::new(inner),
                dst,
                replacement,
                src,
                regex,
            }))
        }
    })
}

/// Loki's `validateMatchers`: at least one matcher must not match the empty string.
pub fn validate_matchers(matchers: &[LabelMatcher]) -> Result<()> {
    if matchers.iter().all(|m| m.matches_empty()) {
        return Err(invalid(ERR_EMPTY_MATCHERS));
    }
    Ok(())
}

/// The matchers Loki's `Selector()` finds for a sample expression (left legs only).
fn selector_of(e: &MetricExpr) -> &[LabelMatcher] {
    // iterative: follows left legs only
    let mut e = e;
    loop {
        e = match e {
            MetricExpr::Range(r) => return &r.range.log.selector,
            MetricExpr::Vector(v) => &v.expr,
            MetricExpr::Binary(b) => &b.lhs,
            MetricExpr::LabelReplace(l) => &l.expr,
            MetricExpr::Paren(p) => p,
            MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => return &[],
        };
    }
}

fn validate_sample(e: &MetricExpr) -> Result<()> {
    deep(|| validate_sample_inner(e))
}

fn validate_sample_inner(e: &MetricExpr) -> Result<()> {
    match e {
        MetricExpr::Binary(b) => {
            validate_sample(&b.lhs)?;
            validate_sample(&b.rhs)
        }
        MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => Ok(()),
        MetricExpr::Vector(v) => {
            if matches!(v.op, VectorOp::Sort | VectorOp::SortDesc)
                && v.grouping.as_ref().is_some_and(|g| !g.labels.is_empty())
            {
                return Err(invalid("sort and sort_desc doesn't allow grouping by "));
            }
            validate_sample(&v.expr)
        }
        MetricExpr::Paren(p) => validate_sample(p),
        other => validate_matchers(selector_of(other)),
    }
}

/// Loki's `validateExpr`, run on the finished tree.
pub fn validate_expr(e: &Expr) -> Result<()> {
    match e {
        Expr::Log(l) => validate_matchers(&l.selector),
        Expr::Metric(m) => validate_sample(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_checks() {
        assert!(check_pattern_parser("<ip> - <_>").is_ok());
        assert_eq!(
            check_pattern_parser("foo").unwrap_err().to_string(),
            "parse error : invalid pattern parser: at least one capture is required"
        );
        assert_eq!(
            check_pattern_parser("<a><b>").unwrap_err().to_string(),
            "parse error : invalid pattern parser: found consecutive capture '<a><b>': invalid expression"
        );
        assert_eq!(
            check_pattern_parser("<a> <a>").unwrap_err().to_string(),
            "parse error : invalid pattern parser: duplicate capture name (a): invalid expression"
        );
    }

    #[test]
    fn regexp_checks() {
        assert!(check_regexp_parser("(?P<a>x)").is_ok());
        assert_eq!(
            check_regexp_parser("x").unwrap_err().to_string(),
            "parse error : invalid regexp parser: at least one named capture must be supplied"
        );
        assert_eq!(
            check_regexp_parser("(x)").unwrap_err().to_string(),
            "parse error : invalid regexp parser: at least one named capture must be supplied"
        );
    }

    #[test]
    fn folding() {
        assert!(fold_scalars(BinOp::Div, 1.0, 0.0).is_nan());
        assert_eq!(fold_scalars(BinOp::Gt, 2.0, 1.0), 1.0);
        assert_eq!(fold_scalars(BinOp::Pow, 2.0, 3.0), 8.0);
    }

    #[test]
    fn matcher_regex_error_is_go_worded() {
        let e = matcher(RMatcher {
            name: "a".into(),
            op: MatchOp::Re,
            value: "(".into(),
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "parse error : error parsing regexp: missing closing ): `^(?:()$`"
        );
    }
}
