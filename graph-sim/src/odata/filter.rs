//! `$filter`: the tokenizer, the recursive-descent parser and evaluation against entities.

use serde_json::{Map, Value};

/// Why a `$filter` was refused; the message is the 400's. Tokens appear in their debug form
/// (`Some(Ident("x"))`), which is what clients have always been shown.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error("The $filter query option is empty.")]
    Empty,
    #[error("Unterminated string literal in $filter.")]
    UnterminatedString,
    #[error("Syntax error at position {position} in $filter '{filter}'.")]
    UnexpectedChar { position: usize, filter: String },
    #[error("Syntax error in $filter: expected {expected}, found {found}.")]
    Expected { expected: String, found: String },
    #[error("Expected a property in {func}(), found {found}.")]
    ExpectedProperty { func: String, found: String },
    #[error("Expected a string literal in {func}(), found {found}.")]
    ExpectedString { func: String, found: String },
    #[error("Unsupported operator '{0}' in $filter.")]
    UnsupportedOperator(String),
    #[error("Expected an operator after '{property}', found {found}.")]
    ExpectedOperator { property: String, found: String },
    #[error("Expected a literal after '{property}', found {found}.")]
    ExpectedLiteral { property: String, found: String },
    #[error("Syntax error in $filter near {found}.")]
    Syntax { found: String },
    #[error("Syntax error in $filter '{0}': unexpected trailing input.")]
    TrailingInput(String),
}

/// A token (or the end of input) as the messages show it.
fn shown(t: &Option<Tok>) -> String {
    format!("{t:?}")
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
    /// `isof('microsoft.graph.x')`: the entity is of type `x`.
    IsOf(String),
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

fn tokenize(s: &str) -> Result<Vec<Tok>, FilterError> {
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
                    None => return Err(FilterError::UnterminatedString),
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
            // Numbers, GUIDs and DateTimeOffset literals (`2024-01-01T00:00:00Z`).
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '-' | ':' | '+'))
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
            return Err(FilterError::UnexpectedChar {
                position: i,
                filter: s.to_string(),
            });
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
    fn expect(&mut self, t: Tok) -> Result<(), FilterError> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            other => Err(FilterError::Expected {
                expected: format!("{t:?}"),
                found: shown(&other),
            }),
        }
    }
    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }
    /// `name op literal`.
    fn comparison(&mut self, name: String) -> Result<Filter, FilterError> {
        let op = match self.next() {
            Some(Tok::Ident(op)) => match op.to_ascii_lowercase().as_str() {
                "eq" => CmpOp::Eq,
                "ne" => CmpOp::Ne,
                "gt" => CmpOp::Gt,
                "ge" => CmpOp::Ge,
                "lt" => CmpOp::Lt,
                "le" => CmpOp::Le,
                "has" => CmpOp::Has,
                _ => return Err(FilterError::UnsupportedOperator(op)),
            },
            other => {
                return Err(FilterError::ExpectedOperator {
                    property: name,
                    found: shown(&other),
                });
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
            // An enum literal: `microsoft.graph.managedAppAvailability'global'`.
            Some(Tok::Ident(w))
                if w.starts_with("microsoft.graph.")
                    && matches!(self.peek(), Some(Tok::Str(_))) =>
            {
                match self.next() {
                    Some(Tok::Str(s)) => Value::String(s),
                    _ => Value::Null,
                }
            }
            other => {
                return Err(FilterError::ExpectedLiteral {
                    property: name,
                    found: shown(&other),
                });
            }
        };
        Ok(Filter::Cmp {
            prop: name,
            op,
            value,
        })
    }
    fn primary(&mut self) -> Result<Filter, FilterError> {
        match self.next() {
            // `(prop) eq x`: a parenthesised property (IntuneCD's mobileApps filter).
            Some(Tok::LParen)
                if matches!(
                    (self.toks.get(self.pos), self.toks.get(self.pos + 1), self.toks.get(self.pos + 2)),
                    (Some(Tok::Ident(_)), Some(Tok::RParen), Some(Tok::Ident(op)))
                        if is_operator(op)
                ) =>
            {
                let Some(Tok::Ident(name)) = self.next() else {
                    return Err(FilterError::Syntax {
                        found: shown(&None),
                    });
                };
                self.expect(Tok::RParen)?;
                self.comparison(name)
            }
            Some(Tok::LParen) => {
                let f = self.or()?;
                self.expect(Tok::RParen)?;
                Ok(f)
            }
            Some(Tok::Ident(name))
                if name.eq_ignore_ascii_case("isof") && self.peek() == Some(&Tok::LParen) =>
            {
                self.expect(Tok::LParen)?;
                // `isof('type')` tests the entity; `isof(prop, 'type')` is not modelled and
                // tests the entity too.
                let mut ty = None;
                loop {
                    match self.next() {
                        Some(Tok::Str(t)) => ty = Some(t),
                        Some(Tok::Ident(_)) | Some(Tok::Comma) => {}
                        Some(Tok::RParen) => break,
                        other => {
                            return Err(FilterError::ExpectedString {
                                func: name,
                                found: shown(&other),
                            });
                        }
                    }
                }
                let Some(ty) = ty else {
                    return Err(FilterError::ExpectedString {
                        func: name,
                        found: shown(&Some(Tok::RParen)),
                    });
                };
                let f = Filter::IsOf(ty);
                // `isof('x') eq false` is how some clients negate it.
                if self.keyword("eq") {
                    self.pos += 1;
                    let truth = matches!(self.next(), Some(Tok::Ident(t)) if t.eq_ignore_ascii_case("true"));
                    return Ok(if truth { f } else { Filter::Not(Box::new(f)) });
                }
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
                            return Err(FilterError::ExpectedProperty {
                                func: name,
                                found: shown(&other),
                            });
                        }
                    };
                    self.expect(Tok::Comma)?;
                    let value = match self.next() {
                        Some(Tok::Str(v)) => v,
                        other => {
                            return Err(FilterError::ExpectedString {
                                func: name,
                                found: shown(&other),
                            });
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
                self.comparison(name)
            }
            other => Err(FilterError::Syntax {
                found: shown(&other),
            }),
        }
    }
}

