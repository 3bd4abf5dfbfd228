//! The functions a Loki template can call: Go's builtins (`eq`, `index`, `printf`, ...),
//! Loki's own (`__line__`, `__timestamp__`, `regexReplaceAll`, `alignLeft`, ...) and the
//! sprig functions Loki exposes, each with Go's parameter types and behaviour.

use std::borrow::Cow;

use regex::{NoExpand, Regex};

use super::decimal::{self, Decimal, Op};
use super::gofmt;
use super::gotime::GoTime;
use super::location::Location;
use super::value::{Kind, Value};

/// A function parameter's Go type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum P {
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `float64`.
    Float,
    /// `interface{}`.
    Any,
    /// `time.Time`.
    Time,
    /// `reflect.Value` (builtins that see missing values as they are).
    Raw,
}

impl P {
    /// Go's name of the type, for error messages.
    pub fn go_name(self) -> &'static str {
        match self {
            P::Str => "string",
            P::Int => "int",
            P::Float => "float64",
            P::Any => "interface {}",
            P::Time => "time.Time",
            P::Raw => "reflect.Value",
        }
    }
}

/// A function's parameter list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sig {
    pub fixed: &'static [P],
    pub variadic: Option<P>,
}

macro_rules! funcs {
    ($($name:literal => $variant:ident ( $($p:ident),* ) $(... $v:ident)?;)*) => {
        /// Every function a template may name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Func { $($variant,)* }

        impl Func {
            /// The function called `name`, if templates have one.
            pub fn lookup(name: &str) -> Option<Func> {
                match name {
                    $($name => Some(Func::$variant),)*
                    _ => None,
                }
            }

            /// Its parameters.
            pub fn sig(self) -> Sig {
                match self {
                    $(Func::$variant => Sig {
                        fixed: &[$(P::$p),*],
                        variadic: funcs!(@v $($v)?),
                    },)*
                }
            }
        }
    };
    (@v) => { None };
    (@v $v:ident) => { Some(P::$v) };
}

funcs! {
    // Go builtins
    "and" => And(Raw) ... Raw;
    "or" => Or(Raw) ... Raw;
    "not" => Not(Raw);
    "len" => Len(Raw);
    "index" => Index(Raw) ... Raw;
    "slice" => Slice(Raw) ... Raw;
    "print" => Print() ... Any;
    "printf" => Printf(Str) ... Any;
    "println" => Println() ... Any;
    "html" => Html() ... Any;
    "js" => Js() ... Any;
    "urlquery" => UrlQuery() ... Any;
    "eq" => Eq(Raw) ... Raw;
    "ne" => Ne(Raw, Raw);
    "lt" => Lt(Raw, Raw);
    "le" => Le(Raw, Raw);
    "gt" => Gt(Raw, Raw);
    "ge" => Ge(Raw, Raw);
    // Loki
    "__line__" => Line();
    "__timestamp__" => Timestamp();
    "ToLower" => GoToLower(Str);
    "ToUpper" => GoToUpper(Str);
    "Replace" => GoReplace(Str, Str, Str, Int);
    "Trim" => GoTrim(Str, Str);
    "TrimLeft" => GoTrimLeft(Str, Str);
    "TrimRight" => GoTrimRight(Str, Str);
    "TrimPrefix" => GoTrimPrefix(Str, Str);
    "TrimSuffix" => GoTrimSuffix(Str, Str);
    "TrimSpace" => GoTrimSpace(Str);
    "regexReplaceAll" => RegexReplaceAll(Str, Str, Str);
    "regexReplaceAllLiteral" => RegexReplaceAllLiteral(Str, Str, Str);
    "count" => Count(Str, Str);
    "urldecode" => UrlDecode(Str);
    "urlencode" => UrlEncode(Str);
    "bytes" => Bytes(Str);
    "duration" => Duration(Str);
    "duration_seconds" => DurationSeconds(Str);
    "unixEpochMillis" => UnixEpochMillis(Time);
    "unixEpochNanos" => UnixEpochNanos(Time);
    "toDateInZone" => ToDateInZone(Str, Str, Str);
    "unixToTime" => UnixToTime(Str);
    "alignLeft" => AlignLeft(Int, Str);
    "alignRight" => AlignRight(Int, Str);
    // sprig
    "b64enc" => B64Enc(Str);
    "b64dec" => B64Dec(Str);
    "lower" => Lower(Str);
    "upper" => Upper(Str);
    "title" => Title(Str);
    "trunc" => Trunc(Int, Str);
    "substr" => Substr(Int, Int, Str);
    "contains" => Contains(Str, Str);
    "hasPrefix" => HasPrefix(Str, Str);
    "hasSuffix" => HasSuffix(Str, Str);
    "indent" => Indent(Int, Str);
    "nindent" => NIndent(Int, Str);
    "replace" => SprigReplace(Str, Str, Str);
    "repeat" => Repeat(Int, Str);
    "trim" => SprigTrim(Str);
    "trimAll" => TrimAll(Str, Str);
    "trimSuffix" => SprigTrimSuffix(Str, Str);
    "trimPrefix" => SprigTrimPrefix(Str, Str);
    "int" => ToInt(Any);
    "float64" => ToFloat64(Any);
    "add" => Add() ... Any;
    "sub" => Sub(Any, Any);
    "mul" => Mul(Any) ... Any;
    "div" => Div(Any, Any);
    "mod" => Mod(Any, Any);
    "addf" => AddF() ... Any;
    "subf" => SubF(Any) ... Any;
    "mulf" => MulF(Any) ... Any;
    "divf" => DivF(Any) ... Any;
    "max" => Max(Any) ... Any;
    "min" => Min(Any) ... Any;
    "maxf" => MaxF(Any) ... Any;
    "minf" => MinF(Any) ... Any;
    "ceil" => Ceil(Any);
    "floor" => Floor(Any);
    "round" => Round(Any, Int) ... Float;
    "fromJson" => FromJson(Str);
    "date" => Date(Str, Any);
    "toDate" => ToDate(Str, Str);
    "now" => Now();
    "unixEpoch" => UnixEpoch(Time);
    "default" => Default(Any) ... Any;
}

