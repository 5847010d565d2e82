//! Evaluation of compiled print fmt arguments against one record, following
//! libtraceevent's `eval_num_arg`, `print_str_arg`, `print_arg_pointer` and
//! friends.

use super::cfmt::{CSpec, cstr, format_ptr};
use super::{Expr, FieldId, FieldInfo, MAX_OUTPUT, OpKind, Piece, PrintFmtError, RenderCtx};
use crate::endian::Endian;
use crate::format::Field;
use crate::symbols::SymbolResolver;
use std::sync::atomic::{AtomicBool, Ordering};

type Res<T> = Result<T, PrintFmtError>;

/// libtraceevent's view of a field.
pub(crate) fn field_info(f: &Field, long_size: usize) -> FieldInfo {
    let flags = f.flags;
    // Ancient kernels: a 2-byte __data_loc is a string.
    let old_dyn = flags.dynamic && f.size == 2;
    let array = flags.array || old_dyn;
    let elem_size = if array || flags.dynamic {
        if let Some(n) = f.array_len.filter(|&n| n > 0) {
            f.size / n
        } else if flags.dynamic {
            // The type word before `[]`: `__data_loc char[]` -> char.
            let t = f.type_name.split('[').next().unwrap_or("");
            match t.split_whitespace().last().unwrap_or("") {
                "u8" | "s8" | "char" => 1,
                "u16" | "s16" => 2,
                "u32" | "s32" => 4,
                "u64" | "s64" => 8,
                _ => 0,
            }
        } else if flags.string {
            1
        } else if flags.long {
            long_size
        } else {
            0
        }
    } else {
        f.size
    };
    FieldInfo {
        name: f.name.clone(),
        offset: f.offset,
        size: f.size,
        elem_size,
        array,
        string: flags.string || old_dyn,
        dynamic: flags.dynamic,
        relative: flags.relative,
        long: flags.long,
        pointer: flags.pointer,
        signed: flags.signed,
    }
}

/// libtraceevent's `eval_type_str` (its signed casts never sign-extend).
pub(crate) fn eval_type_str(val: u64, ty: &str, pointer: bool) -> u64 {
    let len = ty.len();
    if len < 2 {
        return val;
    }
    if pointer {
        if !ty.ends_with('*') {
            return val;
        }
        return match ty.get(..len - 2) {
            Some(r) => eval_type_str(val, r, false),
            None => val,
        };
    }
    if ty.ends_with('*') || ty.starts_with("struct") {
        return val;
    }
    match ty {
        "u8" | "s8" => return val & 0xff,
        "u16" | "s16" => return val & 0xffff,
        "u32" | "s32" => return val & 0xffff_ffff,
        "u64" | "s64" => return val,
        _ => {}
    }
    let t = ty.strip_prefix("unsigned ").unwrap_or(ty);
    match t {
        "char" => val & 0xff,
        "short" => val & 0xffff,
        "int" => val & 0xffff_ffff,
        _ => val,
    }
}

/// One record being rendered.
pub(crate) struct Eval<'a> {
    pub(crate) payload: &'a [u8],
    pub(crate) endian: Endian,
    /// Byte order of libtraceevent's native reads (see `RenderCtx`).
    pub(crate) host_endian: Endian,
    pub(crate) long_size: usize,
    pub(crate) symbols: &'a dyn SymbolResolver,
    pub(crate) fields: &'a [FieldInfo],
}

impl<'a> Eval<'a> {
    /// An evaluation of `payload` with the context's byte orders, long size
    /// and symbols; `fields` is the print fmt's field table.
    pub(crate) fn new(payload: &'a [u8], ctx: &'a RenderCtx<'_>, fields: &'a [FieldInfo]) -> Self {
        Eval {
            payload,
            endian: ctx.endian,
            host_endian: ctx.host_endian,
            long_size: ctx.long_size,
            symbols: ctx.symbols,
            fields,
        }
    }

    fn field(&self, id: FieldId) -> Res<&FieldInfo> {
        self.fields
            .get(id.0)
            .ok_or(PrintFmtError::Unsupported("field index"))
    }

    /// `tep_read_number`: 1, 2, 4 or 8 bytes; other sizes read as 0.
    fn read_number(&self, offset: u64, size: u64) -> Option<u64> {
        self.read_in(self.endian, offset, size)
    }

    /// A read in libtraceevent's host order.
    fn read_host(&self, offset: u64, size: u64) -> Option<u64> {
        self.read_in(self.host_endian, offset, size)
    }

