//! Reads of one tenant's Intune configuration: whole lists (every page, per-item content,
//! sub-resources and assignments inline), single objects and lookups by match key.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use super::transport::{Body, Call};
use super::{Core, ReadOnlyGraph, malformed, origin_of};
use crate::graph::error::{ErrorKind, GraphError};
use crate::graph::normalize::{self, Normalized};
use crate::graph::payload::{encode_query, encode_segment, odata_string};
use crate::graph::registry::{Contract, Fetch, Shape, SubResource};

/// The first pages of several types' lists, read together by [`ReadOnlyGraph::first_pages`]
/// and used up by [`ReadOnlyGraph::list_prefetched`]. A page stays the text Graph sent until
/// its type is listed.
#[derive(Debug, Default)]
pub struct FirstPages(HashMap<&'static str, Result<Body, GraphError>>);

impl FirstPages {
    /// How many types' first pages it still holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ReadOnlyGraph {
    /// Every object of the type, whole: all pages, per-item content, sub-resources and
    /// assignments inline (the shape of graph-sim's export).
    pub async fn list(&self, contract: &Contract) -> Result<Vec<Value>, GraphError> {
        self.core.list_where(contract, None).await
    }

    /// Reads the first page of every collection and the value of every singleton among
    /// `contracts` in `$batch` requests (up to 20 sub-requests each, one API version per
    /// request; each sub-request counts against the quota), so that listing many types
    /// starts with a few round trips instead of one per type. Contained types (listed per
    /// parent) are not prefetched.
    pub async fn first_pages(&self, contracts: &[&'static Contract]) -> FirstPages {
        let mut groups: Vec<Vec<(&'static Contract, String)>> = Vec::new();
        for contract in contracts {
            let path = match contract.shape {
                Shape::Collection => format!(
                    "{}{}",
                    contract.collection,
                    collection_query(contract, None)
                ),
                Shape::Singleton => contract.collection.to_string(),
                Shape::Contained { .. } => continue,
            };
            match groups.iter_mut().find(|g| {
                g.first()
                    .is_some_and(|(c, _)| c.api_version == contract.api_version)
            }) {
                Some(group) => group.push((contract, path)),
                None => groups.push(vec![(contract, path)]),
            }
        }
        let mut pages = FirstPages::default();
        for group in groups {
            let keys: Vec<&'static str> = group.iter().map(|(c, _)| c.key).collect();
            let requests = group.iter().map(|(c, p)| (*c, p.clone())).collect();
            for (key, page) in keys
                .into_iter()
                .zip(self.core.batch_get_each(requests).await)
            {
                pages.0.insert(key, page);
            }
        }
        pages
    }

    /// [`list_normalized`](Self::list_normalized), starting from the first page `pages`
    /// holds for the type (read now if it holds none).
    pub async fn list_prefetched(
        &self,
        contract: &Contract,
        pages: &mut FirstPages,
    ) -> Result<Vec<Normalized>, GraphError> {
        let first = pages
            .0
            .remove(contract.key)
            .map(|page| page.and_then(|body| body.into_value(contract)));
        let listed = self.core.list_from(contract, None, first).await?;
        Ok(normalize_each(contract, listed))
    }

    /// [`list`](Self::list), normalized.
    pub async fn list_normalized(
        &self,
        contract: &Contract,
    ) -> Result<Vec<Normalized>, GraphError> {
        Ok(normalize_each(contract, self.list(contract).await?))
    }

    /// The objects `filter` (an OData `$filter`) selects; where Graph refuses the filter, the
    /// whole list, filtered by `keep` here.
    pub async fn list_filtered(
        &self,
        contract: &Contract,
        filter: &str,
        keep: impl Fn(&Value) -> bool,
    ) -> Result<Vec<Value>, GraphError> {
        let found = match self.core.list_where(contract, Some(filter)).await {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::BadRequest => self.list(contract).await?,
            Err(e) => return Err(e),
        };
        Ok(found.into_iter().filter(|o| keep(o)).collect())
    }

    /// One object, whole.
    pub async fn get(&self, contract: &Contract, id: &str) -> Result<Value, GraphError> {
        let core = &self.core;
        let mut url = core.item_url(contract, id, None);
        if let Some(expand) = contract.expand() {
            url.push_str(&format!("?$expand={}", encode_query(&expand)));
        }
        let body = core.execute(&Call::read(url, 1, contract)).await?.body;
        let Value::Object(mut obj) = body else {
            return Err(malformed(contract));
        };
        match contract.shape {
            Shape::Singleton => {
                obj.entry("id")
                    .or_insert_with(|| Value::String(contract.key.to_string()));
            }
            Shape::Contained { .. } => {
                if let Some((parent, _)) = id.split_once('/')
                    && let Some(own) = obj.get("id").and_then(Value::as_str)
                    && !own.contains('/')
                {
                    let qualified = format!("{parent}/{own}");
                    obj.insert("id".into(), Value::String(qualified));
                }
            }
            Shape::Collection => {}
        }
        let mut objects = vec![obj];
        core.complete(contract, &mut objects).await?;
        Ok(Value::Object(objects.pop().unwrap_or_default()))
    }

    /// Objects whose match key equals `name` (Graph compares case-insensitively), whole.
    /// Tries `$filter` first and filters a full listing where Graph refuses the filter.
    pub async fn find_by_match_key(
        &self,
        contract: &Contract,
        name: &str,
    ) -> Result<Vec<Value>, GraphError> {
        let filter = format!("{} eq {}", contract.match_key, odata_string(name));
        let found = match self.core.list_where(contract, Some(&filter)).await {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::BadRequest => self.list(contract).await?,
            Err(e) => return Err(e),
        };
        Ok(found
            .into_iter()
            .filter(|o| {
                o.get(contract.match_key)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.to_lowercase() == name.to_lowercase())
            })
            .collect())
    }

    /// [`find_by_match_key`](Self::find_by_match_key) narrowed to one `@odata.type` when
    /// given (objects of another derived type are other policies that share a name) and, for
    /// a contained type, to the objects below `parent` (a profile of another token is another
    /// profile).
    pub async fn find_matches(
        &self,
        contract: &Contract,
        name: &str,
        odata_type: Option<&str>,
        parent: Option<&str>,
    ) -> Result<Vec<Value>, GraphError> {
        let mut found = self.find_by_match_key(contract, name).await?;
        if let Some(parent) = parent {
            let prefix = format!("{parent}/");
            found.retain(|o| {
                o.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.starts_with(&prefix))
            });
        }
        Ok(match odata_type {
            Some(t) => found
                .into_iter()
                .filter(|o| {
                    o.get("@odata.type")
                        .and_then(Value::as_str)
                        .is_none_or(|ot| ot.eq_ignore_ascii_case(t))
                })
                .collect(),
            None => found,
        })
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Core {
    /// The list (optionally filtered), then per-item content and sub-resources; the one
    /// object of a singleton (none where the tenant has not set it up); every parent's
    /// objects of a contained type.
    async fn list_where(
        &self,
        contract: &Contract,
        filter: Option<&str>,
    ) -> Result<Vec<Value>, GraphError> {
        self.list_from(contract, filter, None).await
    }

    /// [`Core::list_where`], with the first page (of a collection) or the value (of a
    /// singleton) already read when `first` holds it.
    async fn list_from(
        &self,
        contract: &Contract,
        filter: Option<&str>,
        first: Option<Result<Value, GraphError>>,
    ) -> Result<Vec<Value>, GraphError> {
        match contract.shape {
            Shape::Collection => {
                self.list_collection(contract, contract.collection, filter, first)
                    .await
            }
            Shape::Singleton => {
                let read = match first {
                    Some(read) => read,
                    None => {
                        let url = self.url(contract.api_version, contract.collection);
                        self.execute(&Call::read(url, 1, contract))
                            .await
                            .map(|a| a.body)
                    }
                };
                match read {
                    Ok(body) => {
                        let Value::Object(mut obj) = body else {
                            return Err(malformed(contract));
                        };
                        obj.entry("id")
                            .or_insert_with(|| Value::String(contract.key.to_string()));
                        Ok(vec![Value::Object(obj)])
                    }
                    Err(e) if e.is_not_found() => Ok(Vec::new()),
                    Err(e) => Err(e),
                }
            }
            Shape::Contained { parent } => {
                let url = self.url(contract.api_version, &format!("{parent}?$select=id"));
                let parents = self.get_pages(url, contract).await?;
                let mut out = Vec::new();
                for p in &parents {
                    let pid = object_id(p).ok_or_else(|| malformed(contract))?;
                    let path = format!("{parent}/{}/{}", encode_segment(&pid), contract.key);
                    for mut o in self.list_collection(contract, &path, filter, None).await? {
                        super::writes::qualify_id(&mut o, &pid);
                        out.push(o);
                    }
                }
                Ok(out)
            }
        }
    }

    /// The objects of one collection (`path` below the version), from its first page when
    /// `first` holds it.
    async fn list_collection(
        &self,
        contract: &Contract,
        path: &str,
        filter: Option<&str>,
        first: Option<Result<Value, GraphError>>,
    ) -> Result<Vec<Value>, GraphError> {
        let mut listed = match first {
            Some(page) => {
                let (mut items, next) = page_parts(page?, &self.origin, contract)?;
                if let Some(next) = next {
                    items.extend(self.get_pages(next, contract).await?);
                }
                items
            }
            None => {
                let url = format!(
                    "{}{}",
                    self.url(contract.api_version, path),
                    collection_query(contract, filter)
                );
                self.get_pages(url, contract).await?
            }
        };
        listed.retain(|o| !contract.excluded(o));
        let mut objects: Vec<Map<String, Value>> = Vec::with_capacity(listed.len());
        if contract.per_item_get {
            let expand = contract
                .expand()
                .map(|e| format!("?$expand={}", encode_query(&e)))
                .unwrap_or_default();
            let mut paths = Vec::with_capacity(listed.len());
            for item in &listed {
                let id = object_id(item).ok_or_else(|| malformed(contract))?;
                paths.push(format!("{path}/{}{expand}", encode_segment(&id)));
            }
            for full in self.batch_get(contract, paths).await {
                match full {
                    Ok(Value::Object(m)) => objects.push(m),
                    Ok(_) => return Err(malformed(contract)),
                    // Deleted between the list and the GET: it is not there any more.
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
        } else {
            for item in listed {
                match item {
                    Value::Object(m) => objects.push(m),
                    _ => return Err(malformed(contract)),
                }
            }
        }
        self.complete(contract, &mut objects).await?;
        Ok(objects.into_iter().map(Value::Object).collect())
    }

    /// Adds the by-path sub-resources and assignments to `objects`.
    async fn complete(
        &self,
        contract: &Contract,
        objects: &mut [Map<String, Value>],
    ) -> Result<(), GraphError> {
        for sub in contract
            .sub_resources
            .iter()
            .filter(|s| s.fetch == Fetch::Path)
        {
            let parents = objects
                .iter_mut()
                .map(|o| (contract.collection.to_string(), o))
                .collect();
            self.fill_sub(contract, parents, sub).await?;
        }
        if let Some(a) = contract.assignments
            && a.fetch == Fetch::Path
        {
            const ASSIGNMENTS: SubResource = SubResource {
                name: "assignments",
                fetch: Fetch::Path,
                reference: false,
                write_inline: false,
                sort_key: None,
                strip: &[],
                children: &[],
                bind: None,
                top: None,
            };
            let parents = objects
                .iter_mut()
                .map(|o| (contract.collection.to_string(), o))
                .collect();
            self.fill_sub(contract, parents, &ASSIGNMENTS).await?;
        }
        Ok(())
    }

    /// Fetches `sub` of every parent (first pages batched, further pages followed), then
    /// its own by-path children. Each parent comes with the path of the collection it is in.
    fn fill_sub<'a>(
        &'a self,
        contract: &'a Contract,
        parents: Vec<(String, &'a mut Map<String, Value>)>,
        sub: &'a SubResource,
    ) -> BoxFuture<'a, Result<(), GraphError>> {
        Box::pin(async move {
            let query = sub
                .path_query()
                .map(|q| format!("?{}", encode_query(&q)))
                .unwrap_or_default();
            let mut paths = Vec::with_capacity(parents.len());
            let mut own_paths = Vec::with_capacity(parents.len());
            for (collection, parent) in &parents {
                let id = parent
                    .get("id")
                    .and_then(id_value)
                    .ok_or_else(|| malformed(contract))?;
                let own = format!("{collection}/{}/{}", encode_segment(&id), sub.name);
                paths.push(format!("{own}{query}"));
                own_paths.push(own);
            }
            let firsts = self.batch_get(contract, paths).await;
            let mut children: Vec<(String, Map<String, Value>)> = Vec::new();
            let mut owners: Vec<(usize, usize)> = Vec::new(); // (parent index, item count)
            for (i, first) in firsts.into_iter().enumerate() {
                let (mut items, next) = page_parts(first?, &self.origin, contract)?;
                if let Some(next) = next {
                    items.extend(self.get_pages(next, contract).await?);
                }
                owners.push((i, items.len()));
                for item in items {
                    match item {
                        Value::Object(m) => children.push((own_paths[i].clone(), m)),
                        _ => return Err(malformed(contract)),
                    }
                }
            }
            for child in sub.children.iter().filter(|c| c.fetch == Fetch::Path) {
                let parents = children.iter_mut().map(|(p, m)| (p.clone(), m)).collect();
                self.fill_sub(contract, parents, child).await?;
            }
            let mut children = children.into_iter().map(|(_, m)| Value::Object(m));
            let mut parents = parents;
            for (i, count) in owners {
                let items: Vec<Value> = children.by_ref().take(count).collect();
                parents[i]
                    .1
                    .insert(sub.name.to_string(), Value::Array(items));
            }
            Ok(())
        })
    }

    /// Every item of a collection, following `@odata.nextLink`.
    pub(super) async fn get_pages(
        &self,
        first: String,
        contract: &Contract,
    ) -> Result<Vec<Value>, GraphError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut seen = 0usize;
        while let Some(url) = next.take() {
            seen += 1;
            if seen > 100_000 {
                return Err(malformed(contract));
            }
            let body = self
                .execute(&Call::read(url.clone(), 1, contract))
                .await?
                .body;
            let (items, n) = page_parts(body, &self.origin, contract)?;
            if n.as_deref() == Some(url.as_str()) {
                return Err(malformed(contract));
            }
            out.extend(items);
            next = n;
        }
        Ok(out)
    }
}

/// Normalizes each object, dropping its raw form as soon as its normalized one exists, so the
/// two copies of a large type are never all in memory at once.
fn normalize_each(contract: &Contract, listed: Vec<Value>) -> Vec<Normalized> {
    listed
        .into_iter()
        .map(|o| normalize::normalize(contract, &o))
        .collect()
}

/// The query of a collection's list request: its filter and, where objects are not read
/// one by one, the `$expand` of its inline sub-resources (`""` or `?...`).
fn collection_query(contract: &Contract, filter: Option<&str>) -> String {
    let mut query = Vec::new();
    if let Some(f) = filter {
        query.push(format!("$filter={}", encode_query(f)));
    }
    if !contract.per_item_get
        && let Some(expand) = contract.expand()
    {
        query.push(format!("$expand={}", encode_query(&expand)));
    }
    if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    }
}

fn id_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn object_id(v: &Value) -> Option<String> {
    v.get("id").and_then(id_value)
}

/// The items and `@odata.nextLink` of one page. A next link to another origin is refused.
fn page_parts(
    body: Value,
    origin: &str,
    contract: &Contract,
) -> Result<(Vec<Value>, Option<String>), GraphError> {
    let Value::Object(mut m) = body else {
        return Err(malformed(contract));
    };
    let items = match m.remove("value") {
        Some(Value::Array(a)) => a,
        _ => return Err(malformed(contract)),
    };
    let next = match m.remove("@odata.nextLink") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if origin_of(&s) == origin => Some(s),
        Some(_) => return Err(malformed(contract)),
    };
    Ok((items, next))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::graph::registry::get;

    #[test]
    fn next_links_must_stay_on_the_graph_origin() {
        let c = get("deviceConfigurations").unwrap();
        let origin = origin_of("http://127.0.0.1:8090");
        let ok =
            json!({"value": [1], "@odata.nextLink": "http://127.0.0.1:8090/beta/x?$skiptoken=a"});
        assert!(page_parts(ok, &origin, c).unwrap().1.is_some());
        let evil = json!({"value": [], "@odata.nextLink": "http://evil.example/beta/x"});
        assert_eq!(
            page_parts(evil, &origin, c).unwrap_err().code(),
            "malformed_response"
        );
        assert!(page_parts(json!({"value": {}}), &origin, c).is_err());
        assert_eq!(
            page_parts(json!({"value": []}), &origin, c).unwrap().1,
            None
        );
    }
}
