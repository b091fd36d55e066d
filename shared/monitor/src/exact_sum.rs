//! An exact, mergeable sum of f64 values.
//!
//! A profile's `sum` and sum of squares must come out the same whichever way
//! the partial profiles are grouped and ordered when merged, and floating-point
//! addition is not associative. So each sum is kept exactly, as a wide
//! fixed-point integer: every finite f64 is an integer multiple of 2^-1074, and
//! all of them fit in 2,098 bits, so the sum is an integer count of 2^-1074
//! held in 32-bit digits. Adding is a few integer additions; the sum is rounded
//! to f64 once, when it is read (correctly rounded, except that a result in
//! f64's subnormal range may be rounded twice).
//!
//! No maintained crate offers this mergeable and serialisable: `xsum` sums
//! exactly but can neither merge two accumulators nor store one.

use serde::{Deserialize, Serialize};

const DIGIT_BITS: u32 = 32;
const DIGIT_MASK: i64 = (1 << DIGIT_BITS) - 1;
/// 2,098 bits of f64 range plus headroom for the carries of 2^64 additions.
const DIGITS: usize = 68;
/// Each digit takes at most 2^32 per addition, so 2^30 additions stay within an
/// i64 before the carries must be propagated.
const ADDITIONS_BEFORE_CARRY: u32 = 1 << 30;

/// The exact sum of the finite values added; non-finite values are the
/// caller's to count as missing and are ignored here.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredSum", into = "StoredSum")]
pub struct ExactSum {
    digits: Box<[i64; DIGITS]>,
    additions: u32,
}

impl std::fmt::Debug for ExactSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExactSum({})", self.value())
    }
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum {
            digits: Box::new([0; DIGITS]),
            additions: 0,
        }
    }
}

/// Values summed by exponent before they reach the digits: each exponent's
/// count of its lowest bit takes fewer than 2^53 per value, so 1,024 of them
/// stay within an i64.
const VALUES_PER_FOLD: usize = 1024;
/// One count per f64 exponent (the last one, 0x7ff, is never used: not finite).
const EXPONENTS: usize = 2048;

