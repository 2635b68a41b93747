//! OData query options: parsing `$filter`, `$expand`, `$select`, `$top`, `$skiptoken`,
//! `$orderby`, `$count`, and evaluating filters against JSON entities.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

/// Parsed `$expand`: property name → nested options. Keys keep the client's spelling; lookups
/// are case-insensitive because Graph's are.
pub type Expand = BTreeMap<String, ExpandItem>;

#[derive(Debug, Default, Clone)]
pub struct ExpandItem {
    pub expand: Expand,
    pub select: Option<Vec<String>>,
}

pub fn expand_get<'a>(e: &'a Expand, name: &str) -> Option<&'a ExpandItem> {
    e.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

#[derive(Debug, Default)]
pub struct Query {
    pub top: Option<usize>,
    pub skip: usize,
    pub skiptoken: Option<usize>,
    pub filter: Option<Filter>,
    pub expand: Expand,
    pub select: Option<Vec<String>>,
    pub orderby: Option<(String, bool)>,
    pub count: bool,
    /// Every option as received (decoded), used to rebuild `@odata.nextLink`.
    pub raw: Vec<(String, String)>,
}

impl Query {
    /// First index of the requested page.
    pub fn offset(&self) -> usize {
        self.skiptoken.unwrap_or(self.skip)
    }
}

/// Parse a raw query string. Unknown options are ignored (Graph ignores unknown non-`$`
/// parameters and we tolerate the rest); malformed known ones are an error message for a 400.
pub fn parse_query(qs: Option<&str>) -> Result<Query, String> {
    let mut q = Query::default();
    let Some(qs) = qs else { return Ok(q) };
    for pair in qs.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k);
        let v = percent_decode(v);
        let name = k.trim_start_matches('$').to_ascii_lowercase();
        match name.as_str() {
            "top" => {
                let n: usize = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("Invalid value '{v}' for $top query option."))?;
                q.top = Some(n);
            }
            "skip" => {
                q.skip = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("Invalid value '{v}' for $skip query option."))?;
            }
            "skiptoken" => {
                q.skiptoken = Some(
                    decode_skiptoken(&v).ok_or_else(|| "Invalid $skiptoken value.".to_string())?,
                );
            }
            "filter" => q.filter = Some(parse_filter(&v)?),
            "expand" => q.expand = parse_expand(&v)?,
            "select" => q.select = Some(split_list(&v)),
            "orderby" => {
                let mut parts = v.split_whitespace();
                let prop = parts.next().unwrap_or_default().to_string();
                let desc = matches!(parts.next(), Some(d) if d.eq_ignore_ascii_case("desc"));
                if !prop.is_empty() {
                    q.orderby = Some((prop, desc));
                }
            }
            "count" => q.count = v.eq_ignore_ascii_case("true"),
            _ => {}
        }
        q.raw.push((k, v));
    }
    Ok(q)
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Opaque paging token carrying the next offset.
pub fn encode_skiptoken(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("graph-sim:{offset}"))
}

fn decode_skiptoken(s: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("graph-sim:")?.parse().ok()
}

/// `%XX` and `+` decoding of one query component; invalid escapes are kept literally.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(a), Some(b)) => {
                    out.push(a * 16 + b);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-decoding for path segments (`+` stays a plus).
pub fn percent_decode_path(s: &str) -> String {
    percent_decode(&s.replace('+', "%2B"))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encode a query component for a nextLink.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b'\''
            | b'('
            | b')'
            | b','
            | b'/'
            | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Parse `a,b($expand=c($expand=d);$select=x),e`.
pub fn parse_expand(s: &str) -> Result<Expand, String> {
    let mut out = Expand::new();
    for item in split_top_level(s, ',')? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, opts) = match item.find('(') {
            Some(i) => {
                if !item.ends_with(')') {
                    return Err(format!("Invalid $expand item '{item}'."));
                }
                (&item[..i], &item[i + 1..item.len() - 1])
            }
            None => (item, ""),
        };
        let mut ei = ExpandItem::default();
        for opt in split_top_level(opts, ';')? {
            let opt = opt.trim();
            if opt.is_empty() {
                continue;
            }
            let (k, v) = opt
                .split_once('=')
                .ok_or_else(|| format!("Invalid nested option '{opt}' in $expand."))?;
            match k
                .trim()
                .trim_start_matches('$')
                .to_ascii_lowercase()
                .as_str()
            {
                "expand" => ei.expand = parse_expand(v)?,
                "select" => ei.select = Some(split_list(v)),
                _ => {}
            }
        }
        out.insert(name.trim().to_string(), ei);
    }
    Ok(out)
}