    fn read_in(&self, endian: Endian, offset: u64, size: u64) -> Option<u64> {
        let off = usize::try_from(offset).ok()?;
        let size = usize::try_from(size).ok()?;
        let end = off.checked_add(size)?;
        if end > self.payload.len() {
            return None;
        }
        Some(endian.read_uint(self.payload, off, size).unwrap_or(0))
    }

    fn bytes(&self, offset: u64, len: u64, what: &'static str) -> Res<&[u8]> {
        let off = usize::try_from(offset).map_err(|_| PrintFmtError::OutOfBounds(what))?;
        let len = usize::try_from(len).map_err(|_| PrintFmtError::OutOfBounds(what))?;
        let end = off
            .checked_add(len)
            .ok_or(PrintFmtError::OutOfBounds(what))?;
        self.payload
            .get(off..end)
            .ok_or(PrintFmtError::OutOfBounds(what))
    }

    /// The C string at `offset` (to its NUL or the end of the record).
    fn cstr_at(&self, offset: u64) -> &[u8] {
        match usize::try_from(offset)
            .ok()
            .and_then(|o| self.payload.get(o..))
        {
            Some(s) => cstr(s),
            None => &[],
        }
    }

    /// `dynamic_offset_field`: (offset, length) of a `__data_loc` field.
    fn dyn_offset(&self, f: &FieldInfo) -> (u64, u64) {
        let size = self.payload.len() as u64;
        // The format file's offset and size are the file's numbers: their
        // sum can overflow.
        let Some(end) = f.offset.checked_add(f.size) else {
            return (0, 0);
        };
        if end as u64 > size {
            return (0, 0);
        }
        let val = self
            .read_number(f.offset as u64, f.size as u64)
            .unwrap_or(0);
        let o = val & 0xffff;
        let l = if f.size == 2 {
            size.saturating_sub(o)
        } else {
            (val >> 16) & 0xffff
        };
        let mut offset = if o > size { 0 } else { o };
        let len = if o + l > size { 0 } else { l };
        if f.relative {
            offset += end as u64;
        }
        (offset, len)
    }

    fn field_value(&self, f: &FieldInfo) -> u64 {
        // Out-of-record fields read as 0 (libtraceevent warns).
        self.read_number(f.offset as u64, f.size as u64)
            .unwrap_or(0)
    }

