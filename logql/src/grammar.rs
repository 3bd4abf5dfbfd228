//! The LogQL grammar (chumsky over the lexer's tokens) producing a raw syntax tree.
//!
//! The raw tree keeps what Loki checks only after parsing (matcher regexes, numbers as
//! written, log expressions in binary legs) so that [`crate::validate`] can report those
//! errors with Loki's texts, in the order Loki's parser reduces them.

use chumsky::DefaultExpected;
use chumsky::error::LabelError;
use chumsky::prelude::*;

use crate::ast::{
    BinOp, Cardinality, CmpOp, Grouping, LabelFormatOp, LineFilter, LineFilterOp, LineFilterValue,
    Parser as LogParser, RangeOp, UnwrapConv, VectorMatching, VectorOp,
};
use crate::lexer::Tok;
use crate::matcher::MatchOp;

/// `name op "value"` before its regex is compiled.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RMatcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

/// A label filter before validation (mirrors [`crate::ast::LabelFilter`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RLabelFilter {
    And(Box<RLabelFilter>, Box<RLabelFilter>),
    Or(Box<RLabelFilter>, Box<RLabelFilter>),
    Matcher(RMatcher),
    Number {
        name: String,
        op: CmpOp,
        /// The number as written, with its sign.
        value: String,
    },
    Duration {
        name: String,
        op: CmpOp,
        value: i64,
    },
    Bytes {
        name: String,
        op: CmpOp,
        value: u64,
    },
    Ip {
        name: String,
        negated: bool,
        pattern: String,
    },
}

/// A `drop`/`keep` argument before validation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RNamed {
    Name(String),
    Matcher(RMatcher),
}

/// A pipeline stage before validation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RStage {
    LineFilter(LineFilter),
    Parser(LogParser),
    LabelFilter(RLabelFilter),
    LineFormat(String),
    LabelFormat(Vec<LabelFormatOp>),
    Decolorize,
    Drop(Vec<RNamed>),
    Keep(Vec<RNamed>),
}

/// Selector and stages.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RLog {
    pub selector: Vec<RMatcher>,
    pub stages: Vec<RStage>,
}

/// `| unwrap ...` before validation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RUnwrap {
    pub label: String,
    pub conv: UnwrapConv,
    pub post: Vec<RLabelFilter>,
}

/// A log range before validation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RLogRange {
    pub log: RLog,
    pub range: i64,
    pub offset: i64,
    pub unwrap: Option<RUnwrap>,
}

/// A whole expression before validation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RExpr {
    Log(RLog),
    Range {
        op: RangeOp,
        param: Option<String>,
        range: RLogRange,
        grouping: Option<Grouping>,
    },
    Vector {
        op: VectorOp,
        param: Option<String>,
        expr: Box<RExpr>,
        grouping: Option<Grouping>,
    },
    Binary {
        op: BinOp,
        lhs: Box<RExpr>,
        rhs: Box<RExpr>,
        return_bool: bool,
        matching: Option<VectorMatching>,
    },
    /// Number as written, and whether a unary minus precedes it.
    Literal(String, bool),
    VectorLit(String),
    LabelReplace {
        expr: Box<RExpr>,
        dst: String,
        replacement: String,
        src: String,
        regex: String,
    },
}

/// Grammar switches for the places where Loki versions disagree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dialect {
    /// Accept Loki 3's `|= "a" or "b"` line filter alternatives. Loki 2.9 rejects them
    /// (`syntax error: unexpected STRING`), which is what the conformance corpus pins.
    pub line_filter_or: bool,
}

impl Dialect {
    /// Loki 3.x: what Fenrir accepts by default.
    pub const LOKI_3: Dialect = Dialect {
        line_filter_or: true,
    };
    /// Loki 2.9: rejects the syntax Loki 3 added (what the conformance corpus pins).
    pub const LOKI_2_9: Dialect = Dialect {
        line_filter_or: false,
    };
}

/// The marker of the custom error raised when a log query is used where a metric
/// query is required; reported as `unexpected <next token>`.
pub(crate) const NOT_METRIC: &str = "\u{0}not-metric";

type In<'a> = &'a [Tok];
type Ex<'a, E> = extra::Err<E>;
/// A shared, type-erased parser (cheap to clone).
type P<'a, O, E> = Boxed<'a, 'a, In<'a>, O, Ex<'a, E>>;

