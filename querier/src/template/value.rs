//! Values a template computes with, typed like the Go values Loki's templates see:
//! label values are `string`, functions return `int`, `int64`, `float64`, `bool` or
//! `time.Time`, `fromJson` returns `map[string]interface {}` / `[]interface {}`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

use logql::LabelSet;

use super::gofmt;
use super::gotime::GoTime;

/// One Go value. `Invalid` is Go's missing value (printed `<no value>`), `Nil` a nil
/// `interface{}` (e.g. JSON `null`).
#[derive(Debug, Clone)]
pub(crate) enum Value<'a> {
    Invalid,
    Nil,
    Str(Cow<'a, str>),
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64`.
    Int64(i64),
    Float(f64),
    Time(GoTime),
    /// The label map (`map[string]string`): the template's dot.
    Labels(&'a LabelSet),
    /// `map[string]interface {}` from `fromJson`.
    Map(Rc<BTreeMap<String, Value<'a>>>),
    /// `[]interface {}` from `fromJson`.
    List(Rc<Vec<Value<'a>>>),
}

/// Go's basic kinds, for comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

impl<'a> Value<'a> {
    /// Go's type name as `%T` / reflect prints it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Invalid => "<nil>",
            Value::Nil => "interface {}",
            Value::Str(_) => "string",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Time(_) => "time.Time",
            Value::Labels(_) => "map[string]string",
            Value::Map(_) => "map[string]interface {}",
            Value::List(_) => "[]interface {}",
        }
    }

    /// The kind used by `eq`, `lt` and friends.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Invalid | Value::Nil => Kind::Invalid,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) | Value::Int64(_) => Kind::Int,
            Value::Float(_) => Kind::Float,
            Value::Str(_) => Kind::Str,
            _ => Kind::Other,
        }
    }

    /// Go template truthiness (`if`, `with`, `and`, `or`, `not`).
    pub fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Str(s) => !s.is_empty(),
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Time(_) => true,
            Value::Labels(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::List(l) => !l.is_empty(),
        }
    }

    /// The string if this is a Go string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Appends the value as the template prints an action result (`fmt.Fprint`, with
    /// `<no value>` for a missing value).
    pub fn print_top(&self, out: &mut String) {
        match self {
            Value::Invalid | Value::Nil => out.push_str("<no value>"),
            Value::Str(s) => out.push_str(s),
            other => other.write_v(out),
        }
    }

    /// Appends the value as `%v` prints it.
    pub fn write_v(&self, out: &mut String) {
        match self {
            Value::Invalid | Value::Nil => out.push_str("<nil>"),
            Value::Str(s) => out.push_str(s),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => {
                use std::fmt::Write;
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => gofmt::write_float_g(*f, None, out),
            Value::Time(t) => t.write_string(out),
            Value::Labels(l) => {
                out.push_str("map[");
                for (i, (k, v)) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    out.push_str(v);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_v(out);
                }
                out.push(']');
            }
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_v(out);
                }
                out.push(']');
            }
        }
    }

    /// The `%v` text as an owned string.
    pub fn to_v_string(&self) -> String {
        let mut s = String::new();
        self.write_v(&mut s);
        s
    }

    /// Sprig's `toInt64` (spf13/cast): numbers convert, strings parse (base prefixes
    /// allowed, `12.00` accepted), anything else is 0.
    pub fn to_int64(&self) -> i64 {
        match self {
            Value::Int(i) | Value::Int64(i) => *i,
            Value::Float(f) => go_f64_to_i64(*f),
            Value::Bool(b) => i64::from(*b),
            Value::Str(s) => gofmt::parse_go_int(trim_zero_decimal(s)).unwrap_or(0),
            _ => 0,
        }
    }

    /// Sprig's `toFloat64` (spf13/cast).
    pub fn to_float64(&self) -> f64 {
        match self {
            Value::Int(i) | Value::Int64(i) => *i as f64,
            Value::Float(f) => *f,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Str(s) => gofmt::parse_go_float(s).unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// Sprig's `empty`, used by `default`.
    pub fn is_empty_value(&self) -> bool {
        match self {
            Value::Time(_) => false,
            other => !other.truth(),
        }
    }

    /// Converts a parsed JSON document into Go's `interface{}` shapes.
    pub fn from_json(v: serde_json::Value) -> Value<'static> {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::Str(Cow::Owned(s)),
            serde_json::Value::Array(a) => {
                Value::List(Rc::new(a.into_iter().map(Value::from_json).collect()))
            }
            serde_json::Value::Object(o) => Value::Map(Rc::new(
                o.into_iter()
                    .map(|(k, v)| (k, Value::from_json(v)))
                    .collect(),
            )),
        }
    }
}

/// Go's float64 -> int64 conversion (truncation; out of range saturates here instead of
/// being implementation-defined).
pub(crate) fn go_f64_to_i64(f: f64) -> i64 {
    if f.is_nan() { i64::MIN } else { f as i64 }
}

/// spf13/cast's `trimZeroDecimal`: `12.00` -> `12`.
fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=b.len()).rev() {
        match b[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_conversions() {
        assert_eq!(Value::Str("12.00".into()).to_int64(), 12);
        assert_eq!(Value::Str("12.5".into()).to_int64(), 0);
        assert_eq!(Value::Str("0x10".into()).to_int64(), 16);
        assert_eq!(Value::Float(3.9).to_int64(), 3);
        assert_eq!(Value::Str("2.5".into()).to_float64(), 2.5);
        assert_eq!(Value::Str("x".into()).to_float64(), 0.0);
    }

    #[test]
    fn printing_matches_go() {
        let l = LabelSet::from_pairs([("b", "2"), ("a", "1")]);
        assert_eq!(Value::Labels(&l).to_v_string(), "map[a:1 b:2]");
        let j: serde_json::Value = serde_json::from_str(r#"{"x":[1,2.5,"s",null]}"#).unwrap();
        assert_eq!(Value::from_json(j).to_v_string(), "map[x:[1 2.5 s <nil>]]");
        let mut s = String::new();
        Value::Invalid.print_top(&mut s);
        assert_eq!(s, "<no value>");
    }
}
