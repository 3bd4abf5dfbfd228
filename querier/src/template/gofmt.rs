//! Go's `fmt` and `strconv` behaviour that templates expose: `%v` float printing,
//! `print`/`println`/`printf`, quoting and literal parsing.

use std::fmt::Write;

use super::value::Value;

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    quote_into(s, '"', &mut out);
    out.push('"');
    out
}

fn quote_into(s: &str, q: char, out: &mut String) {
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
}

/// Go's `strconv.Unquote` for a double-quoted literal (with its quotes).
pub(crate) fn unquote(q: &str) -> Option<String> {
    let inner = q.strip_prefix('"')?.strip_suffix('"')?;
    let mut bytes: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' => return None,
            '\\' => {
                let e = chars.next()?;
                match e {
                    'a' => bytes.push(7),
                    'b' => bytes.push(8),
                    'f' => bytes.push(12),
                    'n' => bytes.push(b'\n'),
                    'r' => bytes.push(b'\r'),
                    't' => bytes.push(b'\t'),
                    'v' => bytes.push(11),
                    '\\' => bytes.push(b'\\'),
                    '"' => bytes.push(b'"'),
                    'x' => {
                        let h: String = (0..2).filter_map(|_| chars.next()).collect();
                        bytes.push(u8::from_str_radix(&h, 16).ok().filter(|_| h.len() == 2)?);
                    }
                    '0'..='7' => {
                        let mut s = String::from(e);
                        s.extend((0..2).filter_map(|_| chars.next()));
                        let v = u32::from_str_radix(&s, 8).ok().filter(|_| s.len() == 3)?;
                        bytes.push(u8::try_from(v).ok()?);
                    }
                    'u' | 'U' => {
                        let n = if e == 'u' { 4 } else { 8 };
                        let h: String = (0..n).filter_map(|_| chars.next()).collect();
                        if h.len() != n {
                            return None;
                        }
                        let ch = char::from_u32(u32::from_str_radix(&h, 16).ok()?)?;
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => return None,
                }
            }
            c => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Go's character constant value (`'a'`, `'\n'`, `'\x41'`).
pub(crate) fn unquote_char(q: &str) -> Option<char> {
    let inner = q.strip_prefix('\'')?.strip_suffix('\'')?;
    if inner == "\"" {
        return Some('"');
    }
    if inner == "\\'" {
        return Some('\'');
    }
    if inner.starts_with('\\') {
        let s = unquote(&format!("\"{inner}\""))?;
        let mut it = s.chars();
        let c = it.next()?;
        return if it.next().is_none() { Some(c) } else { None };
    }
    let mut it = inner.chars();
    let c = it.next()?;
    if it.next().is_some() || c == '\'' {
        return None;
    }
    Some(c)
}

/// Splits a Go integer literal into sign, radix and digits (`strconv.ParseInt(s, 0, 64)`
/// syntax: `0x`, `0o`, `0b`, leading-zero octal, underscores only with a prefix).
fn split_go_int(text: &str) -> Option<(bool, u32, String)> {
    let (neg, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower, false)
    };
    if digits.contains('_') && !prefixed {
        return None;
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    Some((neg, radix, digits))
}

/// `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_go_int(text: &str) -> Option<i64> {
    let (neg, radix, digits) = split_go_int(text)?;
    let v = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        if v <= i64::MAX as u64 + 1 {
            Some((v as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// `strconv.ParseInt(s, 10, 64)` with Go's error text.
pub(crate) fn parse_go_int10(text: &str) -> Result<i64, String> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            quote(text)
        ));
    }
    text.parse::<i64>().map_err(|_| {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            quote(text)
        )
    })
}

/// `strconv.ParseUint(s, 0, 64)`.
pub(crate) fn parse_go_uint(text: &str) -> Option<u64> {
    if text.starts_with(['-', '+']) {
        return None;
    }
    let (_, radix, digits) = split_go_int(text)?;
    u64::from_str_radix(&digits, radix).ok()
}

/// `strconv.ParseFloat(s, 64)` for decimal syntax, `Inf` and `NaN`.
pub(crate) fn parse_go_float(text: &str) -> Option<f64> {
    if text.contains('_') || text.is_empty() {
        return None;
    }
    let body = text.trim_start_matches(['+', '-']);
    if body.starts_with("0x") || body.starts_with("0X") {
        return parse_go_int(text).map(|i| i as f64);
    }
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return text.parse::<f64>().ok();
    }
    if !body
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    text.parse::<f64>().ok()
}

