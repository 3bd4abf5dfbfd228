//! The decimal arithmetic behind sprig's `addf`, `subf`, `mulf` and `divf` (shopspring
//! `decimal`): operands are taken at their shortest decimal form, so `addf 0.1 0.2` is
//! `0.3`, and division rounds half away from zero to 16 decimal places.

/// `mant * 10^exp`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decimal {
    mant: i128,
    exp: i32,
}

/// Which operation to apply.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

const DIVISION_PRECISION: i32 = 16;

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

impl Decimal {
    /// `decimal.NewFromFloat` (the float's shortest round-trip digits); `None` for NaN
    /// and infinities, which shopspring rejects.
    pub fn from_f64(f: f64) -> Option<Self> {
        if !f.is_finite() {
            return None;
        }
        if f == 0.0 {
            return Some(Self { mant: 0, exp: 0 });
        }
        let s = format!("{:e}", f);
        let (m, e) = s.split_once('e')?;
        let neg = m.starts_with('-');
        let digits: String = m.chars().filter(char::is_ascii_digit).collect();
        let e: i32 = e.parse().ok()?;
        let mant: i128 = digits.parse().ok()?;
        Some(Self {
            mant: if neg { -mant } else { mant },
            exp: e - (digits.len() as i32 - 1),
        })
    }

    /// The nearest float64.
    pub fn to_f64(self) -> f64 {
        format!("{}e{}", self.mant, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }

    fn align(self, other: Self) -> Option<(i128, i128, i32)> {
        let e = self.exp.min(other.exp);
        let a = self
            .mant
            .checked_mul(pow10(u32::try_from(self.exp - e).ok()?)?)?;
        let b = other
            .mant
            .checked_mul(pow10(u32::try_from(other.exp - e).ok()?)?)?;
        Some((a, b, e))
    }

    /// Applies `op`; `Err` is shopspring's panic text (division by zero). `Ok(None)`
    /// means the exact result does not fit, and the caller falls back to float math.
    pub fn apply(self, op: Op, other: Self) -> Result<Option<Self>, &'static str> {
        Ok(match op {
            Op::Add => self.align(other).and_then(|(a, b, e)| {
                Some(Self {
                    mant: a.checked_add(b)?,
                    exp: e,
                })
            }),
            Op::Sub => self.align(other).and_then(|(a, b, e)| {
                Some(Self {
                    mant: a.checked_sub(b)?,
                    exp: e,
                })
            }),
            Op::Mul => self.mant.checked_mul(other.mant).map(|mant| Self {
                mant,
                exp: self.exp + other.exp,
            }),
            Op::Div => {
                if other.mant == 0 {
                    return Err("decimal division by 0");
                }
                let k = self.exp - other.exp + DIVISION_PRECISION;
                let (num, den) = if k >= 0 {
                    match pow10(k as u32).and_then(|p| self.mant.checked_mul(p)) {
                        Some(n) => (n, other.mant),
                        None => return Ok(None),
                    }
                } else {
                    match pow10((-k) as u32).and_then(|p| other.mant.checked_mul(p)) {
                        Some(d) => (self.mant, d),
                        None => return Ok(Some(Self { mant: 0, exp: 0 })),
                    }
                };
                let q = num / den;
                let r = num % den;
                // round half away from zero
                let q = if r.unsigned_abs() * 2 >= den.unsigned_abs() {
                    if (num < 0) != (den < 0) { q - 1 } else { q + 1 }
                } else {
                    q
                };
                Some(Self {
                    mant: q,
                    exp: -DIVISION_PRECISION,
                })
            }
        })
    }
}

/// Float fallback for results that overflow the exact representation.
pub(crate) fn float_op(op: Op, a: f64, b: f64) -> f64 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: Op, a: f64, b: f64) -> f64 {
        Decimal::from_f64(a)
            .unwrap()
            .apply(op, Decimal::from_f64(b).unwrap())
            .unwrap()
            .unwrap()
            .to_f64()
    }

    #[test]
    fn exact_decimal_results() {
        assert_eq!(run(Op::Add, 0.1, 0.2), 0.3);
        assert_eq!(run(Op::Sub, 22.0, 1.0), 21.0);
        assert_eq!(run(Op::Mul, 1.1, 3.0), 3.3);
        assert_eq!(run(Op::Div, 22.0, 1000.0), 0.022);
        assert_eq!(run(Op::Div, 2.0, 3.0), 0.6666666666666667);
        assert_eq!(run(Op::Div, 1.0, 30000.0), 0.0000333333333333);
        assert!(
            Decimal::from_f64(1.0)
                .unwrap()
                .apply(Op::Div, Decimal::from_f64(0.0).unwrap())
                .is_err()
        );
    }
}