impl ExactSum {
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() || value == 0.0 {
            return;
        }
        let (exponent, mantissa) = split(value);
        self.add_scaled(mantissa.unsigned_abs(), position(exponent), mantissa < 0);
    }

    /// Adds `term(value)` for every value, exactly as `add` on each would.
    ///
    /// `add` updates three digits in memory, and the next value, of about
    /// the same size, waits for them. Here each value only adds its signed
    /// mantissa to a count per exponent; every 1,024 values, the counts of
    /// the exponents met are added to the digits.
    pub fn add_all(&mut self, values: &[f64], term: impl Fn(f64) -> f64) {
        let mut by_exponent = [0i64; EXPONENTS];
        for piece in values.chunks(VALUES_PER_FOLD) {
            let (mut lowest, mut highest) = (EXPONENTS, 0);
            for value in piece {
                let (exponent, mantissa) = split(term(*value));
                if exponent == EXPONENTS - 1 {
                    continue;
                }
                by_exponent[exponent] += mantissa;
                lowest = lowest.min(exponent);
                highest = highest.max(exponent);
            }
            let met = by_exponent.iter_mut().enumerate().take(highest + 1).skip(lowest);
            for (exponent, count) in met {
                let count = std::mem::take(count);
                if count != 0 {
                    self.add_scaled(count.unsigned_abs(), position(exponent), count < 0);
                }
            }
        }
    }

    /// Adds `magnitude × 2^(position - 1074)`, negated when `negative`.
    fn add_scaled(&mut self, magnitude: u64, position: usize, negative: bool) {
        // Below 2^95: 64 bits shifted by at most 31, three digits' worth.
        let shifted = u128::from(magnitude) << (position % DIGIT_BITS as usize);
        let first = position / DIGIT_BITS as usize;
        for offset in 0..3 {
            let digit = ((shifted >> (DIGIT_BITS as usize * offset)) as i64) & DIGIT_MASK;
            self.digits[first + offset] += if negative { -digit } else { digit };
        }
        self.additions += 1;
        if self.additions >= ADDITIONS_BEFORE_CARRY {
            self.carry();
        }
    }

    /// Adds another sum to this one, exactly.
    pub fn merge(&mut self, other: &ExactSum) {
        // After carrying, each digit is below 2^32 and the other's below
        // `other.additions` times 2^32, so the sum of the two stays in range.
        self.carry();
        for (digit, more) in self.digits.iter_mut().zip(other.digits.iter()) {
            *digit += more;
        }
        self.additions = other.additions.max(1) + 1;
        if self.additions >= ADDITIONS_BEFORE_CARRY {
            self.carry();
        }
    }

    /// Adds a stored sum without building an [`ExactSum`] of it (the
    /// window's statistics read thousands). Stored digits are carried, so
    /// each is below 2^32; a run that does not fit is refused.
    pub(crate) fn merge_stored(&mut self, stored: &StoredSum) -> Result<(), String> {
        let first = usize::from(stored.first);
        if first + stored.digits.len() > DIGITS {
            return Err(format!("an exact sum of {} digits from {first}", stored.digits.len()));
        }
        self.carry();
        for (digit, more) in self.digits[first..].iter_mut().zip(&stored.digits) {
            *digit += more;
        }
        self.additions = 2;
        Ok(())
    }

    /// Propagates carries so that every digit but the top one is in 0..2^32.
    fn carry(&mut self) {
        for index in 0..DIGITS - 1 {
            let carry = self.digits[index] >> DIGIT_BITS;
            self.digits[index] -= carry << DIGIT_BITS;
            self.digits[index + 1] += carry;
        }
        self.additions = 0;
    }

    /// The sum, rounded to the nearest f64 (infinite if it overflows f64).
    pub fn value(&self) -> f64 {
        let mut magnitude = self.clone();
        magnitude.carry();
        let negative = magnitude.digits[DIGITS - 1] < 0;
        if negative {
            magnitude.digits.iter_mut().for_each(|digit| *digit = -*digit);
            magnitude.carry();
        }
        let Some(top) = magnitude.digits.iter().rposition(|digit| *digit != 0) else {
            return 0.0;
        };
        let lowest = top.saturating_sub(2);
        let mut head: u128 = 0;
        for index in (lowest..=top).rev() {
            head = (head << DIGIT_BITS) | magnitude.digits[index] as u128;
        }
        // A set lowest bit stands for everything below the three digits read,
        // which keeps round-to-nearest-even correct (96 bits > 53 + 2).
        if magnitude.digits[..lowest].iter().any(|digit| *digit != 0) {
            head |= 1;
        }
        let exponent = (lowest * DIGIT_BITS as usize) as i32 - 1074;
        let value = scale(head as f64, exponent);
        if negative {
            -value
        } else {
            value
        }
    }
}

/// A value's biased exponent (0x7ff for infinities and NaN) and its signed
/// mantissa: the value is `mantissa × 2^(position(exponent) - 1074)`.
fn split(value: f64) -> (usize, i64) {
    let bits = value.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as usize;
    let fraction = (bits & ((1 << 52) - 1)) as i64;
    let mantissa = if exponent == 0 { fraction } else { fraction | (1 << 52) };
    (exponent, if bits >> 63 == 1 { -mantissa } else { mantissa })
}

/// Where an exponent's lowest mantissa bit is, in 0..=2045 (subnormals share position 0 with exponent 1).
fn position(exponent: usize) -> usize {
    exponent.max(1) - 1
}

/// `value * 2^exponent` without overflowing or underflowing on the way.
fn scale(mut value: f64, mut exponent: i32) -> f64 {
    while exponent > 1000 {
        value *= 2f64.powi(1000);
        exponent -= 1000;
    }
    while exponent < -1000 {
        value *= 2f64.powi(-1000);
        exponent += 1000;
    }
    value * 2f64.powi(exponent)
}

/// What is stored: only the run of digits that are not zero, after carrying.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredSum {
    first: u16,
    digits: Vec<i64>,
}

