//! The canonical LogQL printer: `Display` for every AST node gives Loki's `String()`
//! form (what Loki logs, caches by and sends to queriers), e.g.
//! `sum by (app)(count_over_time({job="api"} |= "x" | json | status>=400[5m]))`.
//!
//! Quirks reproduced on purpose: binary expressions are always parenthesised, label
//! filter conjunctions print as `( a , b )`, numeric filters print `==` for `=`, ranges
//! print as Prometheus durations and offsets as Go durations, `vector(1)` prints
//! `vector(1.000000)`. Known differences: `duration_seconds(x)` prints as `duration(x)`
//! (the AST does not keep the spelling) and regex label filters always print quoted.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::{
    BinOp, BinaryExpr, Cardinality, CmpOp, Expr, Grouping, LabelFilter, LabelFormatOp,
    LabelReplace, LineFilter, LineFilterOp, LineFilterValue, LogExpr, LogRange, MetricExpr,
    NamedOrMatcher, Parser, RangeAggregation, Stage, Unwrap, UnwrapConv, VectorAggregation,
    VectorMatching, VectorOp,
};
use crate::units;
use crate::validate::{bin_op_name, range_op_name, vector_op_name};

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    units::go_quote_str(s)
}

impl crate::ast::RangeOp {
    /// The function name as written (`count_over_time`, `rate`, ...).
    pub fn as_str(self) -> &'static str {
        range_op_name(self)
    }
}

impl VectorOp {
    /// The operator name as written (`sum`, `topk`, ...).
    pub fn as_str(self) -> &'static str {
        vector_op_name(self)
    }
}

impl BinOp {
    /// The operator as written (`+`, `==`, `and`, ...).
    pub fn as_str(self) -> &'static str {
        bin_op_name(self)
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Log(l) => l.fmt(f),
            Expr::Metric(m) => m.fmt(f),
        }
    }
}

/// `{a="b", c=~"d"}` (Loki's `MatchersExpr` form).
pub(crate) fn write_selector(
    f: &mut impl Write,
    matchers: &[crate::matcher::LabelMatcher],
) -> fmt::Result {
    f.write_char('{')?;
    for (i, m) in matchers.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{m}")?;
    }
    f.write_char('}')
}

impl Display for LogExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_selector(f, &self.selector)?;
        for s in &self.pipeline {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

impl LineFilterOp {
    /// The operator as written (`|=`, `!=`, `|~`, `!~`, `|>`, `!>`).
    pub fn as_str(self) -> &'static str {
        match self {
            LineFilterOp::Contains => "|=",
            LineFilterOp::NotContains => "!=",
            LineFilterOp::Match => "|~",
            LineFilterOp::NotMatch => "!~",
            LineFilterOp::Pattern => "|>",
            LineFilterOp::NotPattern => "!>",
        }
    }
}

impl Display for LineFilterValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LineFilterValue::Str(s) => f.write_str(&quote(s)),
            LineFilterValue::Ip(s) => write!(f, "ip({})", quote(s)),
        }
    }
}

impl Display for LineFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // negative alternatives are separate filters in Loki: `!= "a" != "b"`
        let sep = if self.op.is_negative() {
            format!(" {} ", self.op.as_str())
        } else {
            " or ".to_string()
        };
        f.write_str(self.op.as_str())?;
        f.write_char(' ')?;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(&sep)?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

fn write_extractions(f: &mut Formatter<'_>, params: &[(String, String)]) -> fmt::Result {
    for (i, (name, expr)) in params.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{name}={}", quote(expr))?;
    }
    Ok(())
}

impl Display for Parser {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Parser::Json(params) if params.is_empty() => f.write_str("| json"),
            Parser::Json(params) => {
                f.write_str("| json ")?;
                write_extractions(f, params)
            }
            Parser::Logfmt {
                strict,
                keep_empty,
                params,
            } => {
                f.write_str("| logfmt")?;
                if params.is_empty() {
                    if *strict {
                        f.write_str(" --strict")?;
                    }
                    if *keep_empty {
                        f.write_str(" --keep-empty")?;
                    }
                    Ok(())
                } else {
                    f.write_char(' ')?;
                    if *strict {
                        f.write_str("--strict ")?;
                    }
                    if *keep_empty {
                        f.write_str("--keep-empty ")?;
                    }
                    write_extractions(f, params)
                }
            }
            Parser::Regexp(re) => write!(f, "| regexp {}", quote(re)),
            Parser::Pattern(p) => write!(f, "| pattern {}", quote(p)),
            Parser::Unpack => f.write_str("| unpack"),
        }
    }
}

