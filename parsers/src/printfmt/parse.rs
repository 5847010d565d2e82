//! The print fmt grammar: the quoted format string, then a comma-separated
//! argument list of C-like expressions.
//!
//! Expressions are built exactly as libtraceevent 1.7 builds them
//! (`process_arg`, `process_op`, `process_cond`, `process_paren`, ...),
//! including its departures from C, because the printed text depends on the
//! tree it builds:
//!
//! - operators of equal precedence group to the right (`a - b - c` is
//!   `a - (b - c)`);
//! - a parenthesised or unary right operand whose operator binds less
//!   tightly than the current one is rotated (`a * (b + c)` is
//!   `(a * b) + c`, `a * -b` is `(a * 0) - b`);
//! - `?:` takes a single primary after the `:` and the ternary then becomes
//!   the left operand of what follows;
//! - an index (`a[i]`) takes a single primary;
//! - constant sub-expressions of a top-level argument are folded with
//!   unsigned 64-bit arithmetic and become decimal atoms.
//!
//! Every recursive step counts against [`MAX_DEPTH`]; the resulting tree is
//! checked against it too, so evaluation cannot overflow the stack.

use super::cfmt::CSpec;
use super::lex::{Tok, tokenize};
use super::{Expr, FieldId, FieldInfo, MAX_ARGS, MAX_DEPTH, OpKind, Piece, PrintFmtError};
use crate::format::{EventFormat, Field};

type Res<T> = Result<T, PrintFmtError>;
/// The token that ended a construct (`None`: the end of the input).
type Next = Option<Tok>;

/// A node of libtraceevent's `tep_print_arg` tree, in an arena so that the
/// in-place copies and swaps of `process_op` can be reproduced.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Null,
    Atom(String),
    Field(String),
    Flags {
        field: usize,
        delim: Option<String>,
        table: Vec<(String, String)>,
    },
    Symbol {
        field: usize,
        table: Vec<(String, String)>,
    },
    Hex {
        field: usize,
        size: usize,
        spaced: bool,
    },
    IntArray {
        field: usize,
        count: usize,
        elsize: usize,
    },
    Type {
        ty: String,
        item: usize,
    },
    Str(String),
    Bitmask(String),
    Cpumask(String),
    DynArray(String),
    DynArrayLen(String),
    Op {
        op: String,
        left: Option<usize>,
        right: Option<usize>,
        prio: i32,
    },
}

/// libtraceevent's `get_op_prio` (lower binds tighter; -1 unknown).
fn op_prio(op: &str) -> i32 {
    match op {
        "~" | "!" => 4,
        "*" | "/" | "%" => 6,
        "+" | "-" => 7,
        "<" | ">" => 9,
        "&" => 11,
        "^" => 12,
        "|" => 13,
        "?" => 16,
        "++" | "--" => 3,
        ">>" | "<<" => 8,
        ">=" | "<=" => 9,
        "==" | "!=" => 10,
        "&&" => 14,
        "||" => 15,
        _ => -1,
    }
}

const BINARY_OPS: &[&str] = &[
    ">>", "<<", "&", "|", "&&", "||", "-", "+", "*", "^", "/", "%", "<", ">", "<=", ">=", "==",
    "!=",
];

/// C `strtoull(s, NULL, 0)`.
pub(crate) fn strtoull(s: &str) -> u64 {
    let (neg, mag, overflow) = strto_parts(s);
    if overflow {
        return u64::MAX;
    }
    if neg { mag.wrapping_neg() } else { mag }
}

/// C `strtoll(s, NULL, 0)` (saturating).
pub(crate) fn strtoll(s: &str) -> i64 {
    let (neg, mag, overflow) = strto_parts(s);
    if neg {
        if overflow || mag > i64::MAX as u64 + 1 {
            i64::MIN
        } else {
            (mag as i64).wrapping_neg()
        }
    } else if overflow || mag > i64::MAX as u64 {
        i64::MAX
    } else {
        mag as i64
    }
}

