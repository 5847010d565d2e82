//! The subset of glibc `printf` that libtraceevent hands conversions to:
//! integers (`d i u x X o c`), strings (`s`) and `%p`, with flags `-+ #0`,
//! width and precision (fixed or `*`) and length modifiers.
//!
//! Output is bytes: a `%c` of a non-ASCII value is one raw byte, as in C.

use super::{MAX_WIDTH, PrintFmtError};
use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, take_while, take_while1},
    character::complete::one_of,
    combinator::{map, opt},
};

/// Width or precision: absent, a number, or `*` (taken from an argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Amount {
    /// Not given.
    None,
    /// A literal number.
    Fixed(usize),
    /// `*`: from the argument list.
    Star,
}

/// A conversion specification as glibc parses it: `%[flags][width][.prec][len]conv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CSpec {
    pub left: bool,
    pub plus: bool,
    pub space: bool,
    pub alt: bool,
    pub zero: bool,
    pub width: Amount,
    pub precision: Amount,
    /// Integer width in bits selected by the length modifier (8, 16, 32, 64).
    pub bits: u32,
    /// Whether a length modifier was given (`%ls`/`%lc` are wide in C).
    pub has_len: bool,
    pub conv: u8,
}

fn amount(i: &[u8]) -> IResult<&[u8], Amount> {
    alt((
        map(tag(&b"*"[..]), |_| Amount::Star),
        map(take_while1(|c: u8| c.is_ascii_digit()), |d: &[u8]| {
            let v = d.iter().fold(0usize, |a, &c| {
                a.saturating_mul(10).saturating_add(usize::from(c - b'0'))
            });
            Amount::Fixed(v)
        }),
    ))
    .parse(i)
}

fn length(i: &[u8]) -> IResult<&[u8], u32> {
    alt((
        map(tag(&b"hh"[..]), |_| 8),
        map(tag(&b"h"[..]), |_| 16),
        map(tag(&b"ll"[..]), |_| 64),
        map(one_of("lLqjzZt"), |_| 64),
    ))
    .parse(i)
}

fn spec(i: &[u8]) -> IResult<&[u8], CSpec> {
    let (i, _) = tag(&b"%"[..])(i)?;
    let (i, flags) = take_while(|c: u8| b"-+ #0".contains(&c))(i)?;
    let (i, width) = opt(amount).parse(i)?;
    let (i, prec) = opt((tag(&b"."[..]), opt(amount))).parse(i)?;
    let (i, len) = opt(length).parse(i)?;
    let (i, conv) = one_of("diuxXocsp")(i)?;
    Ok((
        i,
        CSpec {
            left: flags.contains(&b'-'),
            plus: flags.contains(&b'+'),
            space: flags.contains(&b' '),
            alt: flags.contains(&b'#'),
            zero: flags.contains(&b'0'),
            width: width.unwrap_or(Amount::None),
            precision: match prec {
                None => Amount::None,
                Some((_, None)) => Amount::Fixed(0),
                Some((_, Some(a))) => a,
            },
            bits: len.unwrap_or(32),
            has_len: len.is_some(),
            conv: conv as u8,
        },
    ))
}

impl CSpec {
    /// Parses a whole spec such as `%-08llx`. Specs glibc would not accept
    /// (libtraceevent lets `%l5d` through) are errors.
    pub(crate) fn parse(text: &[u8]) -> Result<CSpec, PrintFmtError> {
        match spec(text) {
            Ok((b"", s)) => Ok(s),
            _ => Err(PrintFmtError::BadConversion(
                String::from_utf8_lossy(text).into_owned(),
            )),
        }
    }

    /// Whether the spec takes a `*` argument.
    #[cfg(test)]
    pub(crate) fn has_star(&self) -> bool {
        self.width == Amount::Star || self.precision == Amount::Star
    }

    /// Resolves `*` with `star` (the evaluated length argument): a negative
    /// width means left-justified, a negative precision means none.
    fn resolve(
        &self,
        star: Option<i32>,
    ) -> Result<(bool, Option<usize>, Option<usize>), PrintFmtError> {
        let mut left = self.left;
        let width = match self.width {
            Amount::None => None,
            Amount::Fixed(w) => Some(w),
            Amount::Star => {
                let w = star.unwrap_or(0);
                if w < 0 {
                    left = true;
                }
                Some(w.unsigned_abs() as usize)
            }
        };
        let precision = match self.precision {
            Amount::None => None,
            Amount::Fixed(p) => Some(p),
            Amount::Star => {
                let p = star.unwrap_or(0);
                if p < 0 { None } else { Some(p as usize) }
            }
        };
        if width.unwrap_or(0) > MAX_WIDTH || precision.unwrap_or(0) > MAX_WIDTH {
            return Err(PrintFmtError::TooLarge("conversion width or precision"));
        }
        Ok((left, width, precision))
    }