    /// The branch of `cond ? t : f` (`right` is the `t : f` node) that
    /// `cond` selects.
    fn branch<'e>(&self, cond: &Expr, right: &'e Expr) -> Res<&'e Expr> {
        let Expr::Op {
            kind: OpKind::Colon,
            left: t,
            right: f,
        } = right
        else {
            return Err(PrintFmtError::Unsupported("'?' without ':'"));
        };
        Ok(if self.num(cond)? != 0 { t } else { f })
    }

    /// libtraceevent's `eval_num_arg`.
    pub(crate) fn num(&self, e: &Expr) -> Res<u64> {
        Ok(match e {
            Expr::Null => 0,
            Expr::Atom { text, num } => {
                if *num != 0 || text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                    *num
                } else {
                    self.symbols.symbol_address(text).unwrap_or(0)
                }
            }
            Expr::Field(Some(id), _) => self.field_value(self.field(*id)?),
            Expr::Field(None, _) => 0,
            Expr::Cast { ty, item } => eval_type_str(self.num(item)?, ty, false),
            Expr::DynArrayLen(id) => self.dyn_offset(self.field(*id)?).1,
            Expr::DynArray(_) => {
                return Err(PrintFmtError::Unsupported(
                    "__get_dynamic_array() used as a number (a host address)",
                ));
            }
            Expr::Flags { .. }
            | Expr::Symbolic { .. }
            | Expr::Hex { .. }
            | Expr::IntArray { .. }
            | Expr::Str(_)
            | Expr::BStr(_)
            | Expr::Bitmask(_)
            | Expr::Cpumask(_) => 0,
            Expr::Op { kind, left, right } => match kind {
                OpKind::Index => self.index(left, right)?,
                OpKind::Cond => self.num(self.branch(left, right)?)?,
                _ => {
                    let l = self.num(left)?;
                    let r = self.num(right)?;
                    match kind {
                        OpKind::Not => u64::from(r == 0),
                        OpKind::Ne => u64::from(l != r),
                        OpKind::BitNot => !r,
                        OpKind::Or => l | r,
                        OpKind::LOr => u64::from(l != 0 || r != 0),
                        OpKind::And => l & r,
                        OpKind::LAnd => u64::from(l != 0 && r != 0),
                        OpKind::Lt => u64::from(l < r),
                        OpKind::Shl => l.wrapping_shl(r as u32),
                        OpKind::Le => u64::from(l <= r),
                        OpKind::Gt => u64::from(l > r),
                        OpKind::Shr => l.wrapping_shr(r as u32),
                        OpKind::Ge => u64::from(l >= r),
                        OpKind::Eq => u64::from(l == r),
                        OpKind::Sub => l.wrapping_sub(r),
                        OpKind::Add => l.wrapping_add(r),
                        OpKind::Div => l.checked_div(r).ok_or(PrintFmtError::DivideByZero)?,
                        OpKind::Mod => l.checked_rem(r).ok_or(PrintFmtError::DivideByZero)?,
                        OpKind::Mul => l.wrapping_mul(r),
                        OpKind::Zero | OpKind::Colon | OpKind::Cond | OpKind::Index => 0,
                    }
                }
            },
        })
    }

    /// `a[i]` on a field or a dynamic array, through casts.
    fn index(&self, left: &Expr, right: &Expr) -> Res<u64> {
        let idx = self.num(right)?;
        let mut larg = left;
        let mut cast: Option<&str> = None;
        while let Expr::Cast { ty, item } = larg {
            if cast.is_none() {
                cast = Some(ty);
            }
            larg = item;
        }
        let mut field_size = self.long_size as u64;
        let offset = match larg {
            Expr::DynArray(id) => {
                let f = self.field(*id)?;
                if f.elem_size != 0 {
                    field_size = f.elem_size as u64;
                }
                self.dyn_offset(f).0.checked_add(idx)
            }
            Expr::Field(Some(id), _) => {
                let f = self.field(*id)?;
                field_size = f.elem_size as u64;
                idx.checked_mul(f.elem_size as u64)
                    .and_then(|x| x.checked_add(f.offset as u64))
            }
            _ => return Ok(0),
        };
        let Some(offset) = offset else { return Ok(0) };
        let Some(val) = self.read_number(offset, field_size) else {
            return Ok(0);
        };
        Ok(match cast {
            Some(ty) => eval_type_str(val, ty, true),
            None => val,
        })
    }

    /// The star argument of a conversion, as the C `int` it becomes.
    fn star(&self, len_arg: Option<usize>, args: &[Expr]) -> Res<Option<i32>> {
        match len_arg {
            None => Ok(None),
            Some(i) => {
                let e = args.get(i).ok_or(PrintFmtError::MissingArgument)?;
                Ok(Some(self.num(e)? as i32))
            }
        }
    }

    /// Renders the pieces of a format string.
    pub(crate) fn render_pieces(
        &self,
        pieces: &[Piece],
        args: &[Expr],
        out: &mut Vec<u8>,
    ) -> Res<()> {
        for p in pieces {
            self.render_piece(p, args, out)?;
        }
        Ok(())
    }

    /// Renders one piece of a format string (libtraceevent's
    /// `print_parse_data`).
    pub(crate) fn render_piece(&self, p: &Piece, args: &[Expr], out: &mut Vec<u8>) -> Res<()> {
        match p {
            Piece::Lit(b) => out.extend_from_slice(b),
            Piece::Digit { spec, arg, len_arg } => {
                let star = self.star(*len_arg, args)?;
                if star.is_some_and(|s| s < 0) {
                    return Err(PrintFmtError::Unsupported("negative '*' argument"));
                }
                let e = args.get(*arg).ok_or(PrintFmtError::MissingArgument)?;
                let v = self.num(e)?;
                spec.format_int(out, v, star)?;
            }
            Piece::Str { spec, arg, len_arg } => {
                let star = self.star(*len_arg, args)?;
                if star.is_some_and(|s| s < 0) {
                    return Err(PrintFmtError::Unsupported("negative '*' argument"));
                }
                let e = args.get(*arg).ok_or(PrintFmtError::MissingArgument)?;
                // printed into a scratch buffer and appended up to a NUL
                let mut tmp = Vec::new();
                self.print_str(&mut tmp, e, spec, star, 0)?;
                out.extend_from_slice(cstr(&tmp));
            }
            Piece::Pointer { ext, arg, len_arg } => {
                let plen = self.star(*len_arg, args)?.unwrap_or(1);
                let e = args.get(*arg).ok_or(PrintFmtError::MissingArgument)?;
                self.pointer(out, ext, e, plen)?;
            }
        }
        if out.len() > MAX_OUTPUT {
            return Err(PrintFmtError::TooLarge("rendered text"));
        }
        Ok(())
    }

    /// libtraceevent's `print_str_arg`: the `%s` of any argument.
    fn print_str(
        &self,
        out: &mut Vec<u8>,
        e: &Expr,
        spec: &CSpec,
        star: Option<i32>,
        depth: usize,
    ) -> Res<()> {
        if depth > super::MAX_DEPTH {
            return Err(PrintFmtError::TooDeep);
        }
        match e {
            Expr::Atom { text, .. } => spec.format_str(out, text.as_bytes(), star)?,
            Expr::BStr(b) => spec.format_str(out, b, star)?,
            Expr::Field(Some(id), _) => {
                let f = self.field(*id)?;
                if !f.array && f.size == self.long_size {
                    // A pointer: a printk string or its address in hex.
                    let addr = self
                        .read_host(f.offset as u64, f.size as u64)
                        .ok_or(PrintFmtError::OutOfBounds("pointer field"))?;
                    match self.symbols.printk(addr) {
                        Some(s) => out.extend_from_slice(s.as_bytes()),
                        None => out.extend_from_slice(format!("{addr:x}").as_bytes()),
                    }
                    return Ok(());
                }
                let len = if f.size != 0 {
                    f.size
                } else {
                    self.payload.len().saturating_sub(f.offset)
                };
                let start = f.offset.min(self.payload.len());
                let end = f.offset.saturating_add(len).min(self.payload.len());
                spec.format_str(out, &self.payload[start..end.max(start)], star)?;
            }
            Expr::Flags { val, delim, table } => {
                let mut v = self.num(val)? as i64;
                let mut printed = false;
                for (fval, s) in table {
                    if v == 0 && *fval < 0 {
                        spec.format_str(out, s.as_bytes(), star)?;
                        break;
                    }
                    if *fval > 0 && (v & fval) == *fval {
                        if let (true, Some(d)) = (printed, delim) {
                            out.extend_from_slice(d.as_bytes());
                        }
                        spec.format_str(out, s.as_bytes(), star)?;
                        printed = true;
                        v &= !fval;
                    }
                }
                if v != 0 {
                    if let (true, Some(d)) = (printed, delim) {
                        out.extend_from_slice(d.as_bytes());
                    }
                    out.extend_from_slice(format!("0x{:x}", v as u64).as_bytes());
                }
            }
            Expr::Symbolic { val, table } => {
                let v = self.num(val)? as i64;
                match table.iter().find(|(fv, _)| *fv == v) {
                    Some((_, s)) => spec.format_str(out, s.as_bytes(), star)?,
                    None => out.extend_from_slice(format!("0x{:x}", v as u64).as_bytes()),
                }
            }
            Expr::Hex { buf, len, spaced } => {
                let Some(off) = self.array_location(buf)? else {
                    return Ok(());
                };
                let n = u64::from(self.num(len)? as u32);
                let bytes = self.bytes(off, n, "__print_hex length")?;
                for (i, b) in bytes.iter().enumerate() {
                    if i > 0 && *spaced {
                        out.push(b' ');
                    }
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
            }
            Expr::IntArray { buf, count, elsize } => {
                let Some(mut off) = self.array_location(buf)? else {
                    return Ok(());
                };
                // libtraceevent 1.7: unsigned decimal, space separated, no
                // braces, elements read in the host's byte order.
                let n = self.num(count)? as u32;
                let mut el = self.num(elsize)? as i32;
                for i in 0..n {
                    if i > 0 {
                        out.push(b' ');
                    }
                    match el {
                        1 | 2 | 4 | 8 => {
                            let v = self
                                .read_host(off, el as u64)
                                .ok_or(PrintFmtError::OutOfBounds("__print_array"))?;
                            out.extend_from_slice(v.to_string().as_bytes());
                        }
                        _ => {
                            let b = self.bytes(off, 1, "__print_array")?[0];
                            out.extend_from_slice(format!("BAD SIZE:{el} 0x{b:x}").as_bytes());
                            el = 1;
                        }
                    }
                    off += el as u64;
                    if out.len() > MAX_OUTPUT {
                        return Err(PrintFmtError::TooLarge("rendered text"));
                    }
                }
            }
            Expr::Str(Some(id)) => {
                let (off, len) = self.dyn_offset(self.field(*id)?);
                if len != 0 {
                    spec.format_str(out, self.cstr_at(off), star)?;
                }
            }
            Expr::Bitmask(Some(id)) => {
                let (off, len) = self.dyn_offset(self.field(*id)?);
                let data = self.bytes(off, len, "__get_bitmask")?;
                let s = bitmask_string(data, self.endian);
                spec.format_str(out, &s, star)?;
            }
            Expr::Cpumask(Some(id)) => {
                let (off, len) = self.dyn_offset(self.field(*id)?);
                let data = self.bytes(off, len, "__get_cpumask")?;
                let s = cpumask_string(data, self.endian);
                spec.format_str(out, &s, star)?;
            }
            Expr::Op {
                kind: OpKind::Cond,
                left,
                right,
            } => {
                let branch = self.branch(left, right)?;
                self.print_str(out, branch, spec, star, depth + 1)?;
            }
            // Printed as nothing by libtraceevent.
            Expr::Null
            | Expr::Field(None, _)
            | Expr::Cast { .. }
            | Expr::Str(None)
            | Expr::Bitmask(None)
            | Expr::Cpumask(None)
            | Expr::DynArray(_)
            | Expr::DynArrayLen(_)
            | Expr::Op { .. } => {}
        }
        Ok(())
    }

    /// Where `__print_hex`/`__print_array` data starts: a dynamic array or
    /// a field (`None`: a missing field, printed as nothing).
    fn array_location(&self, buf: &Expr) -> Res<Option<u64>> {
        match buf {
            Expr::DynArray(id) => Ok(Some(self.dyn_offset(self.field(*id)?).0)),
            Expr::Field(Some(id), _) => Ok(Some(self.field(*id)?.offset as u64)),
            Expr::Field(None, _) => Ok(None),
            _ => Err(PrintFmtError::Unsupported(
                "__print_hex/__print_array of an expression",
            )),
        }
    }

    /// libtraceevent's `print_arg_pointer`.
    fn pointer(&self, out: &mut Vec<u8>, ext: &[u8], e: &Expr, plen: i32) -> Res<()> {
        if let Expr::BStr(b) = e {
            out.extend_from_slice(cstr(b));
            return Ok(());
        }
        let at = |i: usize| ext.get(i).copied().unwrap_or(0);
        match at(0) {
            b'F' | b'f' | b'S' | b's' => {
                let val = self.num(e)?;
                match self.symbols.function(val) {
                    Some((name, start)) => {
                        out.extend_from_slice(name.as_bytes());
                        if matches!(at(0), b'F' | b'S') {
                            out.extend_from_slice(
                                format!("+0x{:x}", val.wrapping_sub(start)).as_bytes(),
                            );
                        }
                    }
                    None => out.extend_from_slice(format!("0x{val:x}").as_bytes()),
                }
            }
            b'M' | b'm' => self.mac(out, ext, e)?,
            b'I' | b'i' => self.ip(out, ext, e)?,
            b'U' => self.uuid(out, ext, e)?,
            b'h' => self.raw_buff(out, ext, e, plen)?,
            _ => format_ptr(out, self.num(e)?),
        }
        Ok(())
    }

    /// The field under any casts, or the text libtraceevent prints instead.
    fn plain_field<'e>(&self, out: &mut Vec<u8>, e: &'e Expr) -> Option<&'e Expr> {
        let mut a = e;
        while let Expr::Cast { item, .. } = a {
            a = item;
        }
        match a {
            Expr::Field(Some(_), _) => Some(a),
            Expr::Field(None, _) => None,
            other => {
                out.extend_from_slice(
                    format!("ARG TYPE NOT FIELD BUT {}", other.type_code()).as_bytes(),
                );
                None
            }
        }
    }

    fn field_bytes(&self, e: &Expr, what: &'static str) -> Res<(&FieldInfo, &[u8])> {
        let Expr::Field(Some(id), _) = e else {
            return Err(PrintFmtError::Unsupported(what));
        };
        let f = self.field(*id)?;
        Ok((f, self.bytes(f.offset as u64, f.size as u64, what)?))
    }

    /// The bytes of a plain field argument (under any casts) that must be
    /// `size` bytes long. `None` when libtraceevent prints something else
    /// instead, which is then in `out`: `invalid` for a field of another
    /// size, an error text for a non-field.
    fn sized_field(
        &self,
        out: &mut Vec<u8>,
        e: &Expr,
        size: usize,
        invalid: &[u8],
        what: &'static str,
    ) -> Res<Option<&[u8]>> {
        let Some(fe) = self.plain_field(out, e) else {
            return Ok(None);
        };
        let Expr::Field(Some(id), _) = fe else {
            return Ok(None);
        };
        if self.field(*id)?.size != size {
            out.extend_from_slice(invalid);
            return Ok(None);
        }
        Ok(Some(self.field_bytes(fe, what)?.1))
    }

    fn mac(&self, out: &mut Vec<u8>, ext: &[u8], e: &Expr) -> Res<()> {
        let Some(b) = self.sized_field(out, e, 6, b"INVALIDMAC", "%pM field")? else {
            return Ok(());
        };
        let sep: &str = if ext.first() == Some(&b'm') {
            ""
        } else if ext.first() == Some(&b'M') && ext.get(1) == Some(&b'F') {
            "-"
        } else {
            ":"
        };
        let mut bytes: Vec<u8> = b.to_vec();
        if ext.get(1) == Some(&b'R') {
            bytes.reverse();
        }
        let parts: Vec<String> = bytes.iter().map(|x| format!("{x:02x}")).collect();
        out.extend_from_slice(parts.join(sep).as_bytes());
        Ok(())
    }

    fn ip(&self, out: &mut Vec<u8>, ext: &[u8], e: &Expr) -> Res<()> {
        let at = |i: usize| ext.get(i).copied().unwrap_or(0);
        let i = at(0);
        match at(1) {
            b'4' => {
                let reverse = self.ip4_reverse(at(2));
                let Some(b) = self.sized_field(out, e, 4, b"INVALIDIPv4", "%pI4 field")? else {
                    return Ok(());
                };
                ip4(out, i, reverse, b);
            }
            b'6' => {
                let have_c = i == b'I' && at(2) == b'c';
                let Some(b) = self.sized_field(out, e, 16, b"INVALIDIPv6", "%pI6 field")? else {
                    return Ok(());
                };
                if have_c {
                    ip6c(out, b);
                } else {
                    ip6(out, i, b);
                }
            }
            b'S' => self.ipsa(out, i, &ext[2.min(ext.len())..], e)?,
            _ => {}
        }
        Ok(())
    }

    fn ip4_reverse(&self, c: u8) -> bool {
        match c {
            b'h' => !self.endian.is_big(),
            b'l' => true,
            _ => false,
        }
    }

    fn ipsa(&self, out: &mut Vec<u8>, i: u8, mut ptr: &[u8], e: &Expr) -> Res<()> {
        let (mut have_p, mut have_c) = (false, false);
        if i == b'I' {
            if ptr.first() == Some(&b'p') {
                have_p = true;
                ptr = &ptr[1..];
            }
            if ptr.first() == Some(&b'c') {
                have_c = true;
                ptr = &ptr[1..];
            }
        }
        let reverse = self.ip4_reverse(ptr.first().copied().unwrap_or(0));
        let mut a = e;
        while let Expr::Cast { item, .. } = a {
            a = item;
        }
        let (off, len) = match a {
            Expr::Field(Some(id), _) => {
                let f = self.field(*id)?;
                (f.offset as u64, f.size as u64)
            }
            Expr::Field(None, _) => return Ok(()),
            Expr::DynArray(id) => self.dyn_offset(self.field(*id)?),
            other => {
                out.extend_from_slice(
                    format!(
                        "ARG NOT FIELD NOR DYNAMIC ARRAY BUT TYPE {}",
                        other.type_code()
                    )
                    .as_bytes(),
                );
                return Ok(());
            }
        };
        let family = self
            .read_host(off, 2)
            .ok_or(PrintFmtError::OutOfBounds("sockaddr"))?;
        let port = |at: u64| -> Res<u16> {
            let b = self.bytes(at, 2, "sockaddr")?;
            Ok(u16::from_be_bytes([b[0], b[1]]))
        };
        match family {
            2 => {
                if len < 16 {
                    out.extend_from_slice(b"INVALIDIPv4");
                    return Ok(());
                }
                let b = self.bytes(off + 4, 4, "sockaddr")?;
                ip4(out, i, reverse, b);
                if have_p {
                    out.extend_from_slice(format!(":{}", port(off + 2)?).as_bytes());
                }
            }
            10 => {
                if len < 28 {
                    out.extend_from_slice(b"INVALIDIPv6");
                    return Ok(());
                }
                if have_p {
                    out.push(b'[');
                }
                let b = self.bytes(off + 8, 16, "sockaddr")?;
                if have_c {
                    ip6c(out, b);
                } else {
                    ip6(out, i, b);
                }
                if have_p {
                    out.extend_from_slice(format!("]:{}", port(off + 2)?).as_bytes());
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn uuid(&self, out: &mut Vec<u8>, ext: &[u8], e: &Expr) -> Res<()> {
        const GUID: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
        let (upper, guid) = match ext.get(1) {
            Some(b'L') => (true, true),
            Some(b'l') => (false, true),
            Some(b'B') => (true, false),
            _ => (false, false),
        };
        let Some(b) = self.sized_field(out, e, 16, b"INVALIDUUID", "%pU field")? else {
            return Ok(());
        };
        for i in 0..16 {
            let x = b[if guid { GUID[i] } else { i }];
            let s = if upper {
                format!("{x:02X}")
            } else {
                format!("{x:02x}")
            };
            out.extend_from_slice(s.as_bytes());
            if matches!(i, 3 | 5 | 7 | 9) {
                out.push(b'-');
            }
        }
        Ok(())
    }

    fn raw_buff(&self, out: &mut Vec<u8>, ext: &[u8], e: &Expr, plen: i32) -> Res<()> {
        let delim: &[u8] = match ext.get(1) {
            Some(b'C') => b":",
            Some(b'D') => b"-",
            Some(b'N') => b"",
            _ => b" ",
        };
        let Expr::DynArray(id) = e else {
            out.extend_from_slice(format!("ARG TYPE NOT FIELD BUT {}", e.type_code()).as_bytes());
            return Ok(());
        };
        let (off, arr_len) = self.dyn_offset(self.field(*id)?);
        let n = i64::from(plen).min(arr_len as i64);
        if n < 1 {
            return Ok(());
        }
        let b = self.bytes(off, n as u64, "%ph length")?;
        for (i, x) in b.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(delim);
            }
            out.extend_from_slice(format!("{x:02x}").as_bytes());
        }
        Ok(())
    }
}

fn ip4(out: &mut Vec<u8>, i: u8, reverse: bool, b: &[u8]) {
    let mut v = [b[0], b[1], b[2], b[3]];
    if reverse {
        v.reverse();
    }
    let s = if i == b'i' {
        format!("{:03}.{:03}.{:03}.{:03}", v[0], v[1], v[2], v[3])
    } else {
        format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3])
    };
    out.extend_from_slice(s.as_bytes());
}