fn strto_parts(s: &str) -> (bool, u64, bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] == b' ' || (b'\t'..=b'\r').contains(&b[i])) {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut base = 10u64;
    if i < b.len() && b[i] == b'0' {
        if i + 2 < b.len() + 1
            && b.get(i + 1).is_some_and(|c| c | 0x20 == b'x')
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            base = 16;
            i += 2;
        } else {
            base = 8;
        }
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < b.len() {
        let Some(d) = (b[i] as char).to_digit(base as u32) else {
            break;
        };
        match v
            .checked_mul(base)
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    (neg, v, overflow)
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    nodes: Vec<Node>,
    depth: usize,
    long_size: usize,
    event: &'a EventFormat,
}

/// The format string and argument trees of a print fmt.
pub(crate) struct Parsed {
    pub(crate) format: String,
    pub(crate) nodes: Vec<Node>,
    pub(crate) args: Vec<usize>,
}

fn syntax(msg: impl Into<String>) -> PrintFmtError {
    PrintFmtError::Syntax(msg.into())
}

impl<'a> Parser<'a> {
    fn push(&mut self, n: Node) -> Res<usize> {
        if self.nodes.len() >= super::MAX_NODES {
            return Err(PrintFmtError::TooLarge("expression size"));
        }
        self.nodes.push(n);
        Ok(self.nodes.len() - 1)
    }

    /// `tep_read_token`: the next token, newlines included.
    fn read_token(&mut self) -> Next {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// `read_token_item`: the next token, newlines skipped.
    fn read_token_item(&mut self) -> Next {
        loop {
            match self.read_token() {
                Some(Tok::Newline) => continue,
                t => return t,
            }
        }
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PrintFmtError::TooDeep);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn expect_delim(next: &Next, c: u8) -> Res<()> {
        match next {
            Some(t) if t.is_delim(c) => Ok(()),
            other => Err(syntax(format!("expected '{}', found {other:?}", c as char))),
        }
    }

    fn expect_item(next: Next) -> Res<String> {
        match next {
            Some(Tok::Item(s)) => Ok(s),
            other => Err(syntax(format!("expected an identifier, found {other:?}"))),
        }
    }

    fn process_arg(&mut self, arg: usize) -> Res<Next> {
        let t = self.read_token();
        self.process_arg_token(arg, t)
    }

    fn process_arg_token(&mut self, arg: usize, tok: Next) -> Res<Next> {
        self.enter()?;
        let r = self.process_arg_token_inner(arg, tok);
        self.leave();
        r
    }

    fn process_arg_token_inner(&mut self, arg: usize, tok: Next) -> Res<Next> {
        match tok {
            Some(Tok::Item(s)) if s == "REC" => self.process_entry(arg),
            Some(Tok::Item(s)) => {
                let mut next = self.read_token_item();
                if matches!(&next, Some(t) if t.is_delim(b'(')) {
                    return self.process_function(arg, &s);
                }
                let mut atom = s;
                while let Some(Tok::Item(t)) = &next {
                    atom.push(' ');
                    atom.push_str(t);
                    next = self.read_token_item();
                }
                self.nodes[arg] = Node::Atom(atom);
                Ok(next)
            }
            // libtraceevent 1.7 keeps a character literal as its text, so
            // 'e' is 0 as a number and "e" as a string.
            Some(Tok::SQuote(s)) | Some(Tok::DQuote(s)) => {
                self.nodes[arg] = Node::Atom(s);
                Ok(self.read_token_item())
            }
            Some(Tok::Delim(b'(')) => self.process_paren(arg),
            Some(Tok::Delim(c)) => {
                let op = (c as char).to_string();
                self.nodes[arg] = Node::Op {
                    op: op.clone(),
                    left: None,
                    right: None,
                    prio: 0,
                };
                self.process_op(arg, op)
            }
            Some(Tok::Op(op)) => {
                self.nodes[arg] = Node::Op {
                    op: op.clone(),
                    left: None,
                    right: None,
                    prio: 0,
                };
                self.process_op(arg, op)
            }
            other => Err(syntax(format!("unexpected token {other:?}"))),
        }
    }

    /// `REC->field`, or the `)` of `(REC)->field` (returned as the item `)`).
    fn process_entry(&mut self, arg: usize) -> Res<Next> {
        let t = self.read_token_item();
        if matches!(&t, Some(t) if t.is_delim(b')')) {
            return Ok(Some(Tok::Item(")".into())));
        }
        if !matches!(&t, Some(t) if t.is_op("->")) {
            return Err(syntax(format!("expected '->' after REC, found {t:?}")));
        }
        let t = self.read_token();
        let name = Self::expect_item(t)?;
        self.nodes[arg] = Node::Field(name);
        Ok(self.read_token())
    }

    fn process_paren(&mut self, arg: usize) -> Res<Next> {
        let mut next = self.process_arg(arg)?;
        if let Some(Tok::Op(op)) = &next {
            let op = op.clone();
            next = self.process_op(arg, op)?;
        }
        if matches!(&next, Some(Tok::Item(s)) if s == ")") {
            return self.process_entry(arg);
        }
        Self::expect_delim(&next, b')')?;
        let next = self.read_token_item();
        let is_cast = match &next {
            Some(t) => t.is_item_type() || t.is_delim(b'('),
            None => false,
        };
        if !is_cast {
            return Ok(next);
        }
        let Node::Atom(ty) = self.nodes[arg].clone() else {
            return Err(syntax("a cast needs a type name"));
        };
        let item = self.push(Node::Null)?;
        self.nodes[arg] = Node::Type { ty, item };
        self.process_arg_token(item, next)
    }

    fn set_right(&mut self, node: usize, r: Option<usize>) {
        if let Node::Op { right, .. } = &mut self.nodes[node] {
            *right = r;
        }
    }

    fn set_left(&mut self, node: usize, l: Option<usize>) {
        if let Node::Op { left, .. } = &mut self.nodes[node] {
            *left = l;
        }
    }

    fn process_op(&mut self, arg: usize, op: String) -> Res<Next> {
        self.enter()?;
        let r = self.process_op_inner(arg, op);
        self.leave();
        r
    }

    fn process_op_inner(&mut self, arg: usize, op: String) -> Res<Next> {
        let unary = matches!(self.nodes[arg], Node::Op { left: None, .. });
        let next;
        let mut right_slot: Option<usize> = None;
        if unary {
            if !matches!(op.as_str(), "~" | "!" | "+" | "-") {
                return Err(syntax(format!("bad unary operator {op:?}")));
            }
            let l = self.push(Node::Null)?;
            let r = self.push(Node::Null)?;
            self.set_left(arg, Some(l));
            self.set_right(arg, Some(r));
            next = self.process_arg(r)?;
            right_slot = Some(r);
        } else if op == "?" {
            let l = self.push(self.nodes[arg].clone())?;
            self.nodes[arg] = Node::Op {
                op,
                left: Some(l),
                right: None,
                prio: 0,
            };
            next = self.process_cond(arg)?;
        } else if BINARY_OPS.contains(&op.as_str()) {
            let l = self.push(self.nodes[arg].clone())?;
            let prio = if matches!(self.nodes[l], Node::Null) {
                0
            } else {
                op_prio(&op)
            };
            self.nodes[arg] = Node::Op {
                op: op.clone(),
                left: Some(l),
                right: None,
                prio,
            };
            let t = self.read_token_item();
            if op == "*" && matches!(&t, Some(t) if t.is_delim(b')')) {
                // `(type *)`: part of a cast's type name.
                let Node::Atom(mut a) = self.nodes[l].clone() else {
                    return Err(syntax("bad pointer type"));
                };
                a.push_str(" *");
                self.nodes[arg] = Node::Atom(a);
                return Ok(t);
            }
            let r = self.push(Node::Null)?;
            next = self.process_arg_token(r, t)?;
            let rotate = match &self.nodes[r] {
                Node::Op { op: rop, .. } => op_prio(&op) < op_prio(rop),
                _ => false,
            };
            if rotate {
                let rl = match &self.nodes[r] {
                    Node::Op { left, .. } => *left,
                    _ => None,
                };
                self.set_right(arg, rl);
                self.nodes.swap(arg, r);
                self.set_left(arg, Some(r));
            } else {
                self.set_right(arg, Some(r));
            }
            right_slot = Some(r);
        } else if op == "[" {
            let l = self.push(self.nodes[arg].clone())?;
            self.nodes[arg] = Node::Op {
                op,
                left: Some(l),
                right: None,
                prio: 0,
            };
            next = self.process_array(arg)?;
        } else {
            return Err(syntax(format!("unknown operator {op:?}")));
        }

        if let Some(Tok::Op(nop)) = &next {
            if nop != ":" {
                let nop = nop.clone();
                let prio = op_prio(&nop);
                if prio < 0 {
                    return Err(syntax(format!("unknown operator {nop:?}")));
                }
                let cur = match &self.nodes[arg] {
                    Node::Op { prio, .. } => *prio,
                    _ => 0,
                };
                if prio > cur {
                    return self.process_op(arg, nop);
                }
                let Some(r) = right_slot else {
                    return Err(syntax("operator after a ternary or index"));
                };
                return self.process_op(r, nop);
            }
        }
        Ok(next)
    }

    fn process_cond(&mut self, top: usize) -> Res<Next> {
        let l = self.push(Node::Null)?;
        let r = self.push(Node::Null)?;
        let colon = self.push(Node::Op {
            op: ":".into(),
            left: Some(l),
            right: Some(r),
            prio: 0,
        })?;
        let mut next = self.process_arg(l)?;
        loop {
            match &next {
                Some(Tok::Op(op)) if op != ":" => {
                    let op = op.clone();
                    next = self.process_op(l, op)?;
                }
                _ => break,
            }
        }
        if !matches!(&next, Some(t) if t.is_op(":")) {
            return Err(syntax(format!("expected ':', found {next:?}")));
        }
        let next = self.process_arg(r)?;
        self.set_right(top, Some(colon));
        Ok(next)
    }

    fn process_array(&mut self, top: usize) -> Res<Next> {
        let a = self.push(Node::Null)?;
        let next = self.process_arg(a)?;
        if !matches!(&next, Some(t) if t.is_op("]")) {
            return Err(syntax(format!("expected ']', found {next:?}")));
        }
        self.set_right(top, Some(a));
        Ok(self.read_token_item())
    }

    /// An argument and the operators after it.
    fn process_field_arg(&mut self, arg: usize) -> Res<Next> {
        let mut next = self.process_arg(arg)?;
        while let Some(Tok::Op(op)) = &next {
            let op = op.clone();
            next = self.process_op(arg, op)?;
        }
        Ok(next)
    }

    fn process_function(&mut self, arg: usize, name: &str) -> Res<Next> {
        match name {
            "__print_flags" => self.process_flags(arg),
            "__print_symbolic" => self.process_symbols(arg),
            "__print_hex" => self.process_hex(arg, true),
            "__print_hex_str" => self.process_hex(arg, false),
            "__print_array" => self.process_int_array(arg),
            "__get_str" | "__get_rel_str" => {
                let n = self.process_name_call()?;
                self.nodes[arg] = Node::Str(n);
                Ok(self.read_token())
            }
            "__get_bitmask" | "__get_rel_bitmask" => {
                let n = self.process_name_call()?;
                self.nodes[arg] = Node::Bitmask(n);
                Ok(self.read_token())
            }
            "__get_cpumask" | "__get_rel_cpumask" => {
                let n = self.process_name_call()?;
                self.nodes[arg] = Node::Cpumask(n);
                Ok(self.read_token())
            }
            "__get_dynamic_array"
            | "__get_rel_dynamic_array"
            | "__get_sockaddr"
            | "__get_sockaddr_rel" => {
                let n = self.process_name_call()?;
                if self.event.field(&n).is_none() {
                    return Err(PrintFmtError::UnknownField(n));
                }
                self.nodes[arg] = Node::DynArray(n);
                let next = self.read_token_item();
                if matches!(&next, Some(t) if t.is_op("[")) {
                    return Err(syntax("index directly after __get_dynamic_array()"));
                }
                Ok(next)
            }
            "__get_dynamic_array_len" | "__get_rel_dynamic_array_len" => {
                let n = self.process_name_call()?;
                if self.event.field(&n).is_none() {
                    return Err(PrintFmtError::UnknownField(n));
                }
                self.nodes[arg] = Node::DynArrayLen(n);
                Ok(self.read_token())
            }
            "__builtin_expect" => {
                let next = self.process_arg(arg)?;
                Self::expect_delim(&next, b',')?;
                let t = self.read_token();
                Self::expect_item(t)?;
                let t = self.read_token();
                Self::expect_delim(&t, b')')?;
                Ok(self.read_token_item())
            }
            "sizeof" => self.process_sizeof(arg),
            _ => Err(PrintFmtError::UnknownFunction(name.to_string())),
        }
    }

    /// `name)` of `__get_str(name)` and friends.
    fn process_name_call(&mut self) -> Res<String> {
        let t = self.read_token();
        let name = Self::expect_item(t)?;
        let t = self.read_token();
        Self::expect_delim(&t, b')')?;
        Ok(name)
    }

    fn process_flags(&mut self, arg: usize) -> Res<Next> {
        let field = self.push(Node::Null)?;
        let next = self.process_field_arg(field)?;
        Self::expect_delim(&next, b',')?;
        let mut t = self.read_token_item();
        let mut delim = None;
        if let Some(Tok::Item(s) | Tok::DQuote(s) | Tok::SQuote(s)) = &t {
            delim = Some(s.clone());
            t = self.read_token_item();
        }
        Self::expect_delim(&t, b',')?;
        let (table, next) = self.process_fields()?;
        Self::expect_delim(&next, b')')?;
        self.nodes[arg] = Node::Flags {
            field,
            delim,
            table,
        };
        Ok(self.read_token_item())
    }

    fn process_symbols(&mut self, arg: usize) -> Res<Next> {
        let field = self.push(Node::Null)?;
        let next = self.process_field_arg(field)?;
        Self::expect_delim(&next, b',')?;
        let (table, next) = self.process_fields()?;
        Self::expect_delim(&next, b')')?;
        self.nodes[arg] = Node::Symbol { field, table };
        Ok(self.read_token_item())
    }

    /// `{ value, "string" }, ...` of `__print_flags`/`__print_symbolic`.
    fn process_fields(&mut self) -> Res<(Vec<(String, String)>, Next)> {
        let mut table = Vec::new();
        loop {
            let t = self.read_token_item();
            if !matches!(&t, Some(t) if t.is_op("{")) {
                return Ok((table, t));
            }
            if table.len() >= super::MAX_TABLE {
                return Err(PrintFmtError::TooLarge("symbol table"));
            }
            let a = self.push(Node::Null)?;
            let mut next = self.process_arg(a)?;
            if let Some(Tok::Op(op)) = &next {
                let op = op.clone();
                next = self.process_op(a, op)?;
            }
            Self::expect_delim(&next, b',')?;
            let value = self
                .arg_eval(a)
                .ok_or_else(|| syntax("symbol value is not a constant"))?;
            let s = self.push(Node::Null)?;
            let next = self.process_arg(s)?;
            if !matches!(&next, Some(t) if t.is_op("}")) {
                return Err(syntax(format!("expected '}}', found {next:?}")));
            }
            let string = self
                .arg_eval(s)
                .ok_or_else(|| syntax("symbol string is not a constant"))?;
            table.push((value, string));
            let t = self.read_token_item();
            if !matches!(&t, Some(t) if t.is_delim(b',')) {
                return Ok((table, t));
            }
        }
    }

    fn process_hex(&mut self, arg: usize, spaced: bool) -> Res<Next> {
        let field = self.process_delim_arg(b',')?;
        let size = self.process_delim_arg(b')')?;
        self.nodes[arg] = Node::Hex {
            field,
            size,
            spaced,
        };
        Ok(self.read_token_item())
    }

    fn process_int_array(&mut self, arg: usize) -> Res<Next> {
        let field = self.process_delim_arg(b',')?;
        let count = self.process_delim_arg(b',')?;
        let elsize = self.process_delim_arg(b')')?;
        self.nodes[arg] = Node::IntArray {
            field,
            count,
            elsize,
        };
        Ok(self.read_token_item())
    }

    /// `alloc_and_process_delim`: an expression followed by `delim`.
    fn process_delim_arg(&mut self, delim: u8) -> Res<usize> {
        let a = self.push(Node::Null)?;
        let mut next = self.process_arg(a)?;
        if let Some(Tok::Op(op)) = &next {
            let op = op.clone();
            next = self.process_op(a, op)?;
            self.consolidate(a, 0)?;
        }
        Self::expect_delim(&next, delim)?;
        Ok(a)
    }

    fn process_sizeof(&mut self, arg: usize) -> Res<Next> {
        let mut t = self.read_token_item();
        let mut has_paren = false;
        if matches!(&t, Some(Tok::Item(s)) if s == "unsigned") {
            t = self.read_token_item();
            if !matches!(&t, Some(Tok::Item(_))) {
                has_paren = true;
            }
        }
        let word = match &t {
            Some(Tok::Item(s)) => s.clone(),
            _ => String::new(),
        };
        let size: usize = if has_paren || word == "int" {
            4
        } else if word == "long" {
            t = self.read_token_item();
            if matches!(&t, Some(Tok::Item(s)) if s == "long") {
                8
            } else {
                has_paren = true;
                self.long_size
            }
        } else if word == "REC" {
            let a = self.read_token_item();
            if !matches!(&a, Some(t) if t.is_op("->")) {
                return Err(syntax("expected '->' in sizeof(REC->...)"));
            }
            let n = self.read_token();
            let name = Self::expect_item(n)?;
            let f = find_any_field(self.event, &name)
                .ok_or_else(|| PrintFmtError::UnknownField(name.clone()))?;
            if f.flags.array {
                return Err(syntax("sizeof of an array field"));
            }
            f.size
        } else {
            return Err(syntax(format!("unsupported sizeof({word})")));
        };
        self.nodes[arg] = Node::Atom(size.to_string());
        if !has_paren {
            t = self.read_token_item();
        }
        Self::expect_delim(&t, b')')?;
        Ok(self.read_token_item())
    }

    /// libtraceevent's `arg_eval`: the text of a constant table entry.
    fn arg_eval(&self, a: usize) -> Option<String> {
        match &self.nodes[a] {
            Node::Atom(s) => Some(s.clone()),
            Node::Type { item, .. } => self.arg_eval(*item),
            Node::Op { .. } => self.arg_num_eval(a, 0).map(|v| v.to_string()),
            _ => None,
        }
    }

    /// libtraceevent's `arg_num_eval`: signed constant folding of the
    /// operators it knows; `None` for anything else.
    fn arg_num_eval(&self, a: usize, depth: usize) -> Option<i64> {
        if depth > MAX_DEPTH {
            return None;
        }
        match &self.nodes[a] {
            Node::Atom(s) => Some(strtoll(s)),
            Node::Type { ty, item } => {
                let v = self.arg_num_eval(*item, depth + 1)?;
                Some(super::eval::eval_type_str(v as u64, ty, false) as i64)
            }
            Node::Op {
                op, left, right, ..
            } => {
                let ob = op.as_bytes();
                let o1 = ob.get(1).copied().unwrap_or(0);
                let num = |n: Option<usize>| n.and_then(|n| self.arg_num_eval(n, depth + 1));
                let is_null =
                    |n: Option<usize>| n.is_some_and(|n| matches!(self.nodes[n], Node::Null));
                let both = || Some((num(*left)?, num(*right)?));
                Some(match ob.first()? {
                    b'|' => {
                        let (l, r) = both()?;
                        if o1 != 0 {
                            i64::from(l != 0 || r != 0)
                        } else {
                            l | r
                        }
                    }
                    b'&' => {
                        let (l, r) = both()?;
                        if o1 != 0 {
                            i64::from(l != 0 && r != 0)
                        } else {
                            l & r
                        }
                    }
                    b'<' => {
                        let (l, r) = both()?;
                        match o1 {
                            0 => i64::from(l < r),
                            b'<' => l.wrapping_shl(r as u32),
                            b'=' => i64::from(l <= r),
                            _ => return None,
                        }
                    }
                    b'>' => {
                        let (l, r) = both()?;
                        match o1 {
                            0 => i64::from(l > r),
                            b'>' => l.wrapping_shr(r as u32),
                            b'=' => i64::from(l >= r),
                            _ => return None,
                        }
                    }
                    b'=' => {
                        let (l, r) = both()?;
                        if o1 != b'=' {
                            return None;
                        }
                        i64::from(l == r)
                    }
                    b'!' => {
                        let (l, r) = both()?;
                        if o1 != b'=' {
                            return None;
                        }
                        i64::from(l != r)
                    }
                    b'-' | b'+' => {
                        let l = if is_null(*left) { 0 } else { num(*left)? };
                        let r = num(*right)?;
                        if ob[0] == b'-' {
                            l.wrapping_sub(r)
                        } else {
                            l.wrapping_add(r)
                        }
                    }
                    b'~' => !num(*right)?,
                    _ => return None,
                })
            }
            _ => None,
        }
    }

    /// `consolidate_op_arg`: fold operators whose operands are both atoms.
    fn consolidate(&mut self, a: usize, depth: usize) -> Res<()> {
        if depth > MAX_DEPTH {
            return Err(PrintFmtError::TooDeep);
        }
        let Node::Op {
            op, left, right, ..
        } = self.nodes[a].clone()
        else {
            return Ok(());
        };
        if let Some(l) = left {
            self.consolidate(l, depth + 1)?;
        }
        if let Some(r) = right {
            self.consolidate(r, depth + 1)?;
        }
        let (Some(l), Some(r)) = (left, right) else {
            return Ok(());
        };
        let (Node::Atom(ls), Node::Atom(rs)) = (&self.nodes[l], &self.nodes[r]) else {
            return Ok(());
        };
        let (lv, rv) = (strtoull(ls), strtoull(rs));
        let ob = op.as_bytes();
        let o1 = ob.get(1).copied().unwrap_or(0);
        let v: u64 = match ob.first().copied().unwrap_or(0) {
            b'>' => match o1 {
                b'>' => lv.wrapping_shr(rv as u32),
                b'=' => u64::from(lv >= rv),
                _ => u64::from(lv > rv),
            },
            b'<' => match o1 {
                b'<' => lv.wrapping_shl(rv as u32),
                b'=' => u64::from(lv <= rv),
                _ => u64::from(lv < rv),
            },
            b'&' => {
                if o1 == b'&' {
                    u64::from(lv != 0 && rv != 0)
                } else {
                    lv & rv
                }
            }
            b'|' => {
                if o1 == b'|' {
                    u64::from(lv != 0 || rv != 0)
                } else {
                    lv | rv
                }
            }
            b'-' => lv.wrapping_sub(rv),
            b'+' => lv.wrapping_add(rv),
            b'*' => lv.wrapping_mul(rv),
            b'^' => lv ^ rv,
            b'/' => lv.checked_div(rv).ok_or(PrintFmtError::DivideByZero)?,
            b'%' => lv.checked_rem(rv).ok_or(PrintFmtError::DivideByZero)?,
            b'=' => u64::from(lv == rv),
            b'!' => u64::from(lv != rv),
            _ => return Ok(()),
        };
        self.nodes[a] = Node::Atom((v as i64).to_string());
        Ok(())
    }

    /// `event_read_print_args`.
    fn read_args(&mut self) -> Res<Vec<usize>> {
        let mut args = Vec::new();
        let mut next: Next = Some(Tok::Delim(b','));
        loop {
            if matches!(next, Some(Tok::Newline)) {
                next = self.read_token_item();
                if next.is_none() {
                    break;
                }
                continue;
            }
            if args.len() >= MAX_ARGS {
                return Err(PrintFmtError::TooLarge("argument count"));
            }
            let a = self.push(Node::Null)?;
            next = self.process_arg(a)?;
            args.push(a);
            if let Some(Tok::Op(op)) = &next {
                let op = op.clone();
                next = self.process_op(a, op)?;
                self.consolidate(a, 0)?;
                if next.is_none() {
                    break;
                }
                continue;
            }
            if matches!(&next, Some(t) if t.is_delim(b',')) {
                continue;
            }
            break;
        }
        Ok(args)
    }
}

/// `tep_find_any_field`: common fields first.
pub(crate) fn find_any_field<'e>(event: &'e EventFormat, name: &str) -> Option<&'e Field> {
    event.common_field(name).or_else(|| event.field(name))
}

