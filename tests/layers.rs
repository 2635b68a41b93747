//! The layering of `src/`: which top-level modules may depend on which. Every `.rs` file under
//! `src/` is read, its code references to other modules of the crate (`use crate::x`,
//! `crate::x::...`, grouped `use crate::{a, b::c}`) and to the `entity` crate are collected,
//! and each is checked against the rules below. Comments and string literals are ignored.
//!
//! A file belongs to the top-level module it sits in: `src/foo.rs` and `src/foo/**` are `foo`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// What a rule forbids its modules to reference.
enum Forbid {
    /// These top-level modules of the crate.
    Modules(&'static [&'static str]),
    /// Every top-level module of the crate but the module itself.
    AnyModule,
    /// The `entity` crate (the database models).
    EntityCrate,
}

struct Rule {
    modules: &'static [&'static str],
    forbid: Forbid,
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        modules: &["runs", "store", "graph", "domain", "jobs"],
        forbid: Forbid::Modules(&["web", "startup", "commands", "worker"]),
        why: "the core never depends on the processes and front ends built on it",
    },
    Rule {
        modules: &["runs"],
        forbid: Forbid::Modules(&["jobs"]),
        why: "run orchestration is generic over the operations it runs",
    },
    Rule {
        modules: &["store", "graph", "domain"],
        forbid: Forbid::Modules(&["runs", "jobs"]),
        why: "storage, Graph and the domain rules know nothing of runs or operations",
    },
    Rule {
        modules: &["graph", "domain"],
        forbid: Forbid::Modules(&["store"]),
        why: "Graph and the domain rules know nothing of the database",
    },
    Rule {
        modules: &["domain"],
        forbid: Forbid::EntityCrate,
        why: "domain types carry no database types",
    },
    Rule {
        modules: &["metrics"],
        forbid: Forbid::AnyModule,
        why: "metrics is a leaf every module may use",
    },
];

/// What a reference points at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A top-level module of this crate (`crate::x`).
    Module(String),
    /// The `entity` crate.
    Entity,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Module(m) => write!(f, "crate::{m}"),
            Self::Entity => f.write_str("entity::"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    target: Target,
}