fn ip6(out: &mut Vec<u8>, i: u8, b: &[u8]) {
    for j in (0..16).step_by(2) {
        out.extend_from_slice(format!("{:02x}{:02x}", b[j], b[j + 1]).as_bytes());
        if i == b'I' && j < 14 {
            out.push(b':');
        }
    }
}

/// `print_ip6c_addr`: compressed IPv6 (longest zero run as `::`, IPv4
/// tail for mapped and ISATAP addresses).
fn ip6c(out: &mut Vec<u8>, b: &[u8]) {
    let word = |k: usize| u16::from_be_bytes([b[2 * k], b[2 * k + 1]]);
    let w32 = |k: usize| u32::from_be_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]]);
    let v4mapped = w32(0) == 0 && w32(1) == 0 && w32(2) == 0x0000_ffff;
    let isatap = (w32(2) | 0x0200_0000) == 0x0200_5efe;
    let use_v4 = v4mapped || isatap;
    let range = if use_v4 { 6 } else { 8 };
    let mut zerolen = [0usize; 8];
    for (i, z) in zerolen.iter_mut().enumerate().take(range) {
        *z = (i..range).take_while(|&j| word(j) == 0).count();
    }
    let mut longest = 1;
    let mut colonpos: Option<usize> = None;
    for (i, &z) in zerolen.iter().enumerate().take(range) {
        if z > longest {
            longest = z;
            colonpos = Some(i);
        }
    }
    if longest == 1 {
        colonpos = None;
    }
    let mut needcolon = false;
    let mut i = 0;
    while i < range {
        if Some(i) == colonpos {
            if needcolon || i == 0 {
                out.push(b':');
            }
            out.push(b':');
            needcolon = false;
            i += longest;
            continue;
        }
        if needcolon {
            out.push(b':');
        }
        let w = word(i);
        let (hi, lo) = (w >> 8, w & 0xff);
        if hi != 0 {
            out.extend_from_slice(format!("{hi:x}{lo:02x}").as_bytes());
        } else {
            out.extend_from_slice(format!("{lo:x}").as_bytes());
        }
        needcolon = true;
        i += 1;
    }
    if use_v4 {
        if needcolon {
            out.push(b':');
        }
        ip4(out, b'I', false, &b[12..16]);
    }
}