/// Parses the text after `print fmt: ` into the format string and the
/// argument trees.
pub(crate) fn parse_print_fmt(text: &str, event: &EventFormat, long_size: usize) -> Res<Parsed> {
    if text.len() > super::MAX_PRINT_FMT_LEN {
        return Err(PrintFmtError::TooLarge("print fmt text"));
    }
    let toks = tokenize(text.as_bytes())?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        nodes: Vec::new(),
        depth: 0,
        long_size,
        event,
    };
    let mut format = match p.read_token() {
        Some(Tok::DQuote(s)) => s,
        other => {
            return Err(syntax(format!(
                "print fmt must start with a string, found {other:?}"
            )));
        }
    };
    let mut args = Vec::new();
    loop {
        match p.read_token_item() {
            None => break,
            Some(Tok::DQuote(s)) => format.push_str(&s),
            Some(t) if t.is_delim(b',') => {
                args = p.read_args()?;
                break;
            }
            Some(t) => {
                return Err(syntax(format!(
                    "expected ',' after the format, found {t:?}"
                )));
            }
        }
    }
    let mut nodes = p.nodes;
    // Old ftrace formats had no arguments: the fields are the arguments.
    if args.is_empty() && event.system == "ftrace" {
        for f in &event.fields {
            nodes.push(Node::Field(f.name.clone()));
            args.push(nodes.len() - 1);
        }
    }
    Ok(Parsed {
        format,
        nodes,
        args,
    })
}