/// The error types the grammar runs with: `EmptyErr` for the fast first pass, `Rich`
/// to explain a failure.
pub(crate) trait GErr<'a>:
    chumsky::error::Error<'a, In<'a>>
    + LabelError<'a, In<'a>, DefaultExpected<'a, Tok>>
    + LabelError<'a, In<'a>, &'static str>
    + 'a
{
}

impl<'a, T> GErr<'a> for T where
    T: chumsky::error::Error<'a, In<'a>>
        + LabelError<'a, In<'a>, DefaultExpected<'a, Tok>>
        + LabelError<'a, In<'a>, &'static str>
        + 'a
{
}

fn ident<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, String, Ex<'a, E>> + Clone {
    select! { Tok::Ident(s) => s }.labelled("IDENTIFIER")
}

fn string<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, String, Ex<'a, E>> + Clone {
    select! { Tok::Str(s) => s }.labelled("STRING")
}

fn number<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, String, Ex<'a, E>> + Clone {
    select! { Tok::Number(s) => s }.labelled("NUMBER")
}

fn duration<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, i64, Ex<'a, E>> + Clone {
    select! { Tok::Duration(d) => d }.labelled("DURATION")
}

fn range<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, i64, Ex<'a, E>> + Clone {
    select! { Tok::Range(d) => d }.labelled("RANGE")
}

fn bytes<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, u64, Ex<'a, E>> + Clone {
    select! { Tok::Bytes(b) => b }.labelled("BYTES")
}

fn flag<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, String, Ex<'a, E>> + Clone {
    select! { Tok::Flag(f) => f }.labelled("PARSER_FLAG")
}

fn t<'a, E: GErr<'a>>(tok: Tok) -> impl Parser<'a, In<'a>, Tok, Ex<'a, E>> + Clone {
    just(tok)
}

fn matcher<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, RMatcher, Ex<'a, E>> + Clone {
    let op = choice((
        t(Tok::Eq).to(MatchOp::Eq),
        t(Tok::Neq).to(MatchOp::Neq),
        t(Tok::Re).to(MatchOp::Re),
        t(Tok::Nre).to(MatchOp::Nre),
    ));
    ident()
        .then(op)
        .then(string())
        .map(|((name, op), value)| RMatcher { name, op, value })
}

fn selector<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, Vec<RMatcher>, Ex<'a, E>> + Clone {
    matcher()
        .separated_by(t(Tok::Comma))
        .at_least(1)
        .collect::<Vec<_>>()
        .or_not()
        .map(Option::unwrap_or_default)
        .delimited_by(t(Tok::LBrace), t(Tok::RBrace))
}

fn line_filter<'a, E: GErr<'a>>(
    dialect: Dialect,
) -> impl Parser<'a, In<'a>, Vec<LineFilter>, Ex<'a, E>> + Clone {
    let op = choice((
        t(Tok::PipeExact).to(LineFilterOp::Contains),
        t(Tok::Neq).to(LineFilterOp::NotContains),
        t(Tok::PipeMatch).to(LineFilterOp::Match),
        t(Tok::Nre).to(LineFilterOp::NotMatch),
        t(Tok::PipePattern).to(LineFilterOp::Pattern),
        t(Tok::Npa).to(LineFilterOp::NotPattern),
    ));
    let value = choice((
        string().map(LineFilterValue::Str),
        t(Tok::Ip)
            .ignore_then(string().delimited_by(t(Tok::LParen), t(Tok::RParen)))
            .map(LineFilterValue::Ip),
    ));
    let more = if dialect.line_filter_or {
        t(Tok::Or)
            .ignore_then(value.clone())
            .repeated()
            .collect::<Vec<_>>()
            .boxed()
    } else {
        empty().to(Vec::new()).boxed()
    };
    op.then(value).then(more).map(|((op, first), rest)| {
        let mut values = vec![first];
        values.extend(rest);
        if op.is_negative() {
            // `!= "a" or "b"` is `!= "a" != "b"`: one stage per value.
            values
                .into_iter()
                .map(|v| LineFilter {
                    op,
                    values: vec![v],
                })
                .collect()
        } else {
            vec![LineFilter { op, values }]
        }
    })
}

#[derive(Clone, Copy, PartialEq)]
enum LfJoin {
    And,
    Or,
    Comma,
    Juxt,
}