/// What a function may read besides its arguments.
pub(crate) struct CallEnv<'a> {
    pub line: &'a str,
    pub ts: i64,
    /// A regex compiled at parse time for a literal pattern argument.
    pub regex: Option<&'a Regex>,
}

type R<'a> = Result<Value<'a>, String>;

fn s<'v, 'a>(args: &'v [Value<'a>], i: usize) -> &'v str {
    args.get(i).and_then(Value::as_str).unwrap_or("")
}

fn int(args: &[Value<'_>], i: usize) -> i64 {
    match args.get(i) {
        Some(Value::Int(v) | Value::Int64(v)) => *v,
        _ => 0,
    }
}

fn time(args: &[Value<'_>], i: usize) -> GoTime {
    match args.get(i) {
        Some(Value::Time(t)) => *t,
        _ => GoTime::zero(),
    }
}

fn owned<'a>(s: String) -> Value<'a> {
    Value::Str(Cow::Owned(s))
}

/// Compiles a Go regular expression, with Go's error prefix.
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| {
        let detail = match e {
            regex::Error::Syntax(s) => s.lines().last().unwrap_or("").trim().to_string(),
            other => other.to_string(),
        };
        format!("error parsing regexp: {detail}: `{pattern}`")
    })
}

impl Func {
    /// Calls the function on arguments already converted to its parameter types.
    pub fn call<'a>(self, env: &CallEnv<'a>, args: Vec<Value<'a>>) -> R<'a> {
        use Func::*;
        let a = &args;
        Ok(match self {
            And | Or => return Err("internal: and/or evaluated eagerly".into()),
            Not => Value::Bool(!a[0].truth()),
            Len => Value::Int(len(&a[0])?),
            Index => return index(args),
            Slice => return slice(args),
            Print => {
                let mut o = String::new();
                gofmt::sprint(a, &mut o);
                owned(o)
            }
            Printf => {
                let mut o = String::new();
                gofmt::sprintf(s(a, 0), &a[1..], &mut o);
                owned(o)
            }
            Println => {
                let mut o = String::new();
                gofmt::sprintln(a, &mut o);
                owned(o)
            }
            Html => owned(html_escape(&eval_args(a))),
            Js => owned(js_escape(&eval_args(a))),
            UrlQuery => owned(query_escape(&eval_args(a))),
            Eq => Value::Bool(eq(&a[0], &a[1..])?),
            Ne => Value::Bool(!eq(&a[0], &a[1..])?),
            Lt => Value::Bool(lt(&a[0], &a[1])?),
            Le => Value::Bool(lt(&a[0], &a[1])? || eq(&a[0], &a[1..])?),
            Gt => Value::Bool(!(lt(&a[0], &a[1])? || eq(&a[0], &a[1..])?)),
            Ge => Value::Bool(!lt(&a[0], &a[1])?),
            Line => Value::Str(Cow::Borrowed(env.line)),
            Timestamp => Value::Time(GoTime::from_unix_nanos(env.ts)),
            GoToLower | Lower => owned(go_lower(s(a, 0))),
            GoToUpper | Upper => owned(go_upper(s(a, 0))),
            GoReplace => {
                let n = int(a, 3);
                if n < 0 {
                    owned(s(a, 0).replace(s(a, 1), s(a, 2)))
                } else {
                    owned(s(a, 0).replacen(s(a, 1), s(a, 2), n as usize))
                }
            }
            GoTrim => owned(trim_set(s(a, 0), s(a, 1), true, true)),
            GoTrimLeft => owned(trim_set(s(a, 0), s(a, 1), true, false)),
            GoTrimRight => owned(trim_set(s(a, 0), s(a, 1), false, true)),
            GoTrimPrefix => owned(s(a, 0).strip_prefix(s(a, 1)).unwrap_or(s(a, 0)).to_string()),
            GoTrimSuffix => owned(s(a, 0).strip_suffix(s(a, 1)).unwrap_or(s(a, 0)).to_string()),
            GoTrimSpace | SprigTrim => owned(s(a, 0).trim().to_string()),
            RegexReplaceAll | RegexReplaceAllLiteral | Count => {
                let compiled;
                let re = match env.regex {
                    Some(r) => r,
                    None => {
                        compiled = compile_regex(s(a, 0))?;
                        &compiled
                    }
                };
                match self {
                    Count => Value::Int(re.find_iter(s(a, 1)).count() as i64),
                    RegexReplaceAll => owned(re.replace_all(s(a, 1), s(a, 2)).into_owned()),
                    _ => owned(re.replace_all(s(a, 1), NoExpand(s(a, 2))).into_owned()),
                }
            }
            UrlDecode => owned(query_unescape(s(a, 0))?),
            UrlEncode => owned(query_escape(s(a, 0))),
            Bytes => Value::Float(parse_bytes(s(a, 0))?),
            Duration | DurationSeconds => Value::Float(parse_duration_secs(s(a, 0))?),
            UnixEpochMillis => owned(time(a, 0).unix_milli().to_string()),
            UnixEpochNanos => owned(time(a, 0).unix_nano().to_string()),
            UnixEpoch => owned(time(a, 0).unix().to_string()),
            ToDateInZone => Value::Time(to_date_in_zone(s(a, 0), s(a, 1), s(a, 2))),
            ToDate => Value::Time(GoTime::parse(s(a, 0), s(a, 1)).unwrap_or(GoTime::zero())),
            UnixToTime => Value::Time(unix_to_time(s(a, 0))?),
            AlignLeft => owned(align(int(a, 0), s(a, 1), true)?),
            AlignRight => owned(align(int(a, 0), s(a, 1), false)?),
            B64Enc => owned(b64_encode(s(a, 0).as_bytes())),
            B64Dec => owned(match b64_decode(s(a, 0)) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => e,
            }),
            Title => owned(title(s(a, 0))),
            Trunc => owned(trunc(int(a, 0), s(a, 1))),
            Substr => owned(substring(int(a, 0), int(a, 1), s(a, 2))),
            Contains => Value::Bool(s(a, 1).contains(s(a, 0))),
            HasPrefix => Value::Bool(s(a, 1).starts_with(s(a, 0))),
            HasSuffix => Value::Bool(s(a, 1).ends_with(s(a, 0))),
            Indent => owned(indent(int(a, 0), s(a, 1))?),
            NIndent => owned(format!("\n{}", indent(int(a, 0), s(a, 1))?)),
            SprigReplace => owned(s(a, 2).replace(s(a, 0), s(a, 1))),
            Repeat => {
                let n = int(a, 0);
                if n < 0 {
                    return Err("strings: negative Repeat count".into());
                }
                let base = s(a, 1);
                if base.len().saturating_mul(n as usize) > 64 << 20 {
                    return Err("strings: Repeat output length overflow".into());
                }
                owned(base.repeat(n as usize))
            }
            TrimAll => owned(trim_set(s(a, 1), s(a, 0), true, true)),
            SprigTrimSuffix => owned(s(a, 1).strip_suffix(s(a, 0)).unwrap_or(s(a, 1)).to_string()),
            SprigTrimPrefix => owned(s(a, 1).strip_prefix(s(a, 0)).unwrap_or(s(a, 1)).to_string()),
            ToInt => Value::Int(a[0].to_int64()),
            ToFloat64 => Value::Float(a[0].to_float64()),
            Add => Value::Int64(a.iter().fold(0i64, |acc, v| acc.wrapping_add(v.to_int64()))),
            Sub => Value::Int64(a[0].to_int64().wrapping_sub(a[1].to_int64())),
            Mul => Value::Int64(a.iter().fold(1i64, |acc, v| acc.wrapping_mul(v.to_int64()))),
            Div | Mod => {
                let (x, y) = (a[0].to_int64(), a[1].to_int64());
                if y == 0 {
                    return Err("runtime error: integer divide by zero".into());
                }
                Value::Int64(if self == Div {
                    x.wrapping_div(y)
                } else {
                    x.wrapping_rem(y)
                })
            }
            Max => Value::Int64(a.iter().map(Value::to_int64).max().unwrap_or(0)),
            Min => Value::Int64(a.iter().map(Value::to_int64).min().unwrap_or(0)),
            MaxF => Value::Float(
                a.iter()
                    .map(Value::to_float64)
                    .fold(f64::NEG_INFINITY, go_max),
            ),
            MinF => Value::Float(a.iter().map(Value::to_float64).fold(f64::INFINITY, go_min)),
            AddF => decimal_op(Value::Float(0.0), a, Op::Add)?,
            SubF => decimal_op(a[0].clone(), &a[1..], Op::Sub)?,
            MulF => decimal_op(a[0].clone(), &a[1..], Op::Mul)?,
            DivF => decimal_op(a[0].clone(), &a[1..], Op::Div)?,
            Ceil => Value::Float(a[0].to_float64().ceil()),
            Floor => Value::Float(a[0].to_float64().floor()),
            Round => {
                let round_on = match a.get(2) {
                    Some(Value::Float(f)) => *f,
                    _ => 0.5,
                };
                let val = a[0].to_float64();
                let pow = 10f64.powi(int(a, 1) as i32);
                let digit = pow * val;
                let div = digit.fract();
                let r = if div >= round_on {
                    digit.ceil()
                } else {
                    digit.floor()
                };
                Value::Float(r / pow)
            }
            FromJson => match serde_json::from_str::<serde_json::Value>(s(a, 0)) {
                Ok(v) => Value::from_json(v),
                Err(_) => Value::Nil,
            },
            Date => owned(date_in_zone(s(a, 0), &a[1], "Local")),
            Now => Value::Time(GoTime::now()),
            Default => match a.get(1) {
                Some(v) if !v.is_empty_value() => v.clone(),
                _ => a[0].clone(),
            },
        })
    }
}

