//! The LogQL abstract syntax tree.
//!
//! This is the contract between the parser (which builds it), the canonical printer
//! (`Display` impls in `printer.rs`), the query frontend (which splits and shards it) and
//! the querier (which evaluates it). Durations are nanoseconds as `i64`.

use crate::matcher::LabelMatcher;

/// A whole LogQL query: either a log query (returns streams) or a metric query.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `{selector} | pipeline...`
    Log(LogExpr),
    /// Anything that yields samples: range/vector aggregations, binary ops, literals.
    Metric(MetricExpr),
}

/// A stream selector followed by pipeline stages.
#[derive(Clone, Debug, PartialEq)]
pub struct LogExpr {
    /// The `{...}` matchers (at least one must not match the empty string).
    pub selector: Vec<LabelMatcher>,
    /// Stages in written order.
    pub pipeline: Vec<Stage>,
}

/// One pipeline stage after the selector.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// `|= "a"`, `!~ "b" or "c"`, `|> "<_> foo"`, `|= ip("10.0.0.0/8")`.
    LineFilter(LineFilter),
    /// `| json`, `| logfmt`, `| regexp "..."`, `| pattern "..."`, `| unpack`.
    Parser(Parser),
    /// `| level="error" and status >= 400`.
    LabelFilter(LabelFilter),
    /// `| line_format "{{.foo}}"` (template source as written, unescaped).
    LineFormat(String),
    /// `| label_format a=b, c="{{.x}}"`.
    LabelFormat(Vec<LabelFormatOp>),
    /// `| decolorize`.
    Decolorize,
    /// `| drop a, b="v", c=~"x.*"`.
    Drop(Vec<NamedOrMatcher>),
    /// `| keep a, b="v"`.
    Keep(Vec<NamedOrMatcher>),
}

/// A line filter: one operator and one or more alternatives joined by `or`.
#[derive(Clone, Debug, PartialEq)]
pub struct LineFilter {
    /// The operator.
    pub op: LineFilterOp,
    /// Alternatives (`|= "a" or "b"`). For the negative operators a line is kept
    /// only if it matches none of them.
    pub values: Vec<LineFilterValue>,
}

/// Line filter operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineFilterOp {
    /// `|=`
    Contains,
    /// `!=`
    NotContains,
    /// `|~` (regex, not anchored)
    Match,
    /// `!~`
    NotMatch,
    /// `|>` (pattern filter)
    Pattern,
    /// `!>`
    NotPattern,
}

impl LineFilterOp {
    /// True for `!=`, `!~`, `!>`.
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            LineFilterOp::NotContains | LineFilterOp::NotMatch | LineFilterOp::NotPattern
        )
    }
}

/// One line filter operand.
#[derive(Clone, Debug, PartialEq)]
pub enum LineFilterValue {
    /// A string (literal, regex or pattern depending on the operator).
    Str(String),
    /// `ip("...")`: the line contains an IP address matching the pattern.
    Ip(String),
}

/// Parser stages.
#[derive(Clone, Debug, PartialEq)]
pub enum Parser {
    /// `| json` or `| json a="x.y", b="z[0]"` (label name, JSON path expression).
    Json(Vec<(String, String)>),
    /// `| logfmt [--strict] [--keep-empty] [a="k", b]`.
    Logfmt {
        /// `--strict`: stop at the first malformed pair and set `__error__`.
        strict: bool,
        /// `--keep-empty`: keep standalone keys as empty labels.
        keep_empty: bool,
        /// Extraction parameters (label name, key).
        params: Vec<(String, String)>,
    },
    /// `| regexp "(?P<name>...)"`.
    Regexp(String),
    /// `| pattern "<ip> - <_> ..."`.
    Pattern(String),
    /// `| unpack`.
    Unpack,
}

/// Comparison operators of numeric, duration and bytes label filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==` (also written `=`)
    Eq,
    /// `!=`
    Neq,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