/// Shortest decimal digits and decimal exponent of a finite, non-zero float:
/// `value = 0.d1d2d3... * 10^dp`.
fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp + 1)
}

/// Digits rounded to `prec` significant digits (trailing zeros removed).
fn rounded_digits(f: f64, prec: usize) -> (String, i32) {
    let s = format!("{:.*e}", prec.saturating_sub(1), f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits.to_string(), exp + 1)
}

fn write_special(f: f64, plus: bool, out: &mut String) -> bool {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        if plus && f >= 0.0 && !f.is_sign_negative() {
            out.push('+');
        }
        return false;
    }
    true
}

/// `%v` / `%g` of a float64 (`prec` None: shortest representation).
pub(crate) fn write_float_g(f: f64, prec: Option<usize>, out: &mut String) {
    if write_special(f, false, out) {
        return;
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    if f == 0.0 {
        out.push('0');
        return;
    }
    let (digits, dp) = match prec {
        None => shortest_digits(f),
        Some(p) => rounded_digits(f, p.max(1)),
    };
    let nd = digits.len() as i32;
    let mut eprec = match prec {
        None => 6,
        Some(p) => p.max(1) as i32,
    };
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        // %e with the digits we have
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        write_exp(exp, 'e', out);
    } else if dp <= 0 {
        out.push_str("0.");
        for _ in 0..-dp {
            out.push('0');
        }
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        for _ in 0..dp - nd {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
}

fn write_exp(exp: i32, e: char, out: &mut String) {
    out.push(e);
    out.push(if exp < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", exp.abs());
}

/// `%e` with the given precision.
fn write_float_e(f: f64, prec: usize, upper: bool, out: &mut String) {
    if f.is_sign_negative() && !f.is_nan() {
        out.push('-');
    }
    let s = format!("{:.*e}", prec, f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    out.push_str(mant);
    write_exp(exp.parse().unwrap_or(0), if upper { 'E' } else { 'e' }, out);
}

/// `fmt.Sprint`: spaces between operands when neither is a string.
pub(crate) fn sprint(args: &[Value<'_>], out: &mut String) {
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        a.write_v(out);
        prev_string = is_string;
    }
}

/// `fmt.Sprintln`: spaces between all operands and a trailing newline.
pub(crate) fn sprintln(args: &[Value<'_>], out: &mut String) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        a.write_v(out);
    }
    out.push('\n');
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn bad_verb(verb: char, a: &Value<'_>, out: &mut String) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    match a {
        Value::Invalid | Value::Nil => out.push_str("<nil>"),
        a => {
            out.push_str(a.type_name());
            out.push('=');
            a.write_v(out);
        }
    }
    out.push(')');
}

fn fmt_int(i: i64, radix: u32, upper: bool, spec: &Spec, out: &mut String) {
    let mut body = match radix {
        16 if upper => format!("{:X}", i.unsigned_abs()),
        16 => format!("{:x}", i.unsigned_abs()),
        8 => format!("{:o}", i.unsigned_abs()),
        2 => format!("{:b}", i.unsigned_abs()),
        _ => i.unsigned_abs().to_string(),
    };
    if let Some(p) = spec.prec
        && body.len() < p
    {
        body = format!("{}{body}", "0".repeat(p - body.len()));
    }
    if spec.sharp {
        match radix {
            16 => body = format!("{}{body}", if upper { "0X" } else { "0x" }),
            8 if !body.starts_with('0') => body = format!("0{body}"),
            _ => {}
        }
    }
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    pad_number(sign, &body, spec, out);
}

fn pad_number(sign: &str, body: &str, spec: &Spec, out: &mut String) {
    let len = sign.chars().count() + body.chars().count();
    let w = spec.width.unwrap_or(0);
    if len >= w {
        out.push_str(sign);
        out.push_str(body);
    } else if spec.minus {
        out.push_str(sign);
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', w - len));
    } else if spec.zero && spec.prec.is_none() {
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', w - len));
        out.push_str(body);
    } else {
        out.extend(std::iter::repeat_n(' ', w - len));
        out.push_str(sign);
        out.push_str(body);
    }
}

fn pad_str(s: &str, spec: &Spec, out: &mut String) {
    let len = s.chars().count();
    let w = spec.width.unwrap_or(0);
    if len >= w {
        out.push_str(s);
    } else if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', w - len));
    } else {
        let fill = if spec.zero { '0' } else { ' ' };
        out.extend(std::iter::repeat_n(fill, w - len));
        out.push_str(s);
    }
}

fn fmt_float(f: f64, verb: char, spec: &Spec, out: &mut String) {
    let mut body = String::new();
    if f.is_nan() || f.is_infinite() {
        let mut s = String::new();
        write_special(f, false, &mut s);
        let s = if spec.plus || !s.starts_with('+') {
            s
        } else {
            s[1..].to_string()
        };
        let sp = Spec {
            zero: false,
            ..*spec
        };
        pad_str(&s, &sp, out);
        return;
    }
    let neg = f.is_sign_negative();
    let a = f.abs();
    match verb {
        'f' | 'F' => {
            let _ = write!(body, "{:.*}", spec.prec.unwrap_or(6), a);
        }
        'e' | 'E' => write_float_e(a, spec.prec.unwrap_or(6), verb == 'E', &mut body),
        'g' | 'G' | 'v' => {
            write_float_g(a, spec.prec, &mut body);
            if verb == 'G' {
                body = body.to_uppercase();
            }
        }
        _ => {}
    }
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let sp = Spec {
        prec: None,
        ..*spec
    };
    pad_number(sign, &body, &sp, out);
}

fn hex_str(s: &str, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        let _ = if upper {
            write!(out, "{b:02X}")
        } else {
            write!(out, "{b:02x}")
        };
    }
    out
}

fn fmt_one(verb: char, spec: &Spec, a: &Value<'_>, out: &mut String) {
    match (verb, a) {
        ('T', a) => {
            let t = match a {
                Value::Invalid | Value::Nil => "<nil>",
                a => a.type_name(),
            };
            pad_str(t, spec, out);
        }
        ('v', Value::Int(i) | Value::Int64(i)) => fmt_int(*i, 10, false, spec, out),
        ('v', Value::Float(f)) => fmt_float(*f, 'g', spec, out),
        ('v', a) => pad_str(&a.to_v_string(), spec, out),
        ('s', Value::Str(s)) => {
            let s: &str = s;
            match spec.prec {
                Some(p) => pad_str(&s.chars().take(p).collect::<String>(), spec, out),
                None => pad_str(s, spec, out),
            }
        }
        ('s', a @ (Value::Time(_) | Value::Labels(_) | Value::Map(_) | Value::List(_))) => {
            pad_str(&a.to_v_string(), spec, out)
        }
        ('q', Value::Str(s)) => pad_str(&quote(s), spec, out),
        ('q', Value::Int(i) | Value::Int64(i)) => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            let mut s = String::from('\'');
            quote_into(&c.to_string(), '\'', &mut s);
            s.push('\'');
            pad_str(&s, spec, out);
        }
        ('x' | 'X', Value::Str(s)) => pad_str(&hex_str(s, verb == 'X'), spec, out),
        ('d', Value::Int(i) | Value::Int64(i)) => fmt_int(*i, 10, false, spec, out),
        ('x', Value::Int(i) | Value::Int64(i)) => fmt_int(*i, 16, false, spec, out),
        ('X', Value::Int(i) | Value::Int64(i)) => fmt_int(*i, 16, true, spec, out),
        ('o', Value::Int(i) | Value::Int64(i)) => fmt_int(*i, 8, false, spec, out),
        ('b', Value::Int(i) | Value::Int64(i)) => fmt_int(*i, 2, false, spec, out),
        ('c', Value::Int(i) | Value::Int64(i)) => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad_str(&c.to_string(), spec, out);
        }
        ('U', Value::Int(i) | Value::Int64(i)) => pad_str(&format!("U+{:04X}", i), spec, out),
        ('f' | 'F' | 'e' | 'E' | 'g' | 'G', Value::Float(f)) => fmt_float(*f, verb, spec, out),
        ('t', Value::Bool(b)) => pad_str(if *b { "true" } else { "false" }, spec, out),
        (verb, a) => bad_verb(verb, a, out),
    }
}