fn split_top_level(s: &str, sep: char) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("Unbalanced parentheses in '{s}'."));
                }
            }
            c if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("Unbalanced parentheses in '{s}'."));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

/// A `$filter` expression.
#[derive(Debug, Clone)]
pub enum Filter {
    Cmp {
        prop: String,
        op: CmpOp,
        value: Value,
    },
    Func {
        func: StrFunc,
        prop: String,
        value: String,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Has,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrFunc {
    StartsWith,
    EndsWith,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut toks = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            toks.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            toks.push(Tok::RParen);
            i += 1;
        } else if c == ',' {
            toks.push(Tok::Comma);
            i += 1;
        } else if c == '\'' {
            // OData escapes a quote inside a literal by doubling it.
            let mut lit = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("Unterminated string literal in $filter.".into()),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        lit.push(ch);
                        i += 1;
                    }
                }
            }
            toks.push(Tok::Str(lit));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '-')
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            match text.parse::<f64>() {
                // A GUID literal starts with digits too: keep it as a string.
                Ok(n) => toks.push(Tok::Num(n)),
                Err(_) => toks.push(Tok::Str(text)),
            }
        } else if c.is_alphanumeric() || c == '_' || c == '@' || c == '#' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.' | '@' | '#'))
            {
                i += 1;
            }
            toks.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            return Err(format!("Syntax error at position {i} in $filter '{s}'."));
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            other => Err(format!(
                "Syntax error in $filter: expected {t:?}, found {other:?}."
            )),
        }
    }
    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Filter, String> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Filter, String> {
        match self.next() {
            Some(Tok::LParen) => {
                let f = self.or()?;
                self.expect(Tok::RParen)?;
                Ok(f)
            }
            Some(Tok::Ident(name)) => {
                let func = match name.to_ascii_lowercase().as_str() {
                    "startswith" => Some(StrFunc::StartsWith),
                    "endswith" => Some(StrFunc::EndsWith),
                    "contains" => Some(StrFunc::Contains),
                    _ => None,
                };
                if let Some(func) = func.filter(|_| self.peek() == Some(&Tok::LParen)) {
                    self.expect(Tok::LParen)?;
                    let prop = match self.next() {
                        Some(Tok::Ident(p)) => p,
                        other => {
                            return Err(format!(
                                "Expected a property in {name}(), found {other:?}."
                            ));
                        }
                    };
                    self.expect(Tok::Comma)?;
                    let value = match self.next() {
                        Some(Tok::Str(v)) => v,
                        other => {
                            return Err(format!(
                                "Expected a string literal in {name}(), found {other:?}."
                            ));
                        }
                    };
                    self.expect(Tok::RParen)?;
                    // `startswith(x,'a') eq true` is legal OData.
                    if self.keyword("eq") {
                        self.pos += 1;
                        let truth = matches!(self.next(), Some(Tok::Ident(t)) if t.eq_ignore_ascii_case("true"));
                        let f = Filter::Func { func, prop, value };
                        return Ok(if truth { f } else { Filter::Not(Box::new(f)) });
                    }
                    return Ok(Filter::Func { func, prop, value });
                }
                let op = match self.next() {
                    Some(Tok::Ident(op)) => match op.to_ascii_lowercase().as_str() {
                        "eq" => CmpOp::Eq,
                        "ne" => CmpOp::Ne,
                        "gt" => CmpOp::Gt,
                        "ge" => CmpOp::Ge,
                        "lt" => CmpOp::Lt,
                        "le" => CmpOp::Le,
                        "has" => CmpOp::Has,
                        _ => return Err(format!("Unsupported operator '{op}' in $filter.")),
                    },
                    other => {
                        return Err(format!(
                            "Expected an operator after '{name}', found {other:?}."
                        ));
                    }
                };
                let value = match self.next() {
                    Some(Tok::Str(s)) => Value::String(s),
                    Some(Tok::Num(n)) => serde_json::Number::from_f64(n)
                        .map(Value::Number)
                        .unwrap_or(Value::Null),
                    Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
                    Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
                    Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
                    other => {
                        return Err(format!(
                            "Expected a literal after '{name}', found {other:?}."
                        ));
                    }
                };
                Ok(Filter::Cmp {
                    prop: name,
                    op,
                    value,
                })
            }
            other => Err(format!("Syntax error in $filter near {other:?}.")),
        }
    }
}

pub fn parse_filter(s: &str) -> Result<Filter, String> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err("The $filter query option is empty.".into());
    }
    let mut p = Parser { toks, pos: 0 };
    let f = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!(
            "Syntax error in $filter '{s}': unexpected trailing input."
        ));
    }
    Ok(f)
}