/// A label filter expression.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelFilter {
    /// `a and b`, `a, b` and `a b` (juxtaposition).
    And(Box<LabelFilter>, Box<LabelFilter>),
    /// `a or b`.
    Or(Box<LabelFilter>, Box<LabelFilter>),
    /// `(a)`: kept so the printer can reproduce the grouping.
    Paren(Box<LabelFilter>),
    /// `name op "string"`.
    Matcher(LabelMatcher),
    /// `name op 1.5` (numeric).
    Number {
        /// Label name.
        name: String,
        /// Comparison.
        op: CmpOp,
        /// Right-hand side.
        value: f64,
    },
    /// `name op 5s` (duration; value in nanoseconds).
    Duration {
        /// Label name.
        name: String,
        /// Comparison.
        op: CmpOp,
        /// Right-hand side in nanoseconds.
        value: i64,
    },
    /// `name op 20MB` (bytes).
    Bytes {
        /// Label name.
        name: String,
        /// Comparison.
        op: CmpOp,
        /// Right-hand side in bytes.
        value: u64,
    },
    /// `name = ip("...")` or `name != ip("...")`.
    Ip {
        /// Label name.
        name: String,
        /// True for `!=`.
        negated: bool,
        /// The IP pattern (address, range or CIDR).
        pattern: String,
    },
}

/// One `label_format` assignment.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelFormatOp {
    /// `dst=src`: rename.
    Rename {
        /// New label name.
        dst: String,
        /// Existing label name.
        src: String,
    },
    /// `dst="{{ template }}"`.
    Template {
        /// Label name to set.
        dst: String,
        /// Template source.
        template: String,
    },
}

/// A `drop`/`keep` argument: a bare name or a matcher on the value.
#[derive(Clone, Debug, PartialEq)]
pub enum NamedOrMatcher {
    /// `name`
    Name(String),
    /// `name="v"`, `name=~"re"`...
    Matcher(LabelMatcher),
}

/// Expressions that yield samples.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricExpr {
    /// `count_over_time({...}[5m])`, `quantile_over_time(0.9, ... | unwrap x [5m]) by (a)`.
    Range(RangeAggregation),
    /// `sum by (a) (...)`, `topk(3, ...)`.
    Vector(VectorAggregation),
    /// `a + b`, `a > bool 3`, `a and on(x) b`.
    Binary(BinaryExpr),
    /// A number literal (scalar).
    Literal(f64),
    /// `vector(1)`.
    VectorLiteral(f64),
    /// `label_replace(expr, "dst", "replacement", "src", "regex")`.
    LabelReplace(LabelReplace),
    /// `( expr )`: kept so the printer can reproduce the grouping.
    Paren(Box<MetricExpr>),
}

impl MetricExpr {
    /// True when a vector aggregation with `op` occurs anywhere in the expression; the
    /// querier refuses count-min-sketch operators (`approx_topk`) outside instant queries.
    pub fn contains_vector_op(&self, op: VectorOp) -> bool {
        match self {
            MetricExpr::Vector(v) => v.op == op || v.expr.contains_vector_op(op),
            MetricExpr::Binary(b) => b.lhs.contains_vector_op(op) || b.rhs.contains_vector_op(op),
            MetricExpr::LabelReplace(l) => l.expr.contains_vector_op(op),
            MetricExpr::Paren(e) => e.contains_vector_op(op),
            MetricExpr::Range(_) | MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => false,
        }
    }
}

/// The log range under a range aggregation: `{...} | pipeline [range] offset x` with an
/// optional `| unwrap`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRange {
    /// Selector and pipeline (the stages before `unwrap`).
    pub log: LogExpr,
    /// Range in nanoseconds.
    pub range: i64,
    /// `offset` in nanoseconds (0 when absent).
    pub offset: i64,
    /// `| unwrap ...` with its post-filters.
    pub unwrap: Option<Unwrap>,
}

/// `| unwrap [conv(]label[)] | post filters...`
#[derive(Clone, Debug, PartialEq)]
pub struct Unwrap {
    /// The label whose value becomes the sample value.
    pub label: String,
    /// Conversion.
    pub conv: UnwrapConv,
    /// Label filters after unwrap (`| __error__=""`).
    pub post_filters: Vec<LabelFilter>,
}