/// Go's `math.Max`: NaN wins.
fn go_max(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v.is_nan() {
        f64::NAN
    } else {
        acc.max(v)
    }
}

fn go_min(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v.is_nan() {
        f64::NAN
    } else {
        acc.min(v)
    }
}

fn decimal_op<'a>(first: Value<'a>, rest: &[Value<'a>], op: Op) -> R<'a> {
    let nan = |f: f64| {
        if f.is_nan() {
            "Cannot create a Decimal from NaN".to_string()
        } else {
            format!(
                "Cannot create a Decimal from {}",
                if f > 0.0 { "+Inf" } else { "-Inf" }
            )
        }
    };
    let f0 = first.to_float64();
    let mut acc = Decimal::from_f64(f0).ok_or_else(|| nan(f0))?;
    let mut float_acc: Option<f64> = None;
    for v in rest {
        let f = v.to_float64();
        let d = Decimal::from_f64(f).ok_or_else(|| nan(f))?;
        if let Some(fa) = float_acc {
            float_acc = Some(decimal::float_op(op, fa, f));
            continue;
        }
        match acc.apply(op, d).map_err(str::to_string)? {
            Some(next) => acc = next,
            None => float_acc = Some(decimal::float_op(op, acc.to_f64(), f)),
        }
    }
    Ok(Value::Float(float_acc.unwrap_or_else(|| acc.to_f64())))
}

fn len(v: &Value<'_>) -> Result<i64, String> {
    Ok(match v {
        Value::Str(s) => s.len() as i64,
        Value::Labels(l) => l.len() as i64,
        Value::Map(m) => m.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Invalid | Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    })
}

fn index_int(v: &Value<'_>) -> Result<i64, String> {
    match v {
        Value::Int(i) | Value::Int64(i) => Ok(*i),
        Value::Invalid | Value::Nil => Err("cannot index slice/array with nil".into()),
        other => Err(format!(
            "cannot index slice/array with type {}",
            other.type_name()
        )),
    }
}

fn index(args: Vec<Value<'_>>) -> R<'_> {
    let mut it = args.into_iter();
    let mut item = it.next().unwrap_or(Value::Invalid);
    for ix in it {
        item = match item {
            Value::Labels(l) => match &ix {
                Value::Str(k) => Value::Str(Cow::Borrowed(l.get(k).unwrap_or(""))),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            Value::Map(m) => match &ix {
                Value::Str(k) => m.get(k.as_ref()).cloned().unwrap_or(Value::Nil),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            Value::List(l) => {
                let i = index_int(&ix)?;
                match usize::try_from(i).ok().and_then(|u| l.get(u)) {
                    Some(v) => v.clone(),
                    None => return Err(format!("index out of range: {i}")),
                }
            }
            Value::Str(s) => {
                let i = index_int(&ix)?;
                match usize::try_from(i).ok().and_then(|u| s.as_bytes().get(u)) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return Err(format!("index out of range: {i}")),
                }
            }
            Value::Invalid | Value::Nil => return Err("index of untyped nil".into()),
            other => {
                return Err(format!("can't index item of type {}", other.type_name()));
            }
        };
    }
    Ok(item)
}

fn slice(args: Vec<Value<'_>>) -> R<'_> {
    let mut it = args.into_iter();
    let item = it.next().unwrap_or(Value::Invalid);
    let idx: Vec<i64> = it.map(|v| index_int(&v)).collect::<Result<_, _>>()?;
    let len = match &item {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Invalid | Value::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    if idx.len() > 3 || (idx.len() == 3 && matches!(item, Value::Str(_))) {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let mut b = [0usize, len];
    for (k, i) in idx.iter().take(2).enumerate() {
        let Some(u) = usize::try_from(*i).ok().filter(|u| *u <= len) else {
            return Err(format!("index out of range: {i}"));
        };
        b[k] = u;
    }
    if b[0] > b[1] {
        return Err(format!("invalid slice index: {} > {}", b[0], b[1]));
    }
    Ok(match item {
        Value::Str(s) => match s.get(b[0]..b[1]) {
            Some(sub) => owned(sub.to_string()),
            None => owned(String::from_utf8_lossy(&s.as_bytes()[b[0]..b[1]]).into_owned()),
        },
        Value::List(l) => Value::List(std::rc::Rc::new(l[b[0]..b[1]].to_vec())),
        _ => Value::Invalid,
    })
}

/// Go's `eq`: true if `a` equals any of `others`.
pub(crate) fn eq(a: &Value<'_>, others: &[Value<'_>]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = a.kind();
    for b in others {
        let k2 = b.kind();
        let truth = if k1 != k2 {
            if k1 != Kind::Invalid && k2 != Kind::Invalid {
                return Err("incompatible types for comparison".into());
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x == y,
                (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
                (Value::Time(x), Value::Time(y)) => x == y,
                _ if k1 == Kind::Invalid => true,
                _ => {
                    return Err(format!(
                        "non-comparable types {}: {}, {}: {}",
                        a.to_v_string(),
                        a.type_name(),
                        b.type_name(),
                        b.to_v_string()
                    ));
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`.
pub(crate) fn lt(a: &Value<'_>, b: &Value<'_>) -> Result<bool, String> {
    let (k1, k2) = (a.kind(), b.kind());
    if matches!(k1, Kind::Invalid | Kind::Other) || matches!(k2, Kind::Invalid | Kind::Other) {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        _ => return Err("invalid type for comparison".into()),
    })
}

/// `evalArgs` of html/js/urlquery: one string argument as is, else `fmt.Sprint`.
fn eval_args(a: &[Value<'_>]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    let mut o = String::new();
    gofmt::sprint(a, &mut o);
    o
}

fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("&#34;"),
            '\'' => o.push_str("&#39;"),
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\0' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

fn js_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\'' => o.push_str("\\'"),
            '"' => o.push_str("\\\""),
            '<' => o.push_str("\\u003C"),
            '>' => o.push_str("\\u003E"),
            '&' => o.push_str("\\u0026"),
            '=' => o.push_str("\\u003D"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(char::from(b))
            }
            b' ' => o.push('+'),
            b => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// Go's `url.QueryUnescape`.
fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| char::from(c).to_digit(16);
                match (
                    b.get(i + 1).and_then(|c| hex(*c)),
                    b.get(i + 2).and_then(|c| hex(*c)),
                ) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => {
                        let end = (i + 3).min(b.len());
                        let esc = String::from_utf8_lossy(&b[i..end]);
                        return Err(format!("invalid URL escape {}", gofmt::quote(&esc)));
                    }
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(data: &[u8]) -> String {
    let mut o = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= n {
                o.push(char::from(B64[(v >> (18 - 6 * k) & 63) as usize]));
            } else {
                o.push('=');
            }
        }
    }
    o
}

/// `base64.StdEncoding.DecodeString`, with Go's error text.
fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    let mut pad = 0;
    let mut n = 0;
    for (i, c) in s.bytes().enumerate() {
        if c == b'\r' || c == b'\n' {
            continue;
        }
        let err = || Err(format!("illegal base64 data at input byte {i}"));
        if c == b'=' {
            if n % 4 < 2 {
                return err();
            }
            pad += 1;
            n += 1;
            continue;
        }
        if pad > 0 {
            return err();
        }
        let Some(v) = B64.iter().position(|x| *x == c) else {
            return err();
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        n += 1;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if n % 4 != 0 {
        return Err(format!("illegal base64 data at input byte {}", s.len()));
    }
    Ok(out)
}

/// Go's `strings.ToLower`: per-rune simple case mapping (no context-dependent final
/// sigma, no multi-rune expansions).
fn go_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// Go's `strings.ToUpper`: runes without a single-rune upper case (`ß`) stay as they are.
fn go_upper(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

fn trim_set(s: &str, set: &str, left: bool, right: bool) -> String {
    let f = |c: char| set.contains(c);
    let mut r = s;
    if left {
        r = r.trim_start_matches(f);
    }
    if right {
        r = r.trim_end_matches(f);
    }
    r.to_string()
}

fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go's deprecated `strings.Title`.
fn title(s: &str) -> String {
    let mut prev = ' ';
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if is_separator(prev) {
            o.extend(c.to_uppercase().take(1));
        } else {
            o.push(c);
        }
        prev = c;
    }
    o
}

fn trunc(c: i64, s: &str) -> String {
    let runes: Vec<char> = s.chars().collect();
    let l = runes.len() as i64;
    if c < 0 && l + c > 0 {
        return runes[(l + c) as usize..].iter().collect();
    }
    if c >= 0 && l > c {
        return runes[..c as usize].iter().collect();
    }
    s.to_string()
}

fn substring(start: i64, end: i64, s: &str) -> String {
    let runes: Vec<char> = s.chars().collect();
    let l = runes.len() as i64;
    let end = end.min(l);
    let start = start.min(l);
    if start < 0 {
        if end < 0 {
            return String::new();
        }
        return runes[..end as usize].iter().collect();
    }
    if end < 0 {
        return runes[start as usize..].iter().collect();
    }
    if start > end {
        return String::new();
    }
    runes[start as usize..end as usize].iter().collect()
}

/// Longest padding a template may ask for; Go would try to allocate anything, a query
/// must not be able to exhaust the querier's memory.
const MAX_PAD: i64 = 1 << 20;

fn too_long() -> String {
    "strings: Repeat output length overflow".to_string()
}

fn indent(n: i64, s: &str) -> Result<String, String> {
    if n > MAX_PAD {
        return Err(too_long());
    }
    let pad = " ".repeat(usize::try_from(n).unwrap_or(0));
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

fn align(count: i64, src: &str, left: bool) -> Result<String, String> {
    let runes: Vec<char> = src.chars().collect();
    let l = runes.len() as i64;
    if count < 0 || count == l {
        return Ok(src.to_string());
    }
    let pad = count - l;
    if pad > MAX_PAD {
        return Err(too_long());
    }
    if pad > 0 {
        let p = " ".repeat(pad as usize);
        return Ok(if left {
            format!("{src}{p}")
        } else {
            format!("{p}{src}")
        });
    }
    Ok(if left {
        runes[..count as usize].iter().collect()
    } else {
        runes[(l - count) as usize..].iter().collect()
    })
}

/// Loki's `toDateInZone`: parses in the named zone, in UTC when the zone is unknown;
/// Go's zero time when the value does not parse.
fn to_date_in_zone(layout: &str, zone: &str, value: &str) -> GoTime {
    let loc = Location::load(zone).unwrap_or(Location::Utc);
    GoTime::parse_in(layout, value, &loc).unwrap_or(GoTime::zero())
}

/// sprig's `dateInZone` (behind `date`, which passes `Local`): formats a time, or Unix
/// seconds, shown in the named zone (UTC when unknown); any other value means now.
fn date_in_zone(layout: &str, date: &Value<'_>, zone: &str) -> String {
    let t = match date {
        Value::Time(t) => *t,
        Value::Int(i) | Value::Int64(i) => GoTime::from_unix_secs(*i),
        _ => GoTime::now(),
    };
    let loc = Location::load(zone).unwrap_or(Location::Utc);
    t.in_location(&loc).format(layout)
}

/// Loki's `unixToTime`: days, seconds, ms, µs or ns by digit count.
fn unix_to_time(epoch: &str) -> Result<GoTime, String> {
    let i =
        gofmt::parse_go_int10(epoch).map_err(|e| format!("unable to parse time '{epoch}': {e}"))?;
    Ok(match epoch.len() {
        5 => GoTime::from_unix_secs(i.wrapping_mul(86_400)),
        10 => GoTime::from_unix_secs(i),
        13 => GoTime::from_unix_nanos(i.wrapping_mul(1_000_000)),
        16 => GoTime::from_unix_nanos(i.wrapping_mul(1_000)),
        19 => GoTime::from_unix_nanos(i),
        _ => return Err(format!("unable to parse time '{epoch}': %!w(<nil>)")),
    })
}

/// go-humanize `ParseBytes` (`1.5KB`, `10 MiB`, `1024`).
fn parse_bytes(s: &str) -> Result<f64, String> {
    let last = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == ','))
        .map_or(s.len(), |(i, _)| i);
    let num = s[..last].replace(',', "");
    let f = gofmt::parse_go_float(&num).ok_or_else(|| {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            gofmt::quote(&num)
        )
    })?;
    let extra = s[last..].trim().to_lowercase();
    let m: f64 = match extra.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "ki" | "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mi" | "mib" => 1024f64.powi(2),
        "g" | "gb" => 1e9,
        "gi" | "gib" => 1024f64.powi(3),
        "t" | "tb" => 1e12,
        "ti" | "tib" => 1024f64.powi(4),
        "p" | "pb" => 1e15,
        "pi" | "pib" => 1024f64.powi(5),
        "e" | "eb" => 1e18,
        "ei" | "eib" => 1024f64.powi(6),
        _ => return Err(format!("unhandled size name: {extra}")),
    };
    let v = f * m;
    if v >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    Ok((v as u64) as f64)
}

/// Go's `time.ParseDuration(s).Seconds()`.
pub(crate) fn parse_duration_secs(orig: &str) -> Result<f64, String> {
    let invalid = || format!("time: invalid duration {}", gofmt::quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next()
        && (c == '-' || c == '+')
    {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0.0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &rest[..n];
            s = &rest[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        if unit_len == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                gofmt::quote(orig)
            ));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let mult: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    gofmt::quote(unit),
                    gofmt::quote(orig)
                ));
            }
        };
        let v: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut add = v.checked_mul(mult).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let mut scale = 1f64;
            let mut f = 0f64;
            for c in frac_part.bytes().take(18) {
                scale /= 10.0;
                f += f64::from(c - b'0') * scale;
            }
            add += (f * mult as f64) as u128;
        }
        total = total.checked_add(add).ok_or_else(invalid)?;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(invalid());
        }
    }
    let ns = total as i128;
    let ns = if neg { -ns } else { ns } as i64;
    let sec = ns / 1_000_000_000;
    let nsec = ns % 1_000_000_000;
    Ok(sec as f64 + nsec as f64 / 1e9)
}