    /// Formats an integer argument (`val` holds the C argument's bits).
    pub(crate) fn format_int(
        &self,
        out: &mut Vec<u8>,
        val: u64,
        star: Option<i32>,
    ) -> Result<(), PrintFmtError> {
        let (left, width, precision) = self.resolve(star)?;
        if self.conv == b'c' {
            let body = [val as u8];
            pad(out, &body, width, left);
            return Ok(());
        }
        let bits = self.bits;
        let mask = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let uval = val & mask;
        let mut neg = false;
        let mut digits: Vec<u8> = match self.conv {
            b'd' | b'i' => {
                let sv = if bits >= 64 {
                    uval as i64
                } else {
                    ((uval << (64 - bits)) as i64) >> (64 - bits)
                };
                neg = sv < 0;
                sv.unsigned_abs().to_string().into_bytes()
            }
            b'x' => format!("{uval:x}").into_bytes(),
            b'X' => format!("{uval:X}").into_bytes(),
            b'o' => format!("{uval:o}").into_bytes(),
            _ => uval.to_string().into_bytes(),
        };
        if let Some(p) = precision {
            if p == 0 && uval == 0 {
                digits.clear();
            }
            if digits.len() < p {
                let mut d = vec![b'0'; p - digits.len()];
                d.extend_from_slice(&digits);
                digits = d;
            }
        }
        if self.alt && self.conv == b'o' && digits.first() != Some(&b'0') {
            digits.insert(0, b'0');
        }
        let mut prefix: Vec<u8> = Vec::new();
        if matches!(self.conv, b'd' | b'i') {
            if neg {
                prefix.push(b'-');
            } else if self.plus {
                prefix.push(b'+');
            } else if self.space {
                prefix.push(b' ');
            }
        }
        if self.alt && uval != 0 {
            match self.conv {
                b'x' => prefix.extend_from_slice(b"0x"),
                b'X' => prefix.extend_from_slice(b"0X"),
                _ => {}
            }
        }
        let len = prefix.len() + digits.len();
        if self.zero && !left && precision.is_none() {
            if let Some(w) = width {
                out.extend_from_slice(&prefix);
                out.resize(out.len() + w.saturating_sub(len), b'0');
                out.extend_from_slice(&digits);
                return Ok(());
            }
        }
        prefix.extend_from_slice(&digits);
        pad(out, &prefix, width, left);
        Ok(())
    }

    /// Formats a C string argument (`s` stops at its first NUL).
    pub(crate) fn format_str(
        &self,
        out: &mut Vec<u8>,
        s: &[u8],
        star: Option<i32>,
    ) -> Result<(), PrintFmtError> {
        let (left, width, precision) = self.resolve(star)?;
        let s = cstr(s);
        let s = match precision {
            Some(p) if p < s.len() => &s[..p],
            _ => s,
        };
        pad(out, s, width, left);
        Ok(())
    }
}