impl CmpOp {
    /// Loki's printed form (`==` for equality, as Loki prints it).
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Neq => "!=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
        }
    }
}

/// go-humanize `Bytes` (SI units) without the space, as Loki prints bytes filters.
pub(crate) fn humanize_bytes(v: u64) -> String {
    const SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if v < 10 {
        return format!("{v}B");
    }
    let f = v as f64;
    let e = (f.ln() / 1000f64.ln()).floor();
    let idx = (e as usize).min(SIZES.len() - 1);
    let val = (f / 1000f64.powi(idx as i32) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1}{}", SIZES[idx])
    } else {
        format!("{val:.0}{}", SIZES[idx])
    }
}

impl Display for LabelFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        crate::validate::deep(|| self.fmt_inner(f))
    }
}

impl LabelFilter {
    fn fmt_inner(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFilter::And(a, b) => write!(f, "( {a} , {b} )"),
            LabelFilter::Or(a, b) => write!(f, "( {a} or {b} )"),
            LabelFilter::Paren(inner) => inner.fmt(f),
            LabelFilter::Matcher(m) => write!(f, "{m}"),
            LabelFilter::Number { name, op, value } => {
                write!(
                    f,
                    "{name}{}{}",
                    op.as_str(),
                    units::format_go_float_f(*value)
                )
            }
            LabelFilter::Duration { name, op, value } => {
                write!(
                    f,
                    "{name}{}{}",
                    op.as_str(),
                    units::format_go_duration(*value)
                )
            }
            LabelFilter::Bytes { name, op, value } => {
                write!(f, "{name}{}{}", op.as_str(), humanize_bytes(*value))
            }
            LabelFilter::Ip {
                name,
                negated,
                pattern,
            } => {
                let eq = if *negated { "!=" } else { "=" };
                write!(f, "{name}{eq}ip({})", quote(pattern))
            }
        }
    }
}

impl Display for LabelFormatOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFormatOp::Rename { dst, src } => write!(f, "{dst}={src}"),
            LabelFormatOp::Template { dst, template } => write!(f, "{dst}={}", quote(template)),
        }
    }
}

impl Display for NamedOrMatcher {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            NamedOrMatcher::Name(n) => f.write_str(n),
            NamedOrMatcher::Matcher(m) => write!(f, "{m}"),
        }
    }
}

fn write_joined<T: Display>(f: &mut Formatter<'_>, items: &[T], sep: &str) -> fmt::Result {
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{it}")?;
    }
    Ok(())
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::LineFilter(l) => l.fmt(f),
            Stage::Parser(p) => p.fmt(f),
            Stage::LabelFilter(l) => write!(f, "| {l}"),
            Stage::LineFormat(t) => write!(f, "| line_format {}", quote(t)),
            Stage::LabelFormat(ops) => {
                f.write_str("| label_format ")?;
                write_joined(f, ops, ",")
            }
            Stage::Decolorize => f.write_str("| decolorize"),
            Stage::Drop(v) => {
                f.write_str("| drop ")?;
                write_joined(f, v, ",")
            }
            Stage::Keep(v) => {
                f.write_str("| keep ")?;
                write_joined(f, v, ",")
            }
        }
    }
}

impl Display for Unwrap {
    /// ` | unwrap x | post filters` (with the leading space, as Loki prints it).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.conv {
            UnwrapConv::None => write!(f, " | unwrap {}", self.label)?,
            UnwrapConv::Bytes => write!(f, " | unwrap bytes({})", self.label)?,
            UnwrapConv::Duration => write!(f, " | unwrap duration({})", self.label)?,
        }
        for p in &self.post_filters {
            write!(f, " | {p}")?;
        }
        Ok(())
    }
}

