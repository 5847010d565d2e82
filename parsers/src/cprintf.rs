//! C `printf` integer conversions, as glibc formats them.
//!
//! trace-cmd prints event fields through libtraceevent, which hands the
//! kernel's own conversion (`%lx`, `%5d`, `%#llx`...) to `printf`. This module
//! reproduces that for integers so the output is identical.

/// A parsed integer conversion specification such as `%-08llx`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntSpec {
    /// `-` flag.
    pub left: bool,
    /// `+` flag.
    pub plus: bool,
    /// space flag.
    pub space: bool,
    /// `#` flag.
    pub alt: bool,
    /// `0` flag.
    pub zero: bool,
    /// Field width.
    pub width: Option<usize>,
    /// Precision.
    pub precision: Option<usize>,
    /// Length: -2 `hh`, -1 `h`, 0 none, 1 `l`/`z`, 2 `ll`/`L`.
    pub ls: i8,
    /// Conversion character (`d i u x X o c`).
    pub conv: u8,
}

/// Largest width or precision honoured (guards output size).
pub const MAX_WIDTH: usize = 4096;

impl IntSpec {
    /// Parses a spec starting with `%` and ending with its conversion
    /// character. `None` if it is not an integer conversion.
    pub fn parse(spec: &str) -> Option<IntSpec> {
        let b = spec.as_bytes();
        if b.first() != Some(&b'%') {
            return None;
        }
        let mut s = IntSpec {
            left: false,
            plus: false,
            space: false,
            alt: false,
            zero: false,
            width: None,
            precision: None,
            ls: 0,
            conv: 0,
        };
        let mut i = 1;
        while i < b.len() {
            match b[i] {
                b'-' => s.left = true,
                b'+' => s.plus = true,
                b' ' => s.space = true,
                b'#' => s.alt = true,
                b'0' => s.zero = true,
                _ => break,
            }
            i += 1;
        }
        let num = |i: &mut usize| -> Option<usize> {
            let st = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            if *i == st {
                None
            } else {
                spec[st..*i].parse::<usize>().ok().map(|v| v.min(MAX_WIDTH))
            }
        };
        s.width = num(&mut i);
        if i < b.len() && b[i] == b'.' {
            i += 1;
            s.precision = Some(num(&mut i).unwrap_or(0));
        }
        while i < b.len() {
            match b[i] {
                b'h' => s.ls -= 1,
                b'l' => s.ls += 1,
                b'L' | b'q' => s.ls = 2,
                b'z' | b'Z' | b'j' | b't' => s.ls = 1,
                _ => break,
            }
            i += 1;
        }
        let c = *b.get(i)?;
        if i + 1 != b.len() || !b"diuxXoc".contains(&c) {
            return None;
        }
        s.conv = c;
        s.ls = s.ls.clamp(-2, 2);
        Some(s)
    }

    /// Bits of the C type printf reads for this length modifier (64-bit host).
    fn bits(&self) -> u32 {
        match self.ls {
            -2 => 8,
            -1 => 16,
            0 => 32,
            _ => 64,
        }
    }

    /// Formats `val` (the argument's bits) as printf would.
    pub fn format(&self, val: u64) -> String {
        let bits = if self.conv == b'c' { 8 } else { self.bits() };
        let mask = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let uval = val & mask;
        let (neg, mut digits) = match self.conv {
            b'd' | b'i' => {
                let sv = if bits == 64 {
                    uval as i64
                } else {
                    ((uval << (64 - bits)) as i64) >> (64 - bits)
                };
                (sv < 0, sv.unsigned_abs().to_string())
            }
            b'u' => (false, uval.to_string()),
            b'x' => (false, format!("{uval:x}")),
            b'X' => (false, format!("{uval:X}")),
            b'o' => (false, format!("{uval:o}")),
            b'c' => {
                let ch = char::from(uval as u8);
                let s = ch.to_string();
                return pad(&s, self.width, self.left, false);
            }
            _ => (false, uval.to_string()),
        };
        if let Some(p) = self.precision {
            if p == 0 && uval == 0 {
                digits.clear();
            }
            while digits.len() < p {
                digits.insert(0, '0');
            }
        }
        let mut prefix = String::new();
        if neg {
            prefix.push('-');
        } else if matches!(self.conv, b'd' | b'i') {
            if self.plus {
                prefix.push('+');
            } else if self.space {
                prefix.push(' ');
            }
        }
        if self.alt && uval != 0 {
            match self.conv {
                b'x' => prefix.push_str("0x"),
                b'X' => prefix.push_str("0X"),
                b'o' if !digits.starts_with('0') => digits.insert(0, '0'),
                _ => {}
            }
        }
        let body_len = prefix.len() + digits.len();
        if self.zero && !self.left && self.precision.is_none() {
            if let Some(w) = self.width {
                while prefix.len() + digits.len() < w {
                    digits.insert(0, '0');
                }
            }
            let _ = body_len;
            return format!("{prefix}{digits}");
        }
        pad(&format!("{prefix}{digits}"), self.width, self.left, false)
    }
}

fn pad(s: &str, width: Option<usize>, left: bool, _zero: bool) -> String {
    match width {
        Some(w) if s.len() < w => {
            if left {
                format!("{s:<w$}")
            } else {
                format!("{s:>w$}")
            }
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(spec: &str, v: u64) -> String {
        IntSpec::parse(spec).unwrap().format(v)
    }

    #[test]
    fn conversions_match_glibc() {
        assert_eq!(f("%d", (-5i64) as u64), "-5");
        assert_eq!(f("%d", 0xffff_ffff), "-1");
        assert_eq!(f("%u", 0xffff_ffff), "4294967295");
        assert_eq!(f("%ld", u64::MAX), "-1");
        assert_eq!(f("%lx", 0x1e0f70), "1e0f70");
        assert_eq!(f("%Lx", 0x380005a7f38), "380005a7f38");
        assert_eq!(f("%x", 0x1_0000_00ff), "ff");
        assert_eq!(f("%08x", 0xab), "000000ab");
        assert_eq!(f("%-5d", 42), "42   ");
        assert_eq!(f("%5d", 42), "   42");
        assert_eq!(f("%#x", 255), "0xff");
        assert_eq!(f("%#x", 0), "0");
        assert_eq!(f("%#o", 8), "010");
        assert_eq!(f("%.3d", 7), "007");
        assert_eq!(f("%+d", 7), "+7");
        assert_eq!(f("%hd", 0xffff), "-1");
        assert_eq!(f("%hhu", 0x1ff), "255");
        assert_eq!(f("%03d", (-4i64) as u64), "-04");
        assert_eq!(f("%c", 65), "A");
        assert!(IntSpec::parse("%s").is_none());
        assert!(IntSpec::parse("%lzz").is_none());
    }
}