/// Operator-precedence folding of `first (op term)*`: before pushing `op2`, the pending
/// operator `op1` is reduced while `reduce_first(op1, op2)` holds (a shift-reduce parser).
fn fold_ops<T, O>(
    first: T,
    rest: Vec<(O, T)>,
    reduce_first: impl Fn(&O, &O) -> bool,
    combine: impl Fn(O, T, T) -> T,
) -> T {
    let mut stack: Vec<(T, O)> = Vec::new();
    let mut cur = first;
    for (op2, term) in rest {
        while matches!(stack.last(), Some((_, op1)) if reduce_first(op1, &op2)) {
            if let Some((lhs, op1)) = stack.pop() {
                cur = combine(op1, lhs, cur);
            }
        }
        stack.push((cur, op2));
        cur = term;
    }
    while let Some((lhs, op)) = stack.pop() {
        cur = combine(op, lhs, cur);
    }
    cur
}

/// Combines `a op b op c ...` the way Loki's yacc grammar resolves it: `,` and
/// juxtaposition always shift (bind to the right), `and` binds tighter than `or`.
fn fold_label_filters(first: RLabelFilter, rest: Vec<(LfJoin, RLabelFilter)>) -> RLabelFilter {
    fn prec(j: LfJoin) -> Option<u8> {
        match j {
            LfJoin::And => Some(2),
            LfJoin::Or => Some(1),
            _ => None,
        }
    }
    fold_ops(
        first,
        rest,
        |op1, op2| matches!((prec(*op1), prec(*op2)), (Some(a), Some(b)) if a >= b),
        |j, l, r| match j {
            LfJoin::Or => RLabelFilter::Or(Box::new(l), Box::new(r)),
            _ => RLabelFilter::And(Box::new(l), Box::new(r)),
        },
    )
}

fn label_filter<'a, E: GErr<'a>>() -> P<'a, RLabelFilter, E> {
    recursive(|lf| {
        let cmp = choice((
            t(Tok::Gt).to(CmpOp::Gt),
            t(Tok::Gte).to(CmpOp::Gte),
            t(Tok::Lt).to(CmpOp::Lt),
            t(Tok::Lte).to(CmpOp::Lte),
            t(Tok::Neq).to(CmpOp::Neq),
            t(Tok::Eq).to(CmpOp::Eq),
            t(Tok::CmpEq).to(CmpOp::Eq),
        ));
        // Loki 3 accepts a sign; it is left out of `expecting` lists like Loki 2.9.
        let signed = choice((
            number().map(|n| n),
            t(Tok::Add).labelled("").ignore_then(number()),
            t(Tok::Sub)
                .labelled("")
                .ignore_then(number())
                .map(|n| format!("-{n}")),
        ));
        enum Rhs {
            Dur(i64),
            Bytes(u64),
            Num(String),
        }
        let ip = ident()
            .then(choice((t(Tok::Eq).to(false), t(Tok::Neq).to(true))))
            .then_ignore(t(Tok::Ip))
            .then(string().delimited_by(t(Tok::LParen), t(Tok::RParen)))
            .map(|((name, negated), pattern)| RLabelFilter::Ip {
                name,
                negated,
                pattern,
            });
        let cmp_filter = ident()
            .then(cmp)
            .then(choice((
                duration().map(Rhs::Dur),
                bytes().map(Rhs::Bytes),
                signed.map(Rhs::Num),
            )))
            .map(|((name, op), rhs)| match rhs {
                Rhs::Dur(value) => RLabelFilter::Duration { name, op, value },
                Rhs::Bytes(value) => RLabelFilter::Bytes { name, op, value },
                Rhs::Num(value) => RLabelFilter::Number { name, op, value },
            });
        let atom = choice((
            ip,
            matcher().map(RLabelFilter::Matcher),
            cmp_filter,
            lf.delimited_by(t(Tok::LParen), t(Tok::RParen)),
        ))
        .boxed();
        let join = choice((
            t(Tok::And).to(LfJoin::And),
            t(Tok::Or).to(LfJoin::Or),
            t(Tok::Comma).to(LfJoin::Comma),
            empty().to(LfJoin::Juxt),
        ));
        atom.clone()
            .then(join.then(atom).repeated().collect::<Vec<_>>())
            .map(|(first, rest)| fold_label_filters(first, rest))
    })
    .boxed()
}