impl Display for LogRange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.log)?;
        if let Some(u) = &self.unwrap {
            write!(f, "{u}")?;
        }
        write!(f, "[{}]", units::format_prom_duration(self.range))?;
        if self.offset != 0 {
            write!(f, " offset {}", units::format_go_duration(self.offset))?;
        }
        Ok(())
    }
}

impl Display for Grouping {
    /// ` by (a,b)` / ` without (a,b)` (with the leading space).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kw = if self.without { "without" } else { "by" };
        write!(f, " {kw} ({})", self.labels.join(","))
    }
}

impl Display for RangeAggregation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(range_op_name(self.op))?;
        f.write_char('(')?;
        if let Some(p) = self.param {
            write!(f, "{},", units::format_go_float_f(p))?;
        }
        write!(f, "{})", self.range)?;
        if let Some(g) = &self.grouping {
            write!(f, "{g}")?;
        }
        Ok(())
    }
}

/// True when Loki omits the grouping (`by ()` or none).
pub(crate) fn grouping_is_singleton(g: Option<&Grouping>) -> bool {
    g.is_none_or(|g| !g.without && g.labels.is_empty())
}

impl Display for VectorAggregation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(vector_op_name(self.op))?;
        if !grouping_is_singleton(self.grouping.as_ref())
            && let Some(g) = &self.grouping
        {
            write!(f, "{g}")?;
        }
        f.write_char('(')?;
        match (self.op, self.param) {
            (VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk, p) => {
                write!(f, "{},", p.unwrap_or(0))?
            }
            (_, Some(p)) if p != 0 => write!(f, "{p},")?,
            _ => {}
        }
        write!(f, "{})", self.expr)
    }
}

/// The operator with its `bool` and matching modifiers as Loki's `String()` writes it.
pub(crate) fn bin_op_text(op: BinOp, return_bool: bool, m: Option<&VectorMatching>) -> String {
    let mut s = bin_op_name(op).to_string();
    if return_bool {
        s.push_str(" bool");
    }
    if let Some(m) = m {
        let (group, include) = match &m.card {
            Cardinality::OneToOne => ("", None),
            Cardinality::ManyToOne(l) => ("group_left", Some(l)),
            Cardinality::OneToMany(l) => ("group_right", Some(l)),
        };
        let mut group = group.to_string();
        if let Some(inc) = include
            && !inc.is_empty()
        {
            group = format!("{group} ({})", inc.join(","));
        }
        if m.on || !m.labels.is_empty() {
            let on = if m.on { "on" } else { "ignoring" };
            s = format!("{s} {on} ({}) {group}", m.labels.join(","));
        }
    }
    s
}

/// The operator as Loki's prettifier writes it (`, `-joined lists, `on ()` omitted).
pub(crate) fn bin_op_text_pretty(
    op: BinOp,
    return_bool: bool,
    m: Option<&VectorMatching>,
) -> String {
    let mut s = bin_op_name(op).to_string();
    if return_bool {
        s.push_str(" bool");
    }
    if let Some(m) = m {
        let (mut group, include) = match &m.card {
            Cardinality::OneToOne => (String::new(), None),
            Cardinality::ManyToOne(l) => ("group_left".to_string(), Some(l)),
            Cardinality::OneToMany(l) => ("group_right".to_string(), Some(l)),
        };
        if let Some(inc) = include
            && !inc.is_empty()
        {
            group = format!("{group} ({})", inc.join(", "));
        }
        if !m.labels.is_empty() {
            let on = if m.on { "on" } else { "ignoring" };
            s = format!("{s} {on} ({}) {group}", m.labels.join(", "));
        }
    }
    s
}

impl Display for BinaryExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({} {} {})",
            self.lhs,
            bin_op_text(self.op, self.return_bool, self.matching.as_ref()),
            self.rhs
        )
    }
}

impl Display for LabelReplace {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "label_replace({},{},{},{},{})",
            self.expr,
            quote(&self.dst),
            quote(&self.replacement),
            quote(&self.src),
            quote(&self.regex)
        )
    }
}

impl Display for MetricExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        crate::validate::deep(|| self.fmt_inner(f))
    }
}

