//! The kernel's `print fmt` language: parse an event's print fmt once, then
//! render records as text exactly as `trace-cmd report` (libtraceevent 1.7,
//! no plugins) prints the part after the event name.
//!
//! ```no_run
//! use mmrace_parsers::printfmt::{EventPrinter, RenderCtx};
//! use mmrace_parsers::symbols::Symbols;
//! # fn demo(format: &mmrace_parsers::format::EventFormat, payload: &[u8]) {
//! let symbols = Symbols::parse(b"", b"");
//! let printer = EventPrinter::new(format, 8);
//! let ctx = RenderCtx::new(mmrace_parsers::Endian::Little, 8, &symbols);
//! let mut out = Vec::new();
//! if printer.render(payload, &ctx, &mut out).is_err() {
//!     out.clear();
//!     printer.render_failed(payload, &ctx, &mut out); // "[FAILED TO PARSE] a=1 b=2"
//! }
//! # }
//! ```
//!
//! # What is reproduced
//!
//! A print fmt is a C string literal followed by C-like argument
//! expressions: `REC->field`, `(REC)->field`, numbers, strings, characters,
//! the arithmetic, bitwise, logical, comparison and ternary operators,
//! casts, `sizeof`, `__get_str`, `__get_rel_str`, `__get_dynamic_array`,
//! `__get_dynamic_array_len`, `__get_bitmask`, `__get_cpumask`,
//! `__get_sockaddr`, `__print_flags`, `__print_symbolic`, `__print_hex`,
//! `__print_hex_str`, `__print_array` and `__builtin_expect`. Any other
//! function (`jiffies_to_msecs`, `__print_ns_to_secs`, ...) makes the print
//! fmt fail to parse, as it does in libtraceevent without plugins; such
//! events print as `[FAILED TO PARSE]` and their raw fields
//! ([`EventPrinter::render_failed`]).
//!
//! Conversions: `%d %i %u %x %X %o` with `hh h l ll L z Z`, flags `-#0`,
//! width and precision (`*` included) go through a glibc-exact printf; `%s`;
//! `%p` (glibc style, `(nil)` for 0); `%ps %pS %pf %pF` (kallsyms: `name` or
//! `name+0xoff`, unresolved `0x...`); `%pM %pm %pMR %pMF`, `%pI4 %pi4 %pI6
//! %pi6 %pI6c %pIS...`, `%pU[bBlL]`, `%*ph[CDN]`. As in libtraceevent 1.7:
//! `%c` and the `+` and space flags are not known and print as `>c<`, `>+<`,
//! `> <` (taking no argument); other `%p` extensions (`%pK`, `%pB`,
//! `%*pbl`...) print the pointer followed by the extension letters; a
//! character literal such as `'e'` is kept as its text (0 as a number).
//!
//! The expression trees are built the way libtraceevent builds them, quirks
//! included: equal-precedence operators group to the right (`a - b - c` is
//! `a - (b - c)`), a parenthesised or unary right operand of lower
//! precedence is rotated into the left (`a * (b + c)` is `(a * b) + c`),
//! `x ? y : z + 1` is `(x ? y : z) + 1`, `^` evaluates to 0 at run time
//! (constant operands are folded, though), casts to signed types do not
//! sign-extend and field values are read unsigned (`%ld` of an `int` -1 is
//! 4294967295). `sizeof` knows `int`, `long`, `long long`, their unsigned
//! forms and `REC->field` only. Every one of these was checked against
//! libtraceevent 1.7.1 itself.
//!
//! A few values libtraceevent reads in its host's byte order (see
//! [`RenderCtx::host_endian`]): by default they are read little-endian like
//! trace-cmd on x86_64, so big-endian traces print as trace-cmd prints them.
//!
//! `bprint` (ftrace `trace_printk`) records are rendered from their printk
//! format (looked up through [`SymbolResolver::printk`]) and the arguments
//! the kernel's `vbin_printf` packed into `buf`, each read with its natural
//! size (int 4, long and pointer the kernel long size, long long 8) in the
//! file's byte order, 4-byte aligned; strings are inline and NUL-terminated.
//!
//! # Deliberate differences from libtraceevent
//!
//! - Where libtraceevent reads past the record (a bad length or offset), or
//!   would crash (division by zero), rendering fails with an error instead.
//! - Widths and precisions above [`MAX_WIDTH`] fail instead of printing.
//! - `__get_dynamic_array()` used as a number (libtraceevent prints a host
//!   address) fails.
//!
//! The rendered text is what trace-cmd writes after the event name: one
//! trailing newline is removed and the text ends at the first NUL byte.
//! Output is bytes: strings from the trace are copied verbatim.