fn pipeline<'a, E: GErr<'a>>(
    dialect: Dialect,
    lf: P<'a, RLabelFilter, E>,
) -> P<'a, Vec<RStage>, E> {
    let extraction = ident()
        .then(t(Tok::Eq).ignore_then(string()).or_not())
        .map(|(name, expr)| {
            let e = expr.unwrap_or_else(|| name.clone());
            (name, e)
        });
    let extractions = extraction
        .separated_by(t(Tok::Comma))
        .at_least(1)
        .collect::<Vec<_>>();
    let logfmt = t(Tok::Logfmt)
        .ignore_then(flag().repeated().collect::<Vec<_>>())
        .then(extractions.clone().or_not())
        .map(|(flags, params)| {
            RStage::Parser(LogParser::Logfmt {
                strict: flags.iter().any(|f| f == "--strict"),
                keep_empty: flags.iter().any(|f| f == "--keep-empty"),
                params: params.unwrap_or_default(),
            })
        });
    let json = t(Tok::Json)
        .ignore_then(extractions.or_not())
        .map(|p| RStage::Parser(LogParser::Json(p.unwrap_or_default())));
    let regexp = t(Tok::Regexp)
        .ignore_then(string())
        .map(|s| RStage::Parser(LogParser::Regexp(s)));
    let pattern = t(Tok::Pattern)
        .ignore_then(string())
        .map(|s| RStage::Parser(LogParser::Pattern(s)));
    let unpack = t(Tok::Unpack).to(RStage::Parser(LogParser::Unpack));
    let line_format = t(Tok::LineFmt)
        .ignore_then(string())
        .map(RStage::LineFormat);
    let decolorize = t(Tok::Decolorize).to(RStage::Decolorize);
    let label_fmt_op = ident()
        .then_ignore(t(Tok::Eq))
        .then(choice((ident().map(Ok), string().map(Err))))
        .map(|(dst, v)| match v {
            Ok(src) => LabelFormatOp::Rename { dst, src },
            Err(template) => LabelFormatOp::Template { dst, template },
        });
    let label_format = t(Tok::LabelFmt)
        .ignore_then(
            label_fmt_op
                .separated_by(t(Tok::Comma))
                .at_least(1)
                .collect::<Vec<_>>(),
        )
        .map(RStage::LabelFormat);
    let named = choice((matcher().map(RNamed::Matcher), ident().map(RNamed::Name)))
        .separated_by(t(Tok::Comma))
        .at_least(1)
        .collect::<Vec<_>>();
    let drop = t(Tok::Drop).ignore_then(named.clone()).map(RStage::Drop);
    let keep = t(Tok::Keep).ignore_then(named).map(RStage::Keep);
    let pipe_stage = t(Tok::Pipe).ignore_then(choice((
        logfmt,
        json,
        regexp,
        pattern,
        unpack,
        line_format,
        decolorize,
        label_format,
        drop,
        keep,
        lf.map(RStage::LabelFilter),
    )));
    choice((
        line_filter(dialect).map(|fs| fs.into_iter().map(RStage::LineFilter).collect()),
        pipe_stage.map(|s| vec![s]),
    ))
    .repeated()
    .at_least(1)
    .collect::<Vec<Vec<RStage>>>()
    .map(|v| v.into_iter().flatten().collect())
    .boxed()
}

fn unwrap<'a, E: GErr<'a>>(lf: P<'a, RLabelFilter, E>) -> P<'a, RUnwrap, E> {
    let conv = choice((
        t(Tok::BytesConv).to(UnwrapConv::Bytes),
        t(Tok::DurationConv).to(UnwrapConv::Duration),
        t(Tok::DurationSecondsConv).to(UnwrapConv::Duration),
    ));
    let target = choice((
        ident().map(|l| (UnwrapConv::None, l)),
        conv.then(ident().delimited_by(t(Tok::LParen), t(Tok::RParen))),
    ));
    t(Tok::Pipe)
        .ignore_then(t(Tok::Unwrap))
        .ignore_then(target)
        .then(t(Tok::Pipe).ignore_then(lf).repeated().collect::<Vec<_>>())
        .map(|((conv, label), post)| RUnwrap { label, conv, post })
        .boxed()
}

fn log_range<'a, E: GErr<'a>>(
    pipe: P<'a, Vec<RStage>, E>,
    unw: P<'a, RUnwrap, E>,
) -> P<'a, RLogRange, E> {
    recursive(move |lr| {
        let offset = t(Tok::Offset).ignore_then(duration());
        // `{...} [5m] offset 1h | json | unwrap x`
        let after = range()
            .then(offset.clone().or_not())
            .then(pipe.clone().or_not())
            .then(unw.clone().or_not())
            .map(|(((range, offset), stages), unwrap)| {
                (stages.unwrap_or_default(), unwrap, range, offset)
            });
        // `{...} | json | unwrap x [5m] offset 1h`
        let before = choice((
            pipe.clone().then(unw.clone().or_not()).map(|(s, u)| (s, u)),
            unw.clone().map(|u| (Vec::new(), Some(u))),
        ))
        .then(range())
        .then(offset.clone().or_not())
        .map(|(((stages, unwrap), range), offset)| (stages, unwrap, range, offset));
        let plain = selector().then(choice((after, before))).map(
            |(selector, (stages, unwrap, range, offset))| RLogRange {
                log: RLog { selector, stages },
                range,
                offset: offset.unwrap_or(0),
                unwrap,
            },
        );
        // `({...} | json) [5m]`
        let paren_sel = selector()
            .then(pipe.clone().or_not())
            .then(unw.clone().or_not())
            .delimited_by(t(Tok::LParen), t(Tok::RParen))
            .then(range())
            .then(offset.or_not())
            .map(
                |((((selector, stages), unwrap), range), offset)| RLogRange {
                    log: RLog {
                        selector,
                        stages: stages.unwrap_or_default(),
                    },
                    range,
                    offset: offset.unwrap_or(0),
                    unwrap,
                },
            );
        choice((
            plain,
            paren_sel,
            lr.delimited_by(t(Tok::LParen), t(Tok::RParen)),
        ))
        .boxed()
    })
    .boxed()
}