impl MetricExpr {
    fn fmt_inner(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MetricExpr::Range(r) => r.fmt(f),
            MetricExpr::Vector(v) => v.fmt(f),
            MetricExpr::Binary(b) => b.fmt(f),
            MetricExpr::Literal(v) => f.write_str(&units::format_go_float(*v)),
            MetricExpr::VectorLiteral(v) => write!(f, "vector({})", units::format_go_float_6(*v)),
            MetricExpr::LabelReplace(l) => l.fmt(f),
            MetricExpr::Paren(inner) => inner.fmt(f),
        }
    }
}

/// What Loki's `/loki/api/v1/format_query` returns for a parsed query (`syntax.Prettify`).
pub fn format_query(expr: &Expr) -> String {
    crate::prettier::prettify(expr)
}

#[cfg(test)]
mod tests {
    use crate::parse_expr;

    fn canon(q: &str) -> String {
        parse_expr(q).unwrap().to_string()
    }

    #[test]
    fn log_queries() {
        assert_eq!(
            canon(r#"{job="api",env=~"p.*"}"#),
            r#"{job="api", env=~"p.*"}"#
        );
        assert_eq!(
            canon(r#"{job="api"} |= "x" != "y" |~ `a\d` | json | status >= 400"#),
            r#"{job="api"} |= "x" != "y" |~ "a\\d" | json | status>=400"#
        );
        assert_eq!(
            canon(r#"{a="b"} | logfmt --strict a, b="c" | level="error" or level="warn", x > 5s"#),
            r#"{a="b"} | logfmt --strict a="a",b="c" | ( level="error" or ( level="warn" , x>5s ) )"#
        );
        assert_eq!(
            canon(
                r#"{a="b"} | label_format a=b, c="{{.x}}" | line_format "{{.a}}" | drop a, b="v" | keep c"#
            ),
            r#"{a="b"} | label_format a=b,c="{{.x}}" | line_format "{{.a}}" | drop a,b="v" | keep c"#
        );
        assert_eq!(
            canon(r#"{a="b"} | size > 20MB | n = 1 | ip = ip("10.0.0.0/8") | decolorize"#),
            r#"{a="b"} | size>20MB | n==1 | ip=ip("10.0.0.0/8") | decolorize"#
        );
    }

    #[test]
    fn metric_queries() {
        assert_eq!(
            canon(r#"sum by (app) (count_over_time({job="api"}[5m]))"#),
            r#"sum by (app)(count_over_time({job="api"}[5m]))"#
        );
        assert_eq!(
            canon(
                r#"quantile_over_time(0.99, {a="b"} | unwrap duration(d) | __error__="" [1h] offset 5m) by (x)"#
            ),
            r#"quantile_over_time(0.99,{a="b"} | unwrap duration(d) | __error__=""[1h] offset 5m0s) by (x)"#
        );
        assert_eq!(
            canon(r#"topk(3, sum(rate({a="b"}[1m])) by (c))"#),
            r#"topk(3,sum by (c)(rate({a="b"}[1m])))"#
        );
        assert_eq!(
            canon(r#"rate({a="b"}[1m]) / on(x) group_left(y) rate({a="b"}[1m]) > bool 2"#),
            r#"((rate({a="b"}[1m]) / on (x) group_left (y) rate({a="b"}[1m])) > bool 2)"#
        );
        assert_eq!(canon("vector(1)"), "vector(1.000000)");
        assert_eq!(canon("1 + 2 * 3"), "7");
        assert_eq!(canon("2 ^ 3 ^ 2"), "512");
        assert_eq!(
            canon(r#"label_replace(rate({a="b"}[1m]), "d", "$1", "s", "(.*)")"#),
            r#"label_replace(rate({a="b"}[1m]),"d","$1","s","(.*)")"#
        );
        assert_eq!(canon("1e6"), "1e+06");
    }

    #[test]
    fn humanized_bytes() {
        assert_eq!(super::humanize_bytes(5), "5B");
        assert_eq!(super::humanize_bytes(1500), "1.5kB");
        assert_eq!(super::humanize_bytes(20_000_000), "20MB");
        assert_eq!(super::humanize_bytes(1024), "1.0kB");
    }
}