/// How an unwrapped label value converts to a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnwrapConv {
    /// Plain float parse.
    None,
    /// `duration(x)` / `duration_seconds(x)`: Go duration to seconds.
    Duration,
    /// `bytes(x)`: humanized bytes to bytes.
    Bytes,
}

/// Range aggregation functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeOp {
    /// `count_over_time`
    Count,
    /// `rate`
    Rate,
    /// `rate_counter`
    RateCounter,
    /// `bytes_over_time`
    Bytes,
    /// `bytes_rate`
    BytesRate,
    /// `absent_over_time`
    Absent,
    /// `sum_over_time`
    Sum,
    /// `avg_over_time`
    Avg,
    /// `min_over_time`
    Min,
    /// `max_over_time`
    Max,
    /// `stdvar_over_time`
    Stdvar,
    /// `stddev_over_time`
    Stddev,
    /// `quantile_over_time`
    Quantile,
    /// `first_over_time`
    First,
    /// `last_over_time`
    Last,
}

/// `op(param?, log_range) grouping?`
#[derive(Clone, Debug, PartialEq)]
pub struct RangeAggregation {
    /// The function.
    pub op: RangeOp,
    /// The log range it aggregates.
    pub range: LogRange,
    /// The quantile for `quantile_over_time`.
    pub param: Option<f64>,
    /// `by (...)`/`without (...)`, allowed only on unwrapped ranges.
    pub grouping: Option<Grouping>,
}

/// `by (a, b)` or `without (a, b)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grouping {
    /// True for `without`.
    pub without: bool,
    /// The label names (may be empty: `by ()`).
    pub labels: Vec<String>,
}

/// Vector aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VectorOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `count`
    Count,
    /// `topk`
    Topk,
    /// `bottomk`
    Bottomk,
    /// `sort`
    Sort,
    /// `sort_desc`
    SortDesc,
    /// `approx_topk` (instant queries only)
    ApproxTopk,
}

/// `op grouping? (param?, expr)`.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorAggregation {
    /// The operator.
    pub op: VectorOp,
    /// The aggregated expression.
    pub expr: Box<MetricExpr>,
    /// `by`/`without`.
    pub grouping: Option<Grouping>,
    /// `k` for `topk`/`bottomk`/`approx_topk`.
    pub param: Option<i64>,
}

/// Binary operators in Prometheus precedence order (see `BinOp::precedence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `unless`
    Unless,
    /// `==`
    Eq,
    /// `!=`
    Neq,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^` (right-associative)
    Pow,
}

impl BinOp {
    /// Binding strength: higher binds tighter (Prometheus order).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eq | BinOp::Neq | BinOp::Gt | BinOp::Gte | BinOp::Lt | BinOp::Lte => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 5,
            BinOp::Pow => 6,
        }
    }

    /// True for `==`, `!=`, `>`, `>=`, `<`, `<=`.
    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }

    /// True for `and`, `or`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
}

/// `lhs op bool? matching? rhs`.
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryExpr {
    /// Operator.
    pub op: BinOp,
    /// Left operand.
    pub lhs: Box<MetricExpr>,
    /// Right operand.
    pub rhs: Box<MetricExpr>,
    /// `bool` modifier on comparisons.
    pub return_bool: bool,
    /// `on(...)`/`ignoring(...)` with `group_left`/`group_right`.
    pub matching: Option<VectorMatching>,
}

/// Vector matching modifiers of a binary expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorMatching {
    /// True for `on`, false for `ignoring`.
    pub on: bool,
    /// The label list of `on`/`ignoring`.
    pub labels: Vec<String>,
    /// One-to-one, or `group_left`/`group_right` with their include labels.
    pub card: Cardinality,
}

/// Matching cardinality.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cardinality {
    /// Default.
    OneToOne,
    /// `group_left(labels...)`
    ManyToOne(Vec<String>),
    /// `group_right(labels...)`
    OneToMany(Vec<String>),
}

/// `label_replace(expr, dst, replacement, src, regex)`.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelReplace {
    /// Input.
    pub expr: Box<MetricExpr>,
    /// Destination label.
    pub dst: String,
    /// Replacement with `$1` references.
    pub replacement: String,
    /// Source label.
    pub src: String,
    /// Regex (anchored when applied).
    pub regex: String,
}