fn grouping<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, Grouping, Ex<'a, E>> + Clone {
    choice((t(Tok::By).to(false), t(Tok::Without).to(true)))
        .then(label_list())
        .map(|(without, labels)| Grouping { without, labels })
}

fn label_list<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, Vec<String>, Ex<'a, E>> + Clone {
    ident()
        .separated_by(t(Tok::Comma))
        .at_least(1)
        .collect::<Vec<_>>()
        .or_not()
        .map(Option::unwrap_or_default)
        .delimited_by(t(Tok::LParen), t(Tok::RParen))
}

struct BinMod {
    return_bool: bool,
    matching: Option<VectorMatching>,
}

fn bin_modifier<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, BinMod, Ex<'a, E>> + Clone {
    let group = choice((t(Tok::GroupLeft).to(true), t(Tok::GroupRight).to(false)))
        .then(label_list().or_not())
        .map(|(left, labels)| {
            let labels = labels.unwrap_or_default();
            if left {
                Cardinality::ManyToOne(labels)
            } else {
                Cardinality::OneToMany(labels)
            }
        });
    let on = choice((t(Tok::On).to(true), t(Tok::Ignoring).to(false)))
        .then(label_list())
        .then(group.or_not())
        .map(|((on, labels), card)| VectorMatching {
            on,
            labels,
            card: card.unwrap_or(Cardinality::OneToOne),
        });
    t(Tok::Bool)
        .or_not()
        .then(on.or_not())
        .map(|(b, matching)| BinMod {
            return_bool: b.is_some(),
            matching,
        })
}

fn bin_op<'a, E: GErr<'a>>() -> impl Parser<'a, In<'a>, BinOp, Ex<'a, E>> + Clone {
    choice((
        t(Tok::Or).to(BinOp::Or),
        t(Tok::And).to(BinOp::And),
        t(Tok::Unless).to(BinOp::Unless),
        t(Tok::CmpEq).to(BinOp::Eq),
        t(Tok::Neq).to(BinOp::Neq),
        t(Tok::Gt).to(BinOp::Gt),
        t(Tok::Gte).to(BinOp::Gte),
        t(Tok::Lt).to(BinOp::Lt),
        t(Tok::Lte).to(BinOp::Lte),
        t(Tok::Add).to(BinOp::Add),
        t(Tok::Sub).to(BinOp::Sub),
        t(Tok::Mul).to(BinOp::Mul),
        t(Tok::Div).to(BinOp::Div),
        t(Tok::Mod).to(BinOp::Mod),
        t(Tok::Pow).to(BinOp::Pow),
    ))
}

/// Prometheus precedence climbing over `a op b op c ...` (`^` is right-associative).
fn fold_binary(first: RExpr, rest: Vec<(BinOp, BinMod, RExpr)>) -> RExpr {
    fold_ops(
        first,
        rest.into_iter().map(|(op, m, e)| ((op, m), e)).collect(),
        |(op1, _), (op2, _)| {
            let (p1, p2) = (op1.precedence(), op2.precedence());
            p1 > p2 || (p1 == p2 && *op2 != BinOp::Pow)
        },
        |(op, m), l, r| RExpr::Binary {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
            return_bool: m.return_bool,
            matching: m.matching,
        },
    )
}