fn is_operator(word: &str) -> bool {
    ["eq", "ne", "gt", "ge", "lt", "le", "has"]
        .iter()
        .any(|o| o.eq_ignore_ascii_case(word))
}

pub fn parse_filter(s: &str) -> Result<Filter, FilterError> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(FilterError::Empty);
    }
    let mut p = Parser { toks, pos: 0 };
    let f = p.or()?;
    if p.pos < p.toks.len() {
        return Err(FilterError::TrailingInput(s.to_string()));
    }
    Ok(f)
}

/// Resolve `a/b` inside an entity; property names compare case-insensitively. A type-cast
/// segment (`microsoft.graph.managedApp/appAvailability`) is skipped: entities of other types
/// lack the property, which then reads as null.
fn lookup<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut cur: Option<&Value> = None;
    let mut map = obj;
    for part in path
        .split('/')
        .filter(|p| !p.starts_with("microsoft.graph."))
    {
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
            Filter::IsOf(ty) => {
                let want = ty.trim_start_matches('#');
                let want = want.strip_prefix("microsoft.graph.").unwrap_or(want);
                obj.get("@odata.type")
                    .and_then(Value::as_str)
                    .map(|t| t.trim_start_matches('#'))
                    .map(|t| t.strip_prefix("microsoft.graph.").unwrap_or(t))
                    .is_some_and(|t| crate::collections::is_of(t, want))
            }
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
            // DateTimeOffset values compare as instants: `2026-01-01T00:00:05.5Z` is after
            // the literal `2026-01-01T00:00:05Z` although it sorts before it as text.
            if let (Ok(a), Ok(b)) = (
                chrono::DateTime::parse_from_rfc3339(a),
                chrono::DateTime::parse_from_rfc3339(b),
            ) {
                return matches_order(op, Some(a.cmp(&b)));
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
    matches_order(op, ord)
}

fn matches_order(op: CmpOp, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn date_times_compare_as_instants_not_text() {
        // `deviceManagement/auditEvents?$filter=activityDateTime ge ...` (api/intune-auditing-auditevent-list).
        let f = parse_filter("activityDateTime ge 2026-12-02T01:13:05Z").unwrap();
        assert!(f.matches(&obj(
            json!({"activityDateTime": "2026-12-02T01:13:05.9225912Z"})
        )));
        assert!(f.matches(&obj(
            json!({"activityDateTime": "2026-12-02T02:13:05+01:00"})
        )));
        assert!(!f.matches(&obj(
            json!({"activityDateTime": "2026-12-02T01:13:04.999Z"})
        )));
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
    fn isof_type_casts_and_null_comparisons_parse_as_clients_send_them() {
        // The Intune portal's app list (api/intune-apps-mobileapp-list).
        let f = parse_filter(
            "(microsoft.graph.managedApp/appAvailability eq null or microsoft.graph.managedApp/appAvailability eq 'lineOfBusiness' or isAssigned eq true)",
        )
        .unwrap();
        assert!(f.matches(&obj(
            json!({"@odata.type": "#microsoft.graph.webApp", "isAssigned": false})
        )));
        assert!(!f.matches(&obj(
            json!({"@odata.type": "#microsoft.graph.managedIOSStoreApp", "appAvailability": "global", "isAssigned": false})
        )));
        let f = parse_filter(
            "((microsoft.graph.managedApp/appAvailability) eq null or isAssigned eq true) and isof('microsoft.graph.mobileLobApp') eq false",
        )
        .unwrap();
        assert!(f.matches(&obj(json!({"@odata.type": "#microsoft.graph.webApp"}))));
        assert!(!f.matches(&obj(json!({"@odata.type": "#microsoft.graph.win32LobApp"}))));
        let f = parse_filter(
            "isof('microsoft.graph.win32LobApp') and not(isof('microsoft.graph.webApp'))",
        )
        .unwrap();
        assert!(f.matches(&obj(json!({"@odata.type": "#microsoft.graph.win32LobApp"}))));
        assert!(!f.matches(&obj(json!({"@odata.type": "#microsoft.graph.webApp"}))));
        let f = parse_filter(
            "isof('microsoft.graph.managedIOSStoreApp') and microsoft.graph.managedApp/appAvailability eq microsoft.graph.managedAppAvailability'global'",
        )
        .unwrap();
        assert!(f.matches(&obj(
            json!({"@odata.type": "#microsoft.graph.managedIOSStoreApp", "appAvailability": "global"})
        )));
        assert!(parse_filter("isof()").is_err());
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
}