mod bprint;
pub(crate) mod cfmt;
mod eval;
mod lex;
mod parse;
#[cfg(test)]
mod tests;

use crate::endian::Endian;
use crate::format::EventFormat;
use crate::symbols::SymbolResolver;
use cfmt::CSpec;
use std::sync::atomic::{AtomicBool, Ordering};

/// Longest print fmt text accepted.
pub const MAX_PRINT_FMT_LEN: usize = 64 * 1024;
/// Most tokens in one print fmt.
pub const MAX_TOKENS: usize = 16 * 1024;
/// Most expression nodes in one print fmt.
pub const MAX_NODES: usize = 16 * 1024;
/// Deepest nesting of expressions (parser recursion and tree depth).
pub const MAX_DEPTH: usize = 128;
/// Most arguments after the format string.
pub const MAX_ARGS: usize = 512;
/// Most `{ value, "name" }` entries in one `__print_flags`/`__print_symbolic`.
pub const MAX_TABLE: usize = 4096;
/// Largest width or precision of a conversion; larger ones (a `*` taken
/// from a corrupt record) make rendering fail rather than print megabytes.
pub const MAX_WIDTH: usize = 64 * 1024;
/// Largest text rendered for one record.
pub const MAX_OUTPUT: usize = 1 << 20;

/// Why a print fmt could not be parsed or a record not rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrintFmtError {
    /// The print fmt does not follow the grammar.
    #[error("print fmt syntax: {0}")]
    Syntax(String),
    /// A helper function libtraceevent does not know (no plugins).
    #[error("unknown print fmt function {0}()")]
    UnknownFunction(String),
    /// A field named by a helper that requires it does not exist.
    #[error("unknown field {0}")]
    UnknownField(String),
    /// A conversion needs an argument and none is left.
    #[error("more conversions than arguments")]
    MissingArgument,
    /// A conversion specification printf would not accept.
    #[error("bad conversion {0:?}")]
    BadConversion(String),
    /// A limit was exceeded.
    #[error("print fmt too large: {0}")]
    TooLarge(&'static str),
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("print fmt nested too deeply")]
    TooDeep,
    /// Division or remainder by zero.
    #[error("division by zero")]
    DivideByZero,
    /// The record is too short for what the print fmt reads.
    #[error("record too short: {0}")]
    OutOfBounds(&'static str),
    /// Something libtraceevent evaluates to a host address or undefined
    /// behaviour (e.g. `__get_dynamic_array()` as a number).
    #[error("unsupported at run time: {0}")]
    Unsupported(&'static str),
    /// The event's print fmt failed to parse earlier; see
    /// [`EventPrinter::parse_error`].
    #[error("print fmt did not parse: {0}")]
    NotParsed(Box<PrintFmtError>),
    /// A `bprint` record lacks a field (`ip`, `fmt`, `buf`).
    #[error("bprint event lacks field {0}")]
    BprintField(&'static str),
}

/// What the renderer needs besides the record.
pub struct RenderCtx<'a> {
    /// The file's byte order.
    pub endian: Endian,
    /// The kernel's `long` size (4 or 8).
    pub long_size: usize,
    /// Symbol and printk lookups.
    pub symbols: &'a dyn SymbolResolver,
    /// The byte order of the few reads libtraceevent does in its *host's*
    /// order rather than the file's: a `%s` of a pointer-sized field (the
    /// printk lookup), `__print_array` elements and a sockaddr's family.
    /// [`RenderCtx::new`] sets [`Endian::Little`], reproducing trace-cmd on
    /// x86_64 and arm64 hosts (and the fixtures' oracles); set it to
    /// `endian` to get the values right for big-endian traces instead.
    pub host_endian: Endian,
}

impl<'a> RenderCtx<'a> {
    /// A context reproducing trace-cmd on a little-endian host.
    pub fn new(endian: Endian, long_size: usize, symbols: &'a dyn SymbolResolver) -> Self {
        RenderCtx {
            endian,
            long_size,
            symbols,
            host_endian: Endian::Little,
        }
    }
}

impl std::fmt::Debug for RenderCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderCtx")
            .field("endian", &self.endian)
            .field("long_size", &self.long_size)
            .field("host_endian", &self.host_endian)
            .finish_non_exhaustive()
    }
}