impl From<ExactSum> for StoredSum {
    fn from(mut sum: ExactSum) -> StoredSum {
        sum.carry();
        let first = sum.digits.iter().position(|digit| *digit != 0).unwrap_or(0);
        let last = sum
            .digits
            .iter()
            .rposition(|digit| *digit != 0)
            .map_or(0, |last| last + 1);
        StoredSum {
            first: first as u16,
            digits: sum.digits[first..last.max(first)].to_vec(),
        }
    }
}

impl TryFrom<StoredSum> for ExactSum {
    type Error = String;

    fn try_from(stored: StoredSum) -> Result<ExactSum, String> {
        let first = usize::from(stored.first);
        if first + stored.digits.len() > DIGITS {
            return Err(format!("an exact sum of {} digits from {first}", stored.digits.len()));
        }
        let mut sum = ExactSum::default();
        sum.digits[first..first + stored.digits.len()].copy_from_slice(&stored.digits);
        sum.additions = 1;
        Ok(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of(values: &[f64]) -> f64 {
        let mut sum = ExactSum::default();
        values.iter().for_each(|value| sum.add(*value));
        sum.value()
    }

    #[test]
    fn sums_that_floating_point_addition_gets_wrong_come_out_exact() {
        let check = |values: &[f64], expected: f64| assert_eq!(sum_of(values), expected, "{values:?}");
        check(&[], 0.0);
        check(&[1e100, 1.0, -1e100], 1.0);
        check(&[0.1, 0.2, 0.3], 0.6);
        check(&[1.0, 1e-16, 1e-16], 1.0000000000000002);
        check(&[-2.5, -0.5], -3.0);
        check(&[f64::MAX, f64::MAX, -f64::MAX], f64::MAX);
        check(&[f64::MAX, f64::MAX], f64::INFINITY);
        check(&[5e-324, 5e-324], 1e-323);
        check(&[f64::NAN, 2.0, f64::INFINITY], 2.0);
    }

    /// Values summed by exponent first equal them added one by one, to the digit.
    #[test]
    fn adding_many_equals_adding_each() {
        let check = |values: &[f64]| {
            for square in [false, true] {
                let term = |value: f64| if square { value * value } else { value };
                let mut each = ExactSum::default();
                values.iter().for_each(|value| each.add(term(*value)));
                let mut many = ExactSum::default();
                many.add_all(values, term);
                each.carry();
                many.carry();
                assert_eq!(many.digits, each.digits, "{values:?}, squared: {square}");
            }
        };
        check(&[]);
        check(&[0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        check(&[2682.5, 3.0, 0.4524, 11698.24, -2496.3, 4.0, 0.9599, -79670.0]);
        check(&[1e100, 1.0, -1e100, 0.1]);
        check(&[f64::MAX, f64::MAX, -f64::MAX, 1e200, -f64::MIN_POSITIVE]);
        check(&[5e-324, 5e-324, -1e-320, 2.5e-310, f64::MIN_POSITIVE]);
        // Many values of one exponent and sign: the per-exponent count's worst case.
        check(&[-(2.0 - f64::EPSILON); 5000]);
        check(
            &(0..5000)
                .map(|index| (index as f64 - 2048.0) * 1.37e15)
                .collect::<Vec<_>>(),
        );
        check(&(0..5000).map(|index| 1.0 / (index as f64 + 1.0)).collect::<Vec<_>>());
    }

    #[test]
    fn merging_and_storing_keep_the_sum_exact() {
        let mut left = ExactSum::default();
        let mut right = ExactSum::default();
        [1e100, 0.1].iter().for_each(|value| left.add(*value));
        [-1e100, 0.2].iter().for_each(|value| right.add(*value));
        left.merge(&right);
        // 1e100 cancels exactly; what is left is one correctly rounded addition.
        assert_eq!(left.value(), 0.1 + 0.2);
        let stored = postcard::to_allocvec(&left).unwrap();
        let back: ExactSum = postcard::from_bytes(&stored).unwrap();
        assert_eq!(back.value(), left.value());
        assert!(stored.len() < 40, "{} bytes", stored.len());
    }
}