/// Resolve `a/b` inside an entity; property names compare case-insensitively.
fn lookup<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut cur: Option<&Value> = None;
    let mut map = obj;
    for part in path.split('/') {
        let v = map.get(part).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(part))
                .map(|(_, v)| v)
        })?;
        cur = Some(v);
        if let Value::Object(m) = v {
            map = m;
        }
    }
    cur
}

impl Filter {
    pub fn matches(&self, obj: &Map<String, Value>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(obj) && b.matches(obj),
            Filter::Or(a, b) => a.matches(obj) || b.matches(obj),
            Filter::Not(a) => !a.matches(obj),
            Filter::Func { func, prop, value } => {
                let Some(Value::String(s)) = lookup(obj, prop) else {
                    return false;
                };
                let (s, v) = (s.to_lowercase(), value.to_lowercase());
                match func {
                    StrFunc::StartsWith => s.starts_with(&v),
                    StrFunc::EndsWith => s.ends_with(&v),
                    StrFunc::Contains => s.contains(&v),
                }
            }
            Filter::Cmp { prop, op, value } => {
                let actual = lookup(obj, prop).unwrap_or(&Value::Null);
                compare(actual, *op, value)
            }
        }
    }
}

fn compare(actual: &Value, op: CmpOp, expected: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (actual, expected) {
        // Intune compares display names case-insensitively.
        (Value::String(a), Value::String(b)) => {
            if op == CmpOp::Has {
                return a
                    .split(',')
                    .any(|flag| flag.trim().eq_ignore_ascii_case(b.trim()));
            }
            Some(a.to_lowercase().cmp(&b.to_lowercase()))
        }
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Array(items), Value::String(_)) if op == CmpOp::Eq => {
            return items.iter().any(|i| compare(i, op, expected));
        }
        _ => None,
    };
    match (op, ord) {
        (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
        (CmpOp::Eq, None) => false,
        (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
        (CmpOp::Ne, None) => true,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        _ => false,
    }
}

/// Keep only the selected properties (plus `id` and annotations, which Graph always returns).
pub fn apply_select(obj: &mut Map<String, Value>, select: &[String], keep: &[&str]) {
    if select.iter().any(|s| s == "*") {
        return;
    }
    obj.retain(|k, _| {
        k == "id"
            || k.starts_with('@')
            || keep.iter().any(|n| n.eq_ignore_ascii_case(k))
            || select.iter().any(|s| s.eq_ignore_ascii_case(k))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn filter_handles_escaped_quotes_and_case() {
        let f = parse_filter("displayName eq 'O''Brien policy'").unwrap();
        assert!(f.matches(&obj(json!({"displayName": "o'brien POLICY"}))));
        assert!(!f.matches(&obj(json!({"displayName": "other"}))));
    }

    #[test]
    fn filter_combines_functions_and_paths() {
        let f = parse_filter(
            "startswith(name,'Win') and (technologies has 'mdm' or templateReference/templateFamily eq 'none')",
        )
        .unwrap();
        assert!(f.matches(&obj(
            json!({"name": "Windows", "technologies": "mdm,microsoftSense"})
        )));
        assert!(f.matches(&obj(json!({"name": "win", "technologies": "x", "templateReference": {"templateFamily": "none"}}))));
        assert!(!f.matches(&obj(json!({"name": "mac", "technologies": "mdm"}))));
    }

    #[test]
    fn bad_filters_are_errors_not_panics() {
        for bad in [
            "",
            "displayName eq",
            "displayName eq 'x",
            "(a eq 'b'",
            "a zz 'b'",
            "eq eq eq",
            "))",
            "startswith(",
            "%%%",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expand_nests() {
        let e = parse_expand(
            "scheduledActionsForRule($expand=scheduledActionConfigurations),assignments",
        )
        .unwrap();
        let s = expand_get(&e, "scheduledactionsforrule").unwrap();
        assert!(expand_get(&s.expand, "scheduledActionConfigurations").is_some());
        assert!(expand_get(&e, "assignments").is_some());
        assert!(parse_expand("a(b").is_err());
    }

    #[test]
    fn query_round_trips_skiptoken_and_decodes() {
        let tok = encode_skiptoken(50);
        let q = parse_query(Some(&format!(
            "$top=10&$skiptoken={tok}&%24filter=name%20eq%20%27a%2Bb%27"
        )))
        .unwrap();
        assert_eq!(q.top, Some(10));
        assert_eq!(q.offset(), 50);
        assert!(q.filter.unwrap().matches(&obj(json!({"name": "a+b"}))));
        assert!(parse_query(Some("$skiptoken=garbage")).is_err());
        assert!(parse_query(Some("$top=abc")).is_err());
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