/// Index of a field in [`PrintFmt`]'s field table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldId(pub(crate) usize);

/// What evaluation needs to know about a field (libtraceevent's view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldInfo {
    pub(crate) name: String,
    pub(crate) offset: usize,
    pub(crate) size: usize,
    pub(crate) elem_size: usize,
    pub(crate) array: bool,
    pub(crate) string: bool,
    pub(crate) dynamic: bool,
    pub(crate) relative: bool,
    pub(crate) long: bool,
    pub(crate) pointer: bool,
    pub(crate) signed: bool,
}

/// Operators as libtraceevent's evaluator tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    Not,
    BitNot,
    Or,
    LOr,
    And,
    LAnd,
    Lt,
    Shl,
    Le,
    Gt,
    Shr,
    Ge,
    Eq,
    Ne,
    Sub,
    Add,
    Div,
    Mod,
    Mul,
    Cond,
    Colon,
    Index,
    /// Parsed but evaluated to 0 (`^`, `<x`...).
    Zero,
}

impl OpKind {
    fn from_text(op: &str) -> OpKind {
        let b = op.as_bytes();
        let c1 = b.get(1).copied().unwrap_or(0);
        match b.first().copied().unwrap_or(0) {
            b'?' => OpKind::Cond,
            b':' => OpKind::Colon,
            b'[' => OpKind::Index,
            b'!' => match c1 {
                0 => OpKind::Not,
                b'=' => OpKind::Ne,
                _ => OpKind::Zero,
            },
            b'~' => OpKind::BitNot,
            b'|' => {
                if c1 != 0 {
                    OpKind::LOr
                } else {
                    OpKind::Or
                }
            }
            b'&' => {
                if c1 != 0 {
                    OpKind::LAnd
                } else {
                    OpKind::And
                }
            }
            b'<' => match c1 {
                0 => OpKind::Lt,
                b'<' => OpKind::Shl,
                b'=' => OpKind::Le,
                _ => OpKind::Zero,
            },
            b'>' => match c1 {
                0 => OpKind::Gt,
                b'>' => OpKind::Shr,
                b'=' => OpKind::Ge,
                _ => OpKind::Zero,
            },
            b'=' if c1 == b'=' => OpKind::Eq,
            b'-' => OpKind::Sub,
            b'+' => OpKind::Add,
            b'/' => OpKind::Div,
            b'%' => OpKind::Mod,
            b'*' => OpKind::Mul,
            _ => OpKind::Zero,
        }
    }
}

/// A compiled argument expression (libtraceevent's `tep_print_arg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Null,
    /// A number, identifier or string literal; `num` is `strtoull(text)`.
    Atom {
        text: String,
        num: u64,
    },
    /// A `bprint` string argument.
    BStr(Vec<u8>),
    /// `REC->name` (`None` if the event has no such field).
    Field(Option<FieldId>, String),
    Flags {
        val: Box<Expr>,
        delim: Option<String>,
        table: Vec<(i64, String)>,
    },
    Symbolic {
        val: Box<Expr>,
        table: Vec<(i64, String)>,
    },
    Hex {
        buf: Box<Expr>,
        len: Box<Expr>,
        spaced: bool,
    },
    IntArray {
        buf: Box<Expr>,
        count: Box<Expr>,
        elsize: Box<Expr>,
    },
    Cast {
        ty: String,
        item: Box<Expr>,
    },
    Str(Option<FieldId>),
    Bitmask(Option<FieldId>),
    Cpumask(Option<FieldId>),
    DynArray(FieldId),
    DynArrayLen(FieldId),
    Op {
        kind: OpKind,
        left: Box<Expr>,
        right: Box<Expr>,
    },
}