/// `print_bitmask_to_seq`: hex, most significant byte first, a comma every
/// 32 bits.
fn bitmask_string(data: &[u8], endian: Endian) -> Vec<u8> {
    let size = data.len() as i64;
    let nr_bits = size * 8;
    let str_size = (nr_bits + 3) / 4 + (nr_bits - 1) / 32;
    if str_size <= 0 {
        return Vec::new();
    }
    let mut s = vec![0u8; str_size as usize];
    let mut len: i64 = 0;
    let mut i = str_size - 2;
    while i >= 0 {
        let index = if endian.is_big() {
            size - (len + 1)
        } else {
            len
        };
        let byte = usize::try_from(index)
            .ok()
            .and_then(|x| data.get(x))
            .copied()
            .unwrap_or(0);
        let hex = format!("{byte:02x}");
        let at = i as usize;
        s[at..at + 2].copy_from_slice(hex.as_bytes());
        len += 1;
        if len & 3 == 0 && i > 0 {
            i -= 1;
            s[i as usize] = b',';
        }
        i -= 2;
    }
    // An odd-sized layout leaves a NUL in front, which ends the C string.
    cstr(&s).to_vec()
}

/// `print_cpumask_to_seq`: CPU ranges such as `0-3,8`.
fn cpumask_string(data: &[u8], endian: Endian) -> Vec<u8> {
    let size = data.len();
    let nr_bits = size * 8;
    let mut out = String::new();
    let mut first = true;
    let mut firstone: i64 = -1;
    for i in 0..size {
        let index = if endian.is_big() { size - (i + 1) } else { i };
        let mut byte = data[index];
        loop {
            if firstone < 0 && byte != 0 {
                let fo = byte.trailing_zeros();
                byte |= ((1u16 << fo) - 1) as u8;
                firstone = i64::from(fo) + (i as i64) * 8;
            }
            if firstone < 0 {
                break;
            }
            let firstzero: i64;
            if !byte != 0 {
                let fz = (!byte).trailing_zeros();
                byte &= !(((1u16 << fz) - 1) as u8);
                firstzero = i64::from(fz) + (i as i64) * 8;
            } else if i == size - 1 {
                firstzero = nr_bits as i64;
                byte = 0;
            } else {
                break;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&firstone.to_string());
            if firstzero > firstone + 1 {
                out.push_str(&format!("-{}", firstzero - 1));
            }
            firstone = -1;
            if byte == 0 {
                break;
            }
        }
    }
    out.into_bytes()
}