/// The whole-query grammar.
pub(crate) fn expr<'a, E: GErr<'a>>(
    dialect: Dialect,
) -> impl Parser<'a, In<'a>, RExpr, Ex<'a, E>> + Clone {
    let lf = label_filter();
    let pipe = pipeline(dialect, lf.clone());
    let lr = log_range(pipe.clone(), unwrap(lf));
    recursive(move |expr| {
        // A log query where a metric query is required: Loki fails on the next token.
        let metric_arg = expr.clone().validate(|e: RExpr, extra, emitter| {
            if let RExpr::Log(_) = e {
                let span: SimpleSpan = extra.span();
                let end = span.end;
                emitter.emit(<E as LabelError<'a, In<'a>, &'static str>>::expected_found(
                    [NOT_METRIC],
                    None,
                    SimpleSpan::from(end..end + 1),
                ));
            }
            e
        });
        let literal = choice((
            number().map(|n| RExpr::Literal(n, false)),
            t(Tok::Add)
                .ignore_then(number())
                .map(|n| RExpr::Literal(n, false)),
            t(Tok::Sub)
                .ignore_then(number())
                .map(|n| RExpr::Literal(n, true)),
        ));
        let vector_lit = t(Tok::Vector)
            .ignore_then(number().delimited_by(t(Tok::LParen), t(Tok::RParen)))
            .map(RExpr::VectorLit);
        let range_op = select! { Tok::RangeFn(op) => op };
        let range_agg = range_op
            .then(
                number()
                    .then_ignore(t(Tok::Comma))
                    .or_not()
                    .then(lr.clone())
                    .delimited_by(t(Tok::LParen), t(Tok::RParen)),
            )
            .then(grouping().or_not())
            .map(|((op, (param, range)), grouping)| RExpr::Range {
                op,
                param,
                range,
                grouping,
            });
        let vector_op = select! { Tok::VectorFn(op) => op };
        let args = number()
            .then_ignore(t(Tok::Comma))
            .or_not()
            .then(metric_arg.clone())
            .delimited_by(t(Tok::LParen), t(Tok::RParen));
        let vector_agg = vector_op
            .then(choice((
                grouping()
                    .then(args.clone())
                    .map(|(g, (p, e))| (Some(g), p, e)),
                args.then(grouping().or_not()).map(|((p, e), g)| (g, p, e)),
            )))
            .map(|(op, (grouping, param, e))| RExpr::Vector {
                op,
                param,
                expr: Box::new(e),
                grouping,
            });
        let label_replace = t(Tok::LabelReplace)
            .ignore_then(
                metric_arg
                    .then_ignore(t(Tok::Comma))
                    .then(string())
                    .then_ignore(t(Tok::Comma))
                    .then(string())
                    .then_ignore(t(Tok::Comma))
                    .then(string())
                    .then_ignore(t(Tok::Comma))
                    .then(string())
                    .delimited_by(t(Tok::LParen), t(Tok::RParen)),
            )
            .map(
                |((((e, dst), replacement), src), regex)| RExpr::LabelReplace {
                    expr: Box::new(e),
                    dst,
                    replacement,
                    src,
                    regex,
                },
            );
        let log_expr = selector()
            .then(pipe.clone().or_not())
            .map(|(selector, stages)| {
                RExpr::Log(RLog {
                    selector,
                    stages: stages.unwrap_or_default(),
                })
            });
        let paren = expr.delimited_by(t(Tok::LParen), t(Tok::RParen));
        let atom = choice((
            range_agg,
            vector_agg,
            label_replace,
            vector_lit,
            literal,
            log_expr,
            paren,
        ))
        .boxed();
        atom.clone()
            .then(
                bin_op()
                    .then(bin_modifier())
                    .then(atom)
                    .map(|((op, m), e)| (op, m, e))
                    .repeated()
                    .collect::<Vec<_>>(),
            )
            .map(|(first, rest)| fold_binary(first, rest))
            .boxed()
    })
}

/// Parses the tokens as one whole query. A first pass with a zero-cost error type
/// handles valid queries; only a failing query is parsed again to explain the error.
pub(crate) fn parse_tokens(toks: &[Tok], dialect: Dialect) -> Result<RExpr, Vec<Rich<'_, Tok>>> {
    if let Ok(raw) = expr::<EmptyErr>(dialect)
        .then_ignore(end())
        .parse(toks)
        .into_result()
    {
        return Ok(raw);
    }
    expr::<Rich<'_, Tok>>(dialect)
        .then_ignore(end())
        .parse(toks)
        .into_result()
}
