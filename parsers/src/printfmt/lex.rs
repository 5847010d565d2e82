//! Tokens of a print fmt, split the way libtraceevent's `__read_token`
//! splits them (so that the expression parser sees the same tokens):
//!
//! - items: runs of `[A-Za-z0-9_]` (`REC`, `0x1f`, `10UL`, `unsigned`);
//! - operators: `->`, doubled `++ -- || && >> <<`, an optional `=` after
//!   `< > ! = + - | & << >>`, any other printable character alone;
//! - delimiters `( ) ,`;
//! - double-quoted strings (escapes kept verbatim, adjacent strings joined)
//!   and single-quoted characters;
//! - newlines (kept: some grammar rules stop at them), other white space
//!   skipped. A NUL, a non-ASCII or a non-printable byte ends the input.

use super::{MAX_TOKENS, PrintFmtError};
use nom::{
    IResult, Parser,
    bytes::complete::{take_while, take_while1},
    combinator::map,
};

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An identifier or number.
    Item(String),
    /// An operator.
    Op(String),
    /// `(`, `)` or `,`.
    Delim(u8),
    /// A double-quoted string, without its quotes.
    DQuote(String),
    /// A single-quoted character, without its quotes.
    SQuote(String),
    /// A line break.
    Newline,
}

impl Tok {
    /// Whether this is `Delim(c)`.
    pub(crate) fn is_delim(&self, c: u8) -> bool {
        matches!(self, Tok::Delim(d) if *d == c)
    }

    /// Whether this is the operator `s`.
    pub(crate) fn is_op(&self, s: &str) -> bool {
        matches!(self, Tok::Op(o) if o == s)
    }

    /// libtraceevent's `event_item_type`: item, string or character.
    pub(crate) fn is_item_type(&self) -> bool {
        matches!(self, Tok::Item(_) | Tok::DQuote(_) | Tok::SQuote(_))
    }
}

/// C `isspace` minus the newline.
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t' || c == 0x0b || c == 0x0c || c == b'\r'
}