/// libtraceevent's `print_field_raw`: the value of one field by its type.
/// `still_string` is the field's "printed as a string" flag, cleared for
/// good by the first value that is not printable.
pub(crate) fn raw_field(
    f: &FieldInfo,
    still_string: Option<&AtomicBool>,
    payload: &[u8],
    ctx: &RenderCtx<'_>,
    out: &mut Vec<u8>,
) {
    let ev = Eval::new(payload, ctx, &[]);
    if f.array {
        let (off, len) = if f.dynamic {
            ev.dyn_offset(f)
        } else {
            (f.offset as u64, f.size as u64)
        };
        let start = usize::try_from(off)
            .unwrap_or(usize::MAX)
            .min(payload.len());
        let end = usize::try_from(off.saturating_add(len))
            .unwrap_or(usize::MAX)
            .min(payload.len())
            .max(start);
        let bytes = &payload[start..end];
        let printable = cstr(bytes)
            .iter()
            .all(|&c| (0x20..0x7f).contains(&c) || (b'\t'..=b'\r').contains(&c));
        let string = still_string.is_some_and(|s| s.load(Ordering::Relaxed));
        if string && printable {
            // "%s" of data + offset: up to the first NUL, wherever it is.
            out.extend_from_slice(cstr(&payload[start..]));
        } else {
            if let Some(s) = still_string {
                s.store(false, Ordering::Relaxed);
            }
            out.extend_from_slice(b"ARRAY[");
            for (i, b) in bytes.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(format!("{b:02x}").as_bytes());
            }
            out.push(b']');
        }
        return;
    }
    let val = ev.field_value(f);
    let s = if f.pointer {
        format!("0x{val:x}")
    } else if f.signed {
        match f.size {
            4 if f.long => format!("0x{:x}", val as u32),
            4 => format!("{}", val as u32 as i32),
            2 => format!("{:2}", val as u16 as i16),
            1 => format!("{}", val as u8 as i8),
            _ => format!("{}", val as i64),
        }
    } else if f.long {
        format!("0x{val:x}")
    } else {
        format!("{val}")
    };
    out.extend_from_slice(s.as_bytes());
}