impl Expr {
    /// libtraceevent's `enum tep_print_arg_type` value, printed in some
    /// error texts (`ARG TYPE NOT FIELD BUT 7`).
    fn type_code(&self) -> i32 {
        match self {
            Expr::Null => 0,
            Expr::Atom { .. } => 1,
            Expr::Field(..) => 2,
            Expr::Flags { .. } => 3,
            Expr::Symbolic { .. } => 4,
            Expr::Hex { spaced: true, .. } => 5,
            Expr::IntArray { .. } => 6,
            Expr::Cast { .. } => 7,
            Expr::Str(_) => 8,
            Expr::BStr(_) => 9,
            Expr::DynArray(_) => 10,
            Expr::Op { .. } => 11,
            Expr::Bitmask(_) => 13,
            Expr::DynArrayLen(_) => 14,
            Expr::Hex { spaced: false, .. } => 15,
            Expr::Cpumask(_) => 16,
        }
    }
}

/// One piece of the format string (libtraceevent's `tep_print_parse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Literal bytes (escapes already expanded).
    Lit(Vec<u8>),
    /// An integer conversion of argument `arg`.
    Digit {
        spec: CSpec,
        arg: usize,
        len_arg: Option<usize>,
    },
    /// `%s`.
    Str {
        spec: CSpec,
        arg: usize,
        len_arg: Option<usize>,
    },
    /// `%p` and the extension letters it took (`S`, `I4`, `hC`...).
    Pointer {
        ext: Vec<u8>,
        arg: usize,
        len_arg: Option<usize>,
    },
}

/// A parsed and compiled print fmt of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintFmt {
    format: String,
    args: Vec<Expr>,
    pieces: Vec<Piece>,
    fields: Vec<FieldInfo>,
}

impl PrintFmt {
    /// Parses `text` (what follows `print fmt: `) against the event's fields.
    /// `long_size` is the kernel's `long` size (for `sizeof(long)`).
    pub fn parse(
        text: &str,
        event: &EventFormat,
        long_size: usize,
    ) -> Result<PrintFmt, PrintFmtError> {
        let parsed = parse::parse_print_fmt(text, event, long_size)?;
        let mut c = parse::Compiler {
            nodes: &parsed.nodes,
            event,
            long_size,
            fields: Vec::new(),
        };
        let mut args = Vec::with_capacity(parsed.args.len());
        for &a in &parsed.args {
            let e = c.compile(a, 0)?;
            if !parse::depth_ok(&e) {
                return Err(PrintFmtError::TooDeep);
            }
            args.push(e);
        }
        let fields = c.fields;
        let (pieces, failed) = parse::parse_format(&parsed.format, args.len())?;
        if failed {
            return Err(PrintFmtError::MissingArgument);
        }
        Ok(PrintFmt {
            format: parsed.format,
            args,
            pieces,
            fields,
        })
    }

    /// The format string (escapes not expanded).
    pub fn format_string(&self) -> &str {
        &self.format
    }

    /// Number of arguments after the format string.
    pub fn arg_count(&self) -> usize {
        self.args.len()
    }

    /// Renders one record into `out` (appending).
    pub fn render(
        &self,
        payload: &[u8],
        ctx: &RenderCtx<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), PrintFmtError> {
        finished(out, |out| {
            self.eval(payload, ctx)
                .render_pieces(&self.pieces, &self.args, out)
        })
    }
}

impl PrintFmt {
    fn eval<'a>(&'a self, payload: &'a [u8], ctx: &'a RenderCtx<'_>) -> eval::Eval<'a> {
        eval::Eval::new(payload, ctx, &self.fields)
    }