/// Turns the arena into owned, field-resolved expressions.
pub(crate) struct Compiler<'a> {
    pub(crate) nodes: &'a [Node],
    pub(crate) event: &'a EventFormat,
    pub(crate) long_size: usize,
    pub(crate) fields: Vec<FieldInfo>,
}

impl Compiler<'_> {
    fn field_id(&mut self, name: &str, any: bool) -> Option<FieldId> {
        let f = if any {
            find_any_field(self.event, name)?
        } else {
            self.event.field(name)?
        };
        if let Some(i) = self
            .fields
            .iter()
            .position(|x| x.name == f.name && x.offset == f.offset)
        {
            return Some(FieldId(i));
        }
        self.fields.push(super::eval::field_info(f, self.long_size));
        Some(FieldId(self.fields.len() - 1))
    }

    pub(crate) fn compile(&mut self, n: usize, depth: usize) -> Res<Expr> {
        if depth > MAX_DEPTH {
            return Err(PrintFmtError::TooDeep);
        }
        let d = depth + 1;
        Ok(match self.nodes[n].clone() {
            Node::Null => Expr::Null,
            Node::Atom(text) => {
                let num = strtoull(&text);
                Expr::Atom { text, num }
            }
            Node::Field(name) => Expr::Field(self.field_id(&name, true), name),
            Node::Flags {
                field,
                delim,
                table,
            } => Expr::Flags {
                val: Box::new(self.compile(field, d)?),
                delim,
                table: table.into_iter().map(|(v, s)| (eval_flag(&v), s)).collect(),
            },
            Node::Symbol { field, table } => Expr::Symbolic {
                val: Box::new(self.compile(field, d)?),
                table: table.into_iter().map(|(v, s)| (eval_flag(&v), s)).collect(),
            },
            Node::Hex {
                field,
                size,
                spaced,
            } => Expr::Hex {
                buf: Box::new(self.compile(field, d)?),
                len: Box::new(self.compile(size, d)?),
                spaced,
            },
            Node::IntArray {
                field,
                count,
                elsize,
            } => Expr::IntArray {
                buf: Box::new(self.compile(field, d)?),
                count: Box::new(self.compile(count, d)?),
                elsize: Box::new(self.compile(elsize, d)?),
            },
            Node::Type { ty, item } => Expr::Cast {
                item: Box::new(self.compile(item, d)?),
                ty,
            },
            Node::Str(name) => Expr::Str(self.field_id(&name, true)),
            Node::Bitmask(name) => Expr::Bitmask(self.field_id(&name, true)),
            Node::Cpumask(name) => Expr::Cpumask(self.field_id(&name, true)),
            Node::DynArray(name) => Expr::DynArray(
                self.field_id(&name, false)
                    .ok_or(PrintFmtError::UnknownField(name))?,
            ),
            Node::DynArrayLen(name) => Expr::DynArrayLen(
                self.field_id(&name, false)
                    .ok_or(PrintFmtError::UnknownField(name))?,
            ),
            Node::Op {
                op, left, right, ..
            } => {
                let kind = OpKind::from_text(&op);
                let left = match left {
                    Some(l) => self.compile(l, d)?,
                    None => Expr::Null,
                };
                let right = match right {
                    Some(r) => self.compile(r, d)?,
                    None => Expr::Null,
                };
                Expr::Op {
                    kind,
                    left: Box::new(left),
                    right: Box::new(right),
                }
            }
        })
    }
}

