//! OData query options: parsing `$filter`, `$expand`, `$select`, `$top`, `$skiptoken`,
//! `$orderby` and `$count`, and applying `$select`. Filter grammar and evaluation live in
//! `filter`, URL and paging-token encoding in `encoding`.

mod encoding;
mod filter;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub use encoding::{encode_skiptoken, percent_decode, percent_decode_path, percent_encode};
pub use filter::{CmpOp, Filter, FilterError, StrFunc, parse_filter};

use encoding::decode_skiptoken;

/// Why a query option was refused; the message is the 400's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("Invalid value '{value}' for ${option} query option.")]
    InvalidNumber { option: &'static str, value: String },
    #[error("Invalid $skiptoken value.")]
    InvalidSkiptoken,
    #[error("Invalid $expand item '{0}'.")]
    InvalidExpandItem(String),
    #[error("Invalid nested option '{0}' in $expand.")]
    InvalidExpandOption(String),
    #[error("Unbalanced parentheses in '{0}'.")]
    UnbalancedParentheses(String),
    /// `$expand` names something that is not a navigation property of the entity.
    #[error("Could not find a property named '{name}' on type '{type_name}'.")]
    UnknownProperty { name: String, type_name: String },
    #[error(transparent)]
    Filter(#[from] FilterError),
}

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
/// parameters and we tolerate the rest); malformed known ones are a 400.
pub fn parse_query(qs: Option<&str>) -> Result<Query, QueryError> {
    let mut q = Query::default();
    let Some(qs) = qs else { return Ok(q) };
    for pair in qs.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k);
        let v = percent_decode(v);
        let name = k.trim_start_matches('$').to_ascii_lowercase();
        match name.as_str() {
            "top" => {
                let n: usize = v.trim().parse().map_err(|_| QueryError::InvalidNumber {
                    option: "top",
                    value: v.clone(),
                })?;
                q.top = Some(n);
            }
            "skip" => {
                q.skip = v.trim().parse().map_err(|_| QueryError::InvalidNumber {
                    option: "skip",
                    value: v.clone(),
                })?;
            }
            "skiptoken" => {
                q.skiptoken = Some(decode_skiptoken(&v).ok_or(QueryError::InvalidSkiptoken)?);
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

/// Parse `a,b($expand=c($expand=d);$select=x),e`.
pub fn parse_expand(s: &str) -> Result<Expand, QueryError> {
    let mut out = Expand::new();
    for item in split_top_level(s, ',')? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, opts) = match item.find('(') {
            Some(i) => {
                if !item.ends_with(')') {
                    return Err(QueryError::InvalidExpandItem(item.to_string()));
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
                .ok_or_else(|| QueryError::InvalidExpandOption(opt.to_string()))?;
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
        // A type-cast segment (`microsoft.graph.x/roleScopeTags`) names the property below it.
        let name = name.trim();
        let name = match name.rsplit_once('/') {
            Some((cast, prop)) if cast.starts_with("microsoft.graph.") => prop,
            _ => name,
        };
        out.insert(name.to_string(), ei);
    }
    Ok(out)
}

fn split_top_level(s: &str, sep: char) -> Result<Vec<&str>, QueryError> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(QueryError::UnbalancedParentheses(s.to_string()));
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
        return Err(QueryError::UnbalancedParentheses(s.to_string()));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

/// Keep only the selected properties (plus `id` and annotations, which Graph always returns,
/// and the annotations of kept properties, such as `assignments@odata.context`).
pub fn apply_select(obj: &mut Map<String, Value>, select: &[String], keep: &[&str]) {
    if select.iter().any(|s| s == "*") {
        return;
    }
    let named = |p: &str| {
        keep.iter().any(|n| n.eq_ignore_ascii_case(p))
            || select.iter().any(|s| s.eq_ignore_ascii_case(p))
    };
    obj.retain(|k, _| {
        k == "id"
            || k.starts_with('@')
            || named(k)
            || k.split_once('@').is_some_and(|(p, _)| named(p))
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