/// The source with comments and the contents of string and character literals replaced by
/// spaces (newlines kept), so offsets and line numbers still match the file.
fn code_only(src: &str) -> Vec<char> {
    let s: Vec<char> = src.chars().collect();
    let mut out = s.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in &mut out[from..to.min(s.len())] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = s[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(s.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            let mut j = i;
            while j < s.len() {
                if s[j] == '/' && s.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if s[j] == '*' && s.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0
                || !is_ident(s[i - 1])
                || (s[i - 1] == 'b' && (i == 1 || !is_ident(s[i - 2]))))
        {
            // A raw string: r"..." or r#"..."#, or a raw byte string br"...".
            let hashes = s[i + 1..].iter().take_while(|&&c| c == '#').count();
            let open = i + 1 + hashes;
            if s.get(open) != Some(&'"') {
                i += 1;
                continue;
            }
            let mut j = open + 1;
            while j < s.len() {
                if s[j] == '"'
                    && s[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&c| c == '#')
                        .count()
                        == hashes
                {
                    break;
                }
                j += 1;
            }
            blank(&mut out, open + 1, j);
            i = j + 1 + hashes;
        } else if c == '"' {
            let mut j = i + 1;
            while j < s.len() && s[j] != '"' {
                j += if s[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j);
            i = j + 1;
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{..}', '"'); otherwise a lifetime.
            let end = if next == Some('\\') {
                s[i + 2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map(|p| i + 2 + p)
            } else if s.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    blank(&mut out, i + 1, end);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn skip_ws(s: &[char], mut i: usize) -> usize {
    while i < s.len() && s[i].is_whitespace() {
        i += 1;
    }
    i
}

fn ident_at(s: &[char], i: usize) -> Option<String> {
    let len = s[i.min(s.len())..]
        .iter()
        .take_while(|&&c| is_ident(c))
        .count();
    (len > 0).then(|| s[i..i + len].iter().collect())
}

/// Whether `word` starts at `i` as a whole path segment followed by `::`; returns the index
/// after the `::`.
fn path_start(s: &[char], i: usize, word: &str) -> Option<usize> {
    let w: Vec<char> = word.chars().collect();
    if s.get(i..i + w.len()) != Some(&w[..]) {
        return None;
    }
    let before = i.checked_sub(1).map(|p| s[p]);
    // `$crate` in macros and a leading `::entity` count; `foo::entity` or `my_entity` does
    // not.
    let leading_colons = i >= 2
        && s[i - 2] == ':'
        && (i == 2 || !(is_ident(s[i - 3]) || s[i - 3] == '>' || s[i - 3] == ')'));
    if before.is_some_and(|c| is_ident(c) || (c == ':' && (word == "crate" || !leading_colons))) {
        return None;
    }
    let j = skip_ws(s, i + w.len());
    (s.get(j) == Some(&':') && s.get(j + 1) == Some(&':')).then(|| skip_ws(s, j + 2))
}

/// Every reference in one file's source, in order.
fn references(src: &str) -> Vec<Reference> {
    let s = code_only(src);
    let line_of = |i: usize| s[..i].iter().filter(|&&c| c == '\n').count() + 1;
    let mut out = Vec::new();
    for i in 0..s.len() {
        if let Some(j) = path_start(&s, i, "crate") {
            if s.get(j) == Some(&'{') {
                for (at, name) in group_heads(&s, j) {
                    if name != "self" && name != "super" {
                        out.push(Reference {
                            line: line_of(at),
                            target: Target::Module(name),
                        });
                    }
                }
            } else if let Some(name) = ident_at(&s, j) {
                out.push(Reference {
                    line: line_of(i),
                    target: Target::Module(name),
                });
            }
        } else if path_start(&s, i, "entity").is_some()
            || (s.get(i..i + 4) == Some(&['u', 's', 'e', ' '][..])
                && (i == 0 || !is_ident(s[i - 1]))
                && ident_at(&s, skip_ws(&s, i + 4)).as_deref() == Some("entity"))
        {
            out.push(Reference {
                line: line_of(i),
                target: Target::Entity,
            });
        }
    }
    out.dedup();
    out
}

/// The first segment of every item of the `{...}` group opening at `open`.
fn group_heads(s: &[char], open: usize) -> Vec<(usize, String)> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expecting = true;
    let mut i = open;
    while i < s.len() {
        match s[i] {
            '{' => {
                depth += 1;
                expecting = depth == 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expecting = true,
            c if expecting && is_ident(c) => {
                if let Some(name) = ident_at(s, i) {
                    i += name.len();
                    heads.push((i - name.len(), name));
                    expecting = false;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    heads
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/foo.rs` and `src/foo/**` belong to `foo`.
fn module_of(src_dir: &Path, file: &Path) -> String {
    let first = file
        .strip_prefix(src_dir)
        .unwrap()
        .components()
        .next()
        .unwrap();
    let first = first.as_os_str().to_string_lossy();
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

fn violates(rule: &Rule, module: &str, target: &Target) -> bool {
    match (&rule.forbid, target) {
        (Forbid::Modules(names), Target::Module(m)) => names.contains(&m.as_str()),
        (Forbid::AnyModule, Target::Module(m)) => m != module,
        (Forbid::EntityCrate, Target::Entity) => true,
        _ => false,
    }
}

/// Every broken rule: `path:line: message`.
fn violations(files: &[(String, String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, module, text) in files {
        for r in references(text) {
            for rule in RULES
                .iter()
                .filter(|r| r.modules.contains(&module.as_str()))
            {
                if violates(rule, module, &r.target) {
                    out.push(format!(
                        "{path}:{}: `{module}` references `{}`: {}",
                        r.line, r.target, rule.why
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn src_modules_respect_the_layering() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src_dir = root.join("src");
    let mut paths = Vec::new();
    rs_files(&src_dir, &mut paths);
    let files: Vec<(String, String, String)> = paths
        .iter()
        .map(|p| {
            (
                p.strip_prefix(root).unwrap().display().to_string(),
                module_of(&src_dir, p),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();

    // Guard against a rule that silently checks nothing: every module a rule names exists,
    // and the scan does see the references it is looking for.
    let modules: BTreeSet<&str> = files.iter().map(|(_, m, _)| m.as_str()).collect();
    for rule in RULES {
        let named = match &rule.forbid {
            Forbid::Modules(names) => names.to_vec(),
            _ => Vec::new(),
        };
        for m in rule.modules.iter().chain(&named) {
            assert!(
                modules.contains(m),
                "no module `{m}` under src/: {modules:?}"
            );
        }
    }
    let seen = files
        .iter()
        .flat_map(|(_, _, text)| references(text))
        .count();
    assert!(seen > 100, "only {seen} references found under src/");

    let broken = violations(&files);
    assert!(
        broken.is_empty(),
        "{} layering violation(s):\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// The scanner itself, so the layering test cannot pass by finding nothing.
mod scanner {
    use super::*;

    fn targets(src: &str) -> Vec<(usize, String)> {
        references(src)
            .into_iter()
            .map(|r| (r.line, r.target.to_string()))
            .collect()
    }

    #[test]
    fn finds_plain_grouped_and_inline_paths() {
        let src = "use crate::store::tenants;\n\
                   use crate::{\n    domain::Name,\n    graph::{self, registry},\n    self,\n};\n\
                   fn f() { crate::web::serve(); let _ = $crate::runs::X; }\n\
                   use entity::tenant;\nfn g(_: entity::run::Model) {}\n\
                   use ::entity::run;\n";
        assert_eq!(
            targets(src),
            [
                (1, "crate::store".to_string()),
                (3, "crate::domain".to_string()),
                (4, "crate::graph".to_string()),
                (7, "crate::web".to_string()),
                (7, "crate::runs".to_string()),
                (8, "entity::".to_string()),
                (9, "entity::".to_string()),
                (10, "entity::".to_string()),
            ]
        );
    }

    #[test]
    fn ignores_comments_strings_and_look_alikes() {
        let src = "// use crate::web;\n/* crate::web::x /* nested */ crate::jobs */\n\
                   /// [`crate::web`]\nconst A: &str = \"crate::web::x\";\n\
                   const B: &str = r#\"use crate::web;\"#;\nconst C: char = '\"';\n\
                   pub(crate) fn f<'a>(_: &'a str) {}\nuse crate::store::entity::x;\n\
                   use my_entity::y;\nlet s = \"https://x\"; use crate::graph;\n";
        assert_eq!(
            targets(src),
            [
                (8, "crate::store".to_string()),
                (10, "crate::graph".to_string())
            ]
        );
    }

    #[test]
    fn a_forbidden_reference_is_reported_with_file_and_line() {
        let files = vec![
            (
                "src/store/x.rs".to_string(),
                "store".to_string(),
                "use crate::domain::Name;\nuse crate::jobs::capture;\n".to_string(),
            ),
            (
                "src/metrics.rs".to_string(),
                "metrics".to_string(),
                "use crate::metrics::X;\nuse crate::settings::S;\n".to_string(),
            ),
            (
                "src/domain/y.rs".to_string(),
                "domain".to_string(),
                "\n\nuse entity::tenant;\n".to_string(),
            ),
        ];
        let broken = violations(&files);
        assert_eq!(broken.len(), 3, "{broken:#?}");
        assert!(broken[0].starts_with("src/store/x.rs:2: `store` references `crate::jobs`"));
        assert!(broken[1].starts_with("src/metrics.rs:2: `metrics` references `crate::settings`"));
        assert!(broken[2].starts_with("src/domain/y.rs:3: `domain` references `entity::`"));
    }
}