/// The bytes of `s` before its first NUL.
pub(crate) fn cstr(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

fn pad(out: &mut Vec<u8>, body: &[u8], width: Option<usize>, left: bool) {
    let fill = width.map_or(0, |w| w.saturating_sub(body.len()));
    if !left {
        out.resize(out.len() + fill, b' ');
    }
    out.extend_from_slice(body);
    if left {
        out.resize(out.len() + fill, b' ');
    }
}

/// glibc `%p`: `(nil)` for 0, else `0x` and lowercase hex.
pub(crate) fn format_ptr(out: &mut Vec<u8>, val: u64) {
    if val == 0 {
        out.extend_from_slice(b"(nil)");
    } else {
        out.extend_from_slice(format!("0x{val:x}").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(spec: &str, v: u64) -> String {
        let s = CSpec::parse(spec.as_bytes()).unwrap();
        let mut o = Vec::new();
        s.format_int(&mut o, v, None).unwrap();
        String::from_utf8(o).unwrap()
    }

    fn star_int(spec: &str, star: i32, v: u64) -> String {
        let s = CSpec::parse(spec.as_bytes()).unwrap();
        let mut o = Vec::new();
        s.format_int(&mut o, v, Some(star)).unwrap();
        String::from_utf8(o).unwrap()
    }

    fn st(spec: &str, star: Option<i32>, v: &str) -> String {
        let s = CSpec::parse(spec.as_bytes()).unwrap();
        let mut o = Vec::new();
        s.format_str(&mut o, v.as_bytes(), star).unwrap();
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn integers_like_glibc() {
        // Each expectation was checked against glibc 2.36.
        assert_eq!(int("%d", (-5i64) as u64), "-5");
        assert_eq!(int("%d", 0xffff_ffff), "-1");
        assert_eq!(int("%u", 0xffff_ffff), "4294967295");
        assert_eq!(int("%i", 7), "7");
        assert_eq!(int("%ld", u64::MAX), "-1");
        assert_eq!(int("%lu", u64::MAX), "18446744073709551615");
        assert_eq!(int("%lld", 1 << 40), "1099511627776");
        assert_eq!(int("%Lx", 0x380005a7f38), "380005a7f38");
        assert_eq!(int("%zu", 12), "12");
        assert_eq!(int("%zd", u64::MAX), "-1");
        assert_eq!(int("%x", 0x1_0000_00ff), "ff");
        assert_eq!(int("%X", 0xabc), "ABC");
        assert_eq!(int("%o", 8), "10");
        assert_eq!(int("%08x", 0xab), "000000ab");
    }

    #[test]
    fn flags_width_precision() {
        assert_eq!(int("%-5d", 42), "42   ");
        assert_eq!(int("%5d", 42), "   42");
        assert_eq!(int("%03d", 5), "005");
        assert_eq!(int("%03d", (-4i64) as u64), "-04");
        assert_eq!(int("%#x", 255), "0xff");
        assert_eq!(int("%#X", 255), "0XFF");
        assert_eq!(int("%#x", 0), "0");
        assert_eq!(int("%#o", 8), "010");
        assert_eq!(int("%#5o", 8), "  010");
        assert_eq!(int("%#.0o", 0), "0");
        assert_eq!(int("%#.3x", 5), "0x005");
        assert_eq!(int("%#08x", 5), "0x000005");
        assert_eq!(int("%.3d", 7), "007");
        assert_eq!(int("%.10d", (-5i64) as u64), "-0000000005");
        assert_eq!(int("%010.3d", (-5i64) as u64), "      -005");
        assert_eq!(int("%+d", 7), "+7");
        assert_eq!(int("%+.0d", 0), "+");
        assert_eq!(int("%+u", 5), "5");
        assert_eq!(int("%0-5d", 5), "5    ");
        assert_eq!(int("%-+05d", 5), "+5   ");
        assert_eq!(int("%hd", 0xffff), "-1");
        assert_eq!(int("%hhd", 300), "44");
        assert_eq!(int("%hhu", 0x1ff), "255");
        assert_eq!(int("%c", 65), "A");
        assert_eq!(int("%05c", u64::from(b'x')), "    x");
        assert_eq!(int("%.3c", u64::from(b'a')), "a");
        assert_eq!(star_int("%*d", 4, 7), "   7");
        assert_eq!(star_int("%*d", -4, 7), "7   ");
        assert_eq!(star_int("%.*d", 3, 7), "007");
        assert_eq!(star_int("%.*d", -3, 7), "7");
    }

    #[test]
    fn strings_and_pointers() {
        assert_eq!(st("%s", None, "abc"), "abc");
        assert_eq!(st("%05s", None, "ab"), "   ab");
        assert_eq!(st("%-5s", None, "ab"), "ab   ");
        assert_eq!(st("%.2s", None, "abc"), "ab");
        assert_eq!(st("%.*s", Some(-1), "abc"), "abc");
        assert_eq!(st("%*s", Some(-5), "abc"), "abc  ");
        assert_eq!(st("%+s", None, "a"), "a");
        assert_eq!(st("%#s", None, "a"), "a");
        let mut o = Vec::new();
        format_ptr(&mut o, 0);
        format_ptr(&mut o, 0x1234);
        assert_eq!(o, b"(nil)0x1234");
    }

    #[test]
    fn rejects_what_glibc_rejects() {
        assert!(CSpec::parse(b"%l5d").is_err());
        assert!(CSpec::parse(b"%5-d").is_err());
        assert!(CSpec::parse(b"%").is_err());
        assert!(CSpec::parse(b"%q").is_err());
        assert!(CSpec::parse(b"%d ").is_err());
        assert!(CSpec::parse(b"%*.*d").unwrap().has_star());
        // Widths beyond MAX_WIDTH are errors, not silently clamped.
        let mut o = Vec::new();
        let s = CSpec::parse(b"%*d").unwrap();
        assert!(s.format_int(&mut o, 1, Some(1 << 20)).is_err());
        assert!(
            CSpec::parse(b"%99999999999999999999d")
                .unwrap()
                .format_int(&mut o, 1, None)
                .is_err()
        );
    }
}