/// `fmt.Sprintf` for the verbs templates use (`%v %s %d %f %e %g %q %x %X %o %b %c %t %T`),
/// with flags, width and precision, and Go's `%!verb(type=value)` error forms.
pub(crate) fn sprintf(format: &str, args: &[Value<'_>], out: &mut String) {
    let mut argi = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = !spec.minus,
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        let num = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek() {
                let Some(v) = d.to_digit(10) else { break };
                n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(v as usize));
                chars.next();
            }
            n
        };
        spec.width = num(&mut chars);
        if spec.width.is_some_and(|w| w > 1_000_000) {
            spec.width = None;
            out.push_str("%!(BADWIDTH)");
        }
        if chars.peek().map(|p| p.1) == Some('.') {
            chars.next();
            spec.prec = Some(num(&mut chars).unwrap_or(0));
            if spec.prec.is_some_and(|p| p > 1_000_000) {
                spec.prec = None;
                out.push_str("%!(BADPREC)");
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(argi) {
            None => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
            Some(a) => {
                argi += 1;
                fmt_one(verb, &spec, a, out);
            }
        }
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match a {
                Value::Invalid | Value::Nil => out.push_str("<nil>"),
                a => {
                    out.push_str(a.type_name());
                    out.push('=');
                    a.write_v(out);
                }
            }
        }
        out.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(f: f64) -> String {
        let mut s = String::new();
        write_float_g(f, None, &mut s);
        s
    }

    fn pf(f: &str, args: &[Value<'_>]) -> String {
        let mut s = String::new();
        sprintf(f, args, &mut s);
        s
    }

    #[test]
    fn floats_print_like_go_v() {
        assert_eq!(g(0.022), "0.022");
        assert_eq!(g(21.0), "21");
        assert_eq!(g(22.5), "22.5");
        assert_eq!(g(100000.0), "100000");
        assert_eq!(g(1e6), "1e+06");
        assert_eq!(g(1234567.0), "1.234567e+06");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001), "1e-05");
        assert_eq!(g(-2.5), "-2.5");
        assert_eq!(g(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(g(f64::INFINITY), "+Inf");
        assert_eq!(g(f64::NAN), "NaN");
    }

    #[test]
    fn printf_verbs() {
        assert_eq!(pf("%s-%d", &[Value::Str("a".into()), Value::Int(5)]), "a-5");
        assert_eq!(
            pf(
                "%05d|%-4s|%4s",
                &[
                    Value::Int(-42),
                    Value::Str("ab".into()),
                    Value::Str("ab".into())
                ]
            ),
            "-0042|ab  |  ab"
        );
        assert_eq!(
            pf(
                "%.2f %e %g",
                &[
                    Value::Float(5.55555),
                    Value::Float(1234.5),
                    Value::Float(1e21)
                ]
            ),
            "5.56 1.234500e+03 1e+21"
        );
        assert_eq!(pf("%d", &[Value::Str("x".into())]), "%!d(string=x)");
        assert_eq!(pf("%s %s", &[Value::Int(1)]), "%!s(int=1) %!s(MISSING)");
        assert_eq!(
            pf("%s", &[Value::Str("a".into()), Value::Int(2)]),
            "a%!(EXTRA int=2)"
        );
        assert_eq!(
            pf(
                "%q %x %v%%",
                &[
                    Value::Str("a\"b".into()),
                    Value::Int(255),
                    Value::Bool(true)
                ]
            ),
            "\"a\\\"b\" ff true%"
        );
        assert_eq!(
            pf("%T %T", &[Value::Float(1.0), Value::Invalid]),
            "float64 <nil>"
        );
    }

    #[test]
    fn literals() {
        assert_eq!(unquote(r#""a\tb\u00e9\x41""#).as_deref(), Some("a\tbéA"));
        assert_eq!(unquote(r#""\q""#), None);
        assert_eq!(unquote_char("'a'"), Some('a'));
        assert_eq!(unquote_char(r"'\n'"), Some('\n'));
        assert_eq!(parse_go_int("0x1F"), Some(31));
        assert_eq!(parse_go_int("010"), Some(8));
        assert_eq!(parse_go_int("-9"), Some(-9));
        assert_eq!(parse_go_int("1.5"), None);
        assert_eq!(parse_go_float("1.5e3"), Some(1500.0));
        assert_eq!(parse_go_float("abc"), None);
        assert_eq!(quote("a\nb\"é"), "\"a\\nb\\\"é\"");
    }
}