/// libtraceevent's `eval_flag`: numbers, a few known names, else -1.
fn eval_flag(v: &str) -> i64 {
    if v.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return strtoull(v) as i64;
    }
    match v {
        "HI_SOFTIRQ" | "HRTIMER_NORESTART" => 0,
        "TIMER_SOFTIRQ" | "HRTIMER_RESTART" => 1,
        "NET_TX_SOFTIRQ" => 2,
        "NET_RX_SOFTIRQ" => 3,
        "BLOCK_SOFTIRQ" => 4,
        "IRQ_POLL_SOFTIRQ" => 5,
        "TASKLET_SOFTIRQ" => 6,
        "SCHED_SOFTIRQ" => 7,
        "HRTIMER_SOFTIRQ" => 8,
        "RCU_SOFTIRQ" => 9,
        _ => -1,
    }
}

/// libtraceevent's `parse_arg_format_pointer`: how many characters after
/// `p` belong to the pointer extension.
fn pointer_ext_len(f: &[u8]) -> usize {
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    let mut ret = 0;
    match at(0) {
        b'F' | b'S' | b'f' | b's' => ret += 1,
        b'M' | b'm' => {
            if matches!(at(1), b'R' | b'F') {
                ret += 1;
            }
            ret += 1;
        }
        b'I' | b'i' => {
            let mut index = 2;
            let c1 = at(1);
            if matches!(c1, b'S' | b'4' | b'6') {
                if c1 == b'S' {
                    while matches!(at(index), b'p' | b'f' | b's') {
                        ret += 1;
                        index += 1;
                    }
                }
                let mut done = false;
                if c1 == b'S' || c1 == b'4' {
                    if matches!(at(index), b'h' | b'n' | b'l' | b'b') {
                        ret += 1;
                        index += 1;
                    }
                    if c1 == b'4' {
                        ret += 1;
                        done = true;
                    }
                }
                if !done {
                    if at(index) == b'c' {
                        ret += 1;
                    }
                    ret += 1;
                }
            }
            ret += 1;
        }
        b'U' => {
            if matches!(at(1), b'L' | b'l' | b'B' | b'b') {
                ret += 1;
            }
            ret += 1;
        }
        b'h' => {
            if matches!(at(1), b'C' | b'D' | b'N') {
                ret += 1;
            }
            ret += 1;
        }
        _ => {}
    }
    ret
}

