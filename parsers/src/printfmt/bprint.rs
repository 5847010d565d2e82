//! `ftrace:bprint` (`trace_printk` with arguments): the format comes from
//! the printk table through the record's `fmt` pointer, the arguments from
//! the `u32 buf[]` the kernel's `vbin_printf` filled.
//!
//! The walk over the format is libtraceevent's `make_bprint_args`: every
//! integer argument is 4-byte aligned and `vsize` bytes long (4 for plain
//! and `*`, the kernel long size for `l`, `z` and pointers, 8 for `ll`/`L`),
//! read in the file's byte order; `%s` strings are inline and
//! NUL-terminated. Conversions it does not know (`%c`, `%hd`, flags `-`, `+` and
//! space) consume nothing, as in libtraceevent.

use super::cfmt::cstr;
use super::eval::Eval;
use super::{Expr, FieldInfo, PrintFmtError, RenderCtx, parse};

type Res<T> = Result<T, PrintFmtError>;

fn read(payload: &[u8], ctx: &RenderCtx<'_>, off: usize, size: usize) -> Res<u64> {
    let end = off
        .checked_add(size)
        .ok_or(PrintFmtError::OutOfBounds("bprint argument"))?;
    if end > payload.len() {
        return Err(PrintFmtError::OutOfBounds("bprint argument"));
    }
    Ok(ctx.endian.read_uint(payload, off, size).unwrap_or(0))
}

/// The arguments `vbin_printf` packed for `format` (whose first five bytes
/// are the `%ps: ` prefix), after the `ip` argument.
pub(crate) fn unpack_args(
    format: &[u8],
    payload: &[u8],
    buf_offset: usize,
    ctx: &RenderCtx<'_>,
    args: &mut Vec<Expr>,
) -> Res<()> {
    let mut bptr = buf_offset;
    let mut p = 5;
    while bptr < payload.len() && p < format.len() {
        if format[p] == b'%' {
            let mut ls = 0usize;
            loop {
                p += 1;
                let Some(&c) = format.get(p) else { break };
                let number;
                match c {
                    b'%' => break,
                    b'l' => {
                        ls += 1;
                        continue;
                    }
                    b'L' => {
                        ls = 2;
                        continue;
                    }
                    // libtraceevent 1.7 skips '+' and '-' here (no argument).
                    b'0'..=b'9' | b'.' | b'#' => continue,
                    b'z' | b'Z' => {
                        ls = 1;
                        continue;
                    }
                    b'p' => {
                        ls = 1;
                        number = match format.get(p + 1) {
                            Some(&n) if n.is_ascii_alphanumeric() => {
                                p += 1;
                                let fwnode =
                                    matches!(n, b'f' | b'F') && format.get(p + 1) == Some(&b'w');
                                if matches!(n, b's' | b'S' | b'x')
                                    || (matches!(n, b'f' | b'F') && !fwnode)
                                {
                                    true
                                } else {
                                    // Old kernels stored dereferenced
                                    // pointers as strings.
                                    !payload
                                        .get(bptr)
                                        .is_some_and(|&b| (0x20..0x7f).contains(&b))
                                }
                            }
                            _ => true,
                        };
                    }
                    b'd' | b'u' | b'i' | b'x' | b'X' | b'o' | b'*' => number = true,
                    b's' => number = false,
                    _ => break,
                }
                if number {
                    let vsize = if c == b'*' {
                        4
                    } else {
                        match ls {
                            0 => 4,
                            1 => ctx.long_size,
                            2 => 8,
                            n => n,
                        }
                    };
                    bptr = (bptr + 3) & !3;
                    let val = read(payload, ctx, bptr, vsize)?;
                    bptr += vsize;
                    args.push(Expr::Atom {
                        text: (val as i64).to_string(),
                        num: val,
                    });
                    if c == b'*' {
                        continue;
                    }
                } else {
                    let s = cstr(payload.get(bptr..).unwrap_or(&[]));
                    bptr += s.len() + 1;
                    args.push(Expr::BStr(s.to_vec()));
                }
                if args.len() > super::MAX_ARGS {
                    return Err(PrintFmtError::TooLarge("argument count"));
                }
                break;
            }
        }
        p += 1;
    }
    Ok(())
}

/// Renders one bprint record (without the final newline handling).
/// Returns whether the format had more conversions than arguments: the
/// record still prints (up to the conversion that lacked its argument) but
/// libtraceevent marks the event as failed from then on.
pub(crate) fn render(
    payload: &[u8],
    ctx: &RenderCtx<'_>,
    ip: Option<&FieldInfo>,
    fmt: Option<&FieldInfo>,
    buf: Option<&FieldInfo>,
    out: &mut Vec<u8>,
) -> Res<bool> {
    let fmt = fmt.ok_or(PrintFmtError::BprintField("fmt"))?;
    let addr = read(payload, ctx, fmt.offset, fmt.size)?;
    let format = match ctx.symbols.printk(addr) {
        Some(s) => format!("%ps: {s}"),
        None => format!("%ps: (NO FORMAT FOUND at {addr:x})\n"),
    };
    let buf = buf.ok_or(PrintFmtError::BprintField("buf"))?;
    let ip = ip.ok_or(PrintFmtError::BprintField("ip"))?;
    let ipv = read(payload, ctx, ip.offset, ip.size)?;
    let mut args = vec![Expr::Atom {
        text: (ipv as i64).to_string(),
        num: ipv,
    }];
    unpack_args(format.as_bytes(), payload, buf.offset, ctx, &mut args)?;
    let (pieces, short) = parse::parse_format(&format, args.len())?;
    let ev = Eval::new(payload, ctx, &[]);
    ev.render_pieces(&pieces, &args, out)?;
    Ok(short)
}