fn is_item(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// C `isprint` for ASCII.
fn is_print(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}

fn item(i: &[u8]) -> IResult<&[u8], Tok> {
    map(take_while1(is_item), |s: &[u8]| {
        Tok::Item(String::from_utf8_lossy(s).into_owned())
    })
    .parse(i)
}

fn blanks(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(is_blank)(i)
}

/// An operator starting at `i[0]` (a printable, non-item, non-quote,
/// non-delimiter character).
fn op(i: &[u8]) -> (usize, Tok) {
    let c = i[0];
    let next = i.get(1).copied();
    let mut n = 1;
    let test_equal = |n: usize| if i.get(n) == Some(&b'=') { n + 1 } else { n };
    match c {
        b'-' if next == Some(b'>') => n = 2,
        b'-' | b'+' | b'|' | b'&' | b'>' | b'<' => {
            if next == Some(c) {
                n = 2;
                if c == b'>' || c == b'<' {
                    n = test_equal(2);
                }
            } else {
                n = test_equal(1);
            }
        }
        b'!' | b'=' => n = test_equal(1),
        _ => {}
    }
    (n, Tok::Op(String::from_utf8_lossy(&i[..n]).into_owned()))
}

/// The body of a quoted string after its opening quote: returns the bytes
/// consumed (including the closing quote or the byte that ended it), the
/// content, and whether the input ended or held a non-ASCII/NUL byte.
fn quoted(i: &[u8], quote: u8) -> (usize, Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut last: u8 = 0;
    let mut pos = 0;
    loop {
        let Some(&ch) = i.get(pos) else {
            return (pos, out, true);
        };
        pos += 1;
        if ch == 0 || ch >= 0x80 {
            return (pos, out, true);
        }
        // libtraceevent means a doubled backslash to cancel itself, but its
        // loop resets the "previous character" every time, so any quote
        // right after a backslash is part of the string.
        let escaped = last == b'\\';
        last = ch;
        let cont = (ch != quote && is_print(ch)) || escaped || ch == b'\n';
        if !cont {
            // The terminating byte is dropped, whatever it is.
            return (pos, out, false);
        }
        out.push(ch);
    }
}

/// Splits `text` into tokens. Fails only on a too-long token list.
pub(crate) fn tokenize(text: &[u8]) -> Result<Vec<Tok>, PrintFmtError> {
    let mut toks = Vec::new();
    let mut i = text;
    loop {
        if toks.len() >= MAX_TOKENS {
            return Err(PrintFmtError::TooLarge("token count"));
        }
        let (rest, _) = blanks(i).unwrap_or((i, &[]));
        i = rest;
        let Some(&c) = i.first() else { break };
        if c == b'\n' {
            toks.push(Tok::Newline);
            i = &i[1..];
            continue;
        }
        if c >= 0x80 || !is_print(c) {
            break;
        }
        if is_item(c) {
            let Ok((rest, t)) = item(i) else { break };
            i = rest;
            match &t {
                // Work-arounds libtraceevent applies for old mac80211 formats.
                Tok::Item(s) if s == "LOCAL_PR_FMT" => toks.push(Tok::DQuote("%s ".into())),
                Tok::Item(s) if s == "STA_PR_FMT" => toks.push(Tok::DQuote(" sta:%pM ".into())),
                Tok::Item(s) if s == "VIF_PR_FMT" => toks.push(Tok::DQuote(" vif:%p(%d) ".into())),
                _ => toks.push(t),
            }
            continue;
        }
        match c {
            b'(' | b')' | b',' => {
                toks.push(Tok::Delim(c));
                i = &i[1..];
            }
            b'"' | b'\'' => {
                let mut content = Vec::new();
                let mut j = &i[1..];
                let ended;
                loop {
                    let (n, body, end) = quoted(j, c);
                    content.extend_from_slice(&body);
                    j = &j[n..];
                    if end {
                        ended = true;
                        break;
                    }
                    if c == b'\'' {
                        ended = false;
                        break;
                    }
                    // Adjacent strings are joined (any white space between).
                    let skip = j
                        .iter()
                        .position(|&b| !(is_blank(b) || b == b'\n'))
                        .unwrap_or(j.len());
                    if j.get(skip) == Some(&b'"') {
                        j = &j[skip + 1..];
                        continue;
                    }
                    ended = false;
                    break;
                }
                if ended {
                    // Unterminated or corrupt string: the token is lost and
                    // the input ends here.
                    break;
                }
                let s = String::from_utf8_lossy(&content).into_owned();
                toks.push(if c == b'"' {
                    Tok::DQuote(s)
                } else {
                    Tok::SQuote(s)
                });
                i = j;
            }
            _ => {
                let (n, t) = op(i);
                toks.push(t);
                i = &i[n..];
            }
        }
    }
    Ok(toks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Vec<Tok> {
        tokenize(s.as_bytes()).unwrap()
    }

    #[test]
    fn items_ops_delims() {
        use Tok::*;
        assert_eq!(
            t("REC->prev_state & (0x10UL << 2) ? 1 : 0"),
            vec![
                Item("REC".into()),
                Op("->".into()),
                Item("prev_state".into()),
                Op("&".into()),
                Delim(b'('),
                Item("0x10UL".into()),
                Op("<<".into()),
                Item("2".into()),
                Delim(b')'),
                Op("?".into()),
                Item("1".into()),
                Op(":".into()),
                Item("0".into()),
            ]
        );
        assert_eq!(
            t("a>=b!=c==d&&e||f<<=g-h"),
            vec![
                Item("a".into()),
                Op(">=".into()),
                Item("b".into()),
                Op("!=".into()),
                Item("c".into()),
                Op("==".into()),
                Item("d".into()),
                Op("&&".into()),
                Item("e".into()),
                Op("||".into()),
                Item("f".into()),
                Op("<<=".into()),
                Item("g".into()),
                Op("-".into()),
                Item("h".into()),
            ]
        );
        assert_eq!(t("a\nb"), vec![Item("a".into()), Newline, Item("b".into())]);
        assert_eq!(
            t("[1]"),
            vec![Op("[".into()), Item("1".into()), Op("]".into())]
        );
    }

    #[test]
    fn strings() {
        use Tok::*;
        assert_eq!(t(r#""a\"b" "c""#), vec![DQuote(r#"a\"bc"#.into())]);
        assert_eq!(
            t(r#""x" , 'y'"#),
            vec![DQuote("x".into()), Delim(b','), SQuote("y".into())]
        );
        // A quote after a doubled backslash still does not end the string.
        assert_eq!(t(r#""x\\" , 'y'"#), vec![]);
        assert_eq!(t("\"a\nb\""), vec![DQuote("a\nb".into())]);
        assert_eq!(t("\"unterminated"), vec![]);
        assert_eq!(t("a \u{e9} b"), vec![Item("a".into())]);
        assert_eq!(t("LOCAL_PR_FMT"), vec![DQuote("%s ".into())]);
    }
}