/// Expands the escapes of a literal run (`\n \t \r \\`, `\x` → `x`) and
/// `%%`; stops before a lone `%`. Returns the bytes consumed.
fn literal(f: &[u8], out: &mut Vec<u8>) -> usize {
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        if c == b'\\' {
            i += 1;
            match f.get(i) {
                Some(b'n') => out.push(b'\n'),
                Some(b't') => out.push(b'\t'),
                Some(b'r') => out.push(b'\r'),
                Some(&x) => out.push(x),
                // A trailing backslash adds a NUL, which ends the output.
                None => out.push(0),
            }
        } else if c == b'%' {
            if f.get(i + 1) == Some(&b'%') {
                out.push(b'%');
                i += 1;
            } else {
                break;
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    i
}

/// libtraceevent's `parse_args`: splits the format string into literal
/// runs and conversions, binding each conversion to its argument(s).
pub(crate) fn parse_format(format: &str, nargs: usize) -> Res<(Vec<Piece>, bool)> {
    let f = format.as_bytes();
    let mut pieces = Vec::new();
    let all: Vec<usize> = (0..nargs).collect();
    let mut args = all.iter();
    let mut failed = false;
    let mut i = 0;
    while i < f.len() {
        if f[i] == b'%' && f.get(i + 1) != Some(&b'%') {
            let (n, fail) = conversion(&f[i..], &mut args, &mut pieces)?;
            failed |= fail;
            // Always progress (a conversion consumes at least its '%').
            i += n.max(1);
        } else {
            let mut lit = Vec::new();
            i += literal(&f[i..], &mut lit).max(1);
            pieces.push(Piece::Lit(lit));
        }
    }
    Ok((pieces, failed))
}

/// `parse_arg_format`: one conversion starting at `%`.
///
/// Returns the bytes consumed and whether libtraceevent would mark the event
/// as failed (an argument missing, two `*`): it then stops before the
/// offending character, which the caller prints as literal text.
fn conversion(
    f: &[u8],
    args: &mut std::slice::Iter<'_, usize>,
    pieces: &mut Vec<Piece>,
) -> Res<(usize, bool)> {
    let mut ls: i32 = 0;
    let mut len_arg = None;
    let mut i = 1;
    while i < f.len() {
        let c = f[i];
        match c {
            // libtraceevent 1.7 does not know the '+' flag: ">+<".
            b'#' | b'.' | b'0'..=b'9' | b'-' => {}
            b'h' => ls -= 1,
            b'l' => ls += 1,
            b'L' => ls = 2,
            b'z' | b'Z' => ls = 1,
            b'*' => {
                if len_arg.is_some() {
                    return Ok((i, true));
                }
                let Some(a) = args.next() else {
                    return Ok((i, true));
                };
                len_arg = Some(*a);
            }
            b'p' => {
                let Some(&arg) = args.next() else {
                    return Ok((i, true));
                };
                let ext = pointer_ext_len(&f[i + 1..]);
                let end = (i + 1 + ext).min(f.len());
                if end > 31 {
                    return Err(PrintFmtError::BadConversion(
                        String::from_utf8_lossy(&f[..end]).into_owned(),
                    ));
                }
                pieces.push(Piece::Pointer {
                    ext: f[i + 1..end].to_vec(),
                    arg,
                    len_arg,
                });
                return Ok((end, false));
            }
            b'd' | b'u' | b'i' | b'x' | b'X' | b'o' | b's' => {
                let Some(&arg) = args.next() else {
                    return Ok((i, true));
                };
                let text = &f[..=i];
                if text.len() > 30 {
                    return Err(PrintFmtError::BadConversion(
                        String::from_utf8_lossy(text).into_owned(),
                    ));
                }
                let spec = CSpec::parse(text)?;
                if c == b's' {
                    if spec.has_len {
                        return Err(PrintFmtError::BadConversion(
                            String::from_utf8_lossy(text).into_owned(),
                        ));
                    }
                    pieces.push(Piece::Str { spec, arg, len_arg });
                } else {
                    if !(-2..=2).contains(&ls) {
                        return Err(PrintFmtError::BadConversion(
                            String::from_utf8_lossy(text).into_owned(),
                        ));
                    }
                    pieces.push(Piece::Digit { spec, arg, len_arg });
                }
                return Ok((i + 1, false));
            }
            _ => {
                // An unknown conversion prints as ">c<" and takes no argument.
                pieces.push(Piece::Lit(vec![b'>', c, b'<']));
                return Ok((i + 1, false));
            }
        }
        i += 1;
    }
    Ok((i, false))
}

/// Checks that a compiled expression is no deeper than [`MAX_DEPTH`].
pub(crate) fn depth_ok(e: &Expr) -> bool {
    fn depth(e: &Expr, d: usize) -> bool {
        if d > MAX_DEPTH {
            return false;
        }
        match e {
            Expr::Flags { val, .. } | Expr::Symbolic { val, .. } => depth(val, d + 1),
            Expr::Hex { buf, len, .. } => depth(buf, d + 1) && depth(len, d + 1),
            Expr::IntArray { buf, count, elsize } => {
                depth(buf, d + 1) && depth(count, d + 1) && depth(elsize, d + 1)
            }
            Expr::Cast { item, .. } => depth(item, d + 1),
            Expr::Op { left, right, .. } => depth(left, d + 1) && depth(right, d + 1),
            _ => true,
        }
    }
    depth(e, 0)
}