    /// libtraceevent's `print_field` search of the print cache: from piece
    /// `start` on, cyclically, the first conversion whose argument is the
    /// field `name` (under any casts). Returns the piece and whether the
    /// literal text just before it ends in `0x`.
    fn conversion_of(&self, name: &str, start: usize) -> Option<(usize, bool)> {
        let n = self.pieces.len();
        if n == 0 {
            return None;
        }
        let start = start % n;
        let mut i = start;
        let mut has_0x = false;
        loop {
            match &self.pieces[i] {
                Piece::Lit(b) => has_0x = b.ends_with(b"0x"),
                Piece::Digit { arg, .. } | Piece::Str { arg, .. } | Piece::Pointer { arg, .. } => {
                    let mut a = self.args.get(*arg);
                    while let Some(Expr::Cast { item, .. }) = a {
                        a = Some(item);
                    }
                    if let Some(Expr::Field(Some(id), _)) = a {
                        if self.fields.get(id.0).is_some_and(|f| f.name == name) {
                            return Some((i, has_0x));
                        }
                    }
                    has_0x = false;
                }
            }
            i = (i + 1) % n;
            if i == start {
                return None;
            }
        }
    }
}

/// Runs `render` appending to `out`; on error `out` is left as it was,
/// on success the text is [`finish`]ed.
fn finished(
    out: &mut Vec<u8>,
    render: impl FnOnce(&mut Vec<u8>) -> Result<(), PrintFmtError>,
) -> Result<(), PrintFmtError> {
    let start = out.len();
    match render(out) {
        Ok(()) => {
            finish(out, start);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// trace-cmd drops one trailing newline, and `printf("%.*s")` stops at NUL.
fn finish(out: &mut Vec<u8>, start: usize) {
    if out.len() > start && out.last() == Some(&b'\n') {
        out.pop();
    }
    if let Some(n) = out[start..].iter().position(|&b| b == 0) {
        out.truncate(start + n);
    }
}

#[derive(Debug)]
enum Kind {
    Normal(PrintFmt),
    Bprint {
        ip: Option<FieldInfo>,
        fmt: Option<FieldInfo>,
        buf: Option<FieldInfo>,
        /// Set for good once a format had more conversions than arguments
        /// (libtraceevent then marks the `bprint` event as failed).
        failed: AtomicBool,
    },
    Failed(PrintFmtError),
}

/// Renders the records of one event: its compiled print fmt, or the
/// `bprint` machinery, or (if the print fmt did not parse) only the raw
/// fallback.
///
/// Like libtraceevent, the raw fallback remembers a string field that once
/// held non-printable bytes and prints it as `ARRAY[..]` from then on, so
/// render records in file order to reproduce trace-cmd.
#[derive(Debug)]
pub struct EventPrinter {
    kind: Kind,
    raw_fields: Vec<FieldInfo>,
    /// Per raw field: still printed as a string (cleared for good by the
    /// first non-printable value, as libtraceevent clears the flag).
    still_string: Vec<AtomicBool>,
}

impl EventPrinter {
    /// Prepares the printer of `event`. Never fails: a print fmt that does
    /// not parse is kept as [`EventPrinter::parse_error`] and every
    /// [`EventPrinter::render`] then returns an error.
    pub fn new(event: &EventFormat, long_size: usize) -> EventPrinter {
        let raw_fields: Vec<FieldInfo> = event
            .fields
            .iter()
            .map(|f| eval::field_info(f, long_size))
            .collect();
        let kind = if event.system == "ftrace" && event.name == "bprint" {
            let get = |n: &str| event.field(n).map(|f| eval::field_info(f, long_size));
            Kind::Bprint {
                ip: get("ip"),
                fmt: get("fmt"),
                buf: get("buf"),
                failed: AtomicBool::new(false),
            }
        } else {
            match PrintFmt::parse(&event.print_fmt, event, long_size) {
                Ok(p) => Kind::Normal(p),
                Err(e) => Kind::Failed(e),
            }
        };
        let still_string = raw_fields
            .iter()
            .map(|f| AtomicBool::new(f.string))
            .collect();
        EventPrinter {
            kind,
            raw_fields,
            still_string,
        }
    }

    /// Why the print fmt did not parse, if it did not.
    pub fn parse_error(&self) -> Option<&PrintFmtError> {
        match &self.kind {
            Kind::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The compiled print fmt (`None` for `bprint` and unparsed formats).
    pub fn print_fmt(&self) -> Option<&PrintFmt> {
        match &self.kind {
            Kind::Normal(p) => Some(p),
            _ => None,
        }
    }

    /// Appends the event text of one record to `out`. On error nothing is
    /// appended; [`EventPrinter::render_failed`] gives trace-cmd's fallback.
    pub fn render(
        &self,
        payload: &[u8],
        ctx: &RenderCtx<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), PrintFmtError> {
        match &self.kind {
            Kind::Normal(p) => p.render(payload, ctx, out),
            Kind::Failed(e) => Err(PrintFmtError::NotParsed(Box::new(e.clone()))),
            Kind::Bprint {
                ip,
                fmt,
                buf,
                failed,
            } => {
                if failed.load(Ordering::Relaxed) {
                    return Err(PrintFmtError::NotParsed(Box::new(
                        PrintFmtError::MissingArgument,
                    )));
                }
                finished(out, |out| {
                    let short =
                        bprint::render(payload, ctx, ip.as_ref(), fmt.as_ref(), buf.as_ref(), out)?;
                    if short {
                        failed.store(true, Ordering::Relaxed);
                    }
                    Ok(())
                })
            }
        }
    }

    /// Appends what libtraceevent prints for an event whose print fmt
    /// failed: `[FAILED TO PARSE]` then ` name=value` for each field.
    pub fn render_failed(&self, payload: &[u8], ctx: &RenderCtx<'_>, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(b"[FAILED TO PARSE]");
        self.raw_fields(payload, ctx, out, false);
        finish(out, start);
    }

    /// Appends ` name=value` for each field by its type only, without the
    /// print fmt's conversions (what libtraceevent prints after
    /// `[FAILED TO PARSE]`).
    pub fn render_raw_fields(&self, payload: &[u8], ctx: &RenderCtx<'_>, out: &mut Vec<u8>) {
        self.raw_fields(payload, ctx, out, false);
    }

    /// Appends the raw form of a record, `trace-cmd report -R`: ` name=value`
    /// for each field. As libtraceevent's `tep_print_fields` does, a field
    /// that the parsed print fmt prints with a conversion of its own (`%lx`,
    /// `0x%Lx`, `%pS`...) is printed with that conversion; others (and all
    /// fields of `bprint` and of events whose print fmt did not parse) by
    /// their type.
    pub fn render_raw(&self, payload: &[u8], ctx: &RenderCtx<'_>, out: &mut Vec<u8>) {
        self.raw_fields(payload, ctx, out, true);
    }

    fn raw_fields(&self, payload: &[u8], ctx: &RenderCtx<'_>, out: &mut Vec<u8>, hints: bool) {
        let pf = match (&self.kind, hints) {
            (Kind::Normal(p), true) => Some(p),
            _ => None,
        };
        // Where the last field's conversion was found: the next search
        // starts after it.
        let mut cursor = 0usize;
        for (i, f) in self.raw_fields.iter().enumerate() {
            out.push(b' ');
            out.extend_from_slice(f.name.as_bytes());
            out.push(b'=');
            let still = self.still_string.get(i);
            let is_string = f.string && still.is_some_and(|s| s.load(Ordering::Relaxed));
            if let Some(p) = pf.filter(|_| !f.array && !is_string) {
                if let Some((pi, has_0x)) = p.conversion_of(&f.name, cursor) {
                    let mark = out.len();
                    if has_0x {
                        out.extend_from_slice(b"0x");
                    }
                    let ev = p.eval(payload, ctx);
                    if ev.render_piece(&p.pieces[pi], &p.args, out).is_ok() {
                        cursor = pi + 1;
                        continue;
                    }
                    out.truncate(mark);
                }
            }
            eval::raw_field(f, still, payload, ctx, out);
        }
    }
}
