//! Discovery rules: the rule table as data (`fixtures/rules/default.toml`, then versions edited
//! through the API), each rule checked and run by the form engine.
//!
//! A rule is compiled into a form whose answer fields are the household facts ([`facts::schema`])
//! and whose calculations are the rule's values plus one `fires` calculation (its `when`). So an
//! unknown field, a type error or a cycle among values is refused by the same `check()` that
//! checks forms, and evaluating a rule is validating the facts as an answer set.

pub mod evaluate;
pub mod facts;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::form::{
    CompiledForm, Field, FieldKind, FormDefinition, Label, ValidationOutcome,
};
use jiuzhu_proto::rule::RuleDefinition;
use regex::Regex;
use serde_json::{Map, Value as Json};

use crate::db::repo::standards::RuleRow;
use crate::error::field_error;

/// The default rule table, loaded into an empty database (demo and first start alike).
pub const DEFAULT_TABLE: &str = include_str!("../../../fixtures/rules/default.toml");

const FIRES: &str = "fires";
const MAX_VALUES: usize = 50;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    rule: Vec<RuleDefinition>,
}

/// Parses a rule table file.
pub fn parse_table(text: &str) -> Result<Vec<RuleDefinition>, String> {
    toml::from_str::<Table>(text)
        .map(|t| t.rule)
        .map_err(|e| e.to_string())
}

/// A checked rule, ready to run.
pub struct CompiledRule {
    pub definition: RuleDefinition,
    pub version: u32,
    form: CompiledForm,
    /// Top-level facts the rule reads (`members.age` for member facts).
    pub reads: Vec<String>,
    /// Standards among them.
    pub needs: Vec<String>,
}

fn reference_pattern() -> Option<&'static Regex> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\$\{([a-z_][a-z0-9_]*)((?:\.[a-z_][a-z0-9_]*)*)\}").ok())
        .as_ref()
}

fn valid_name(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    s.len() <= max
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks a rule definition: every problem at once, with the paths `id`, `categories`,
/// `values[2].expr`, `when`.
pub fn compile(definition: RuleDefinition, version: u32) -> Result<CompiledRule, Vec<FieldError>> {
    let mut errors = Vec::new();
    if !valid_name(&definition.id, 48) {
        errors.push(field_error(
            "id",
            "invalid_name",
            "规则编号须为小写字母开头的 [a-z0-9_]，至多 48 个字符",
            "a rule id is [a-z][a-z0-9_]*, at most 48 characters",
        ));
    }
    if definition.title.zh.trim().is_empty() && definition.title.en.trim().is_empty() {
        errors.push(field_error(
            "title",
            "missing_label",
            "需要标题",
            "a title is needed",
        ));
    }
    if definition.values.len() > MAX_VALUES {
        errors.push(field_error(
            "values",
            "too_many",
            "计算值过多",
            "at most 50 values",
        ));
    }
    let facts = facts::schema();
    let fact_names: BTreeSet<&str> = facts.iter().map(|f| f.name.as_str()).collect();
    for (i, v) in definition.values.iter().enumerate() {
        if v.name == FIRES || fact_names.contains(v.name.as_str()) {
            errors.push(field_error(
                format!("values[{i}].name"),
                "duplicate_name",
                "计算值不能与事实同名",
                "a value cannot take the name of a fact",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut fields: Vec<Field> = facts;
    for v in &definition.values {
        let mut f = Field::new(
            v.name.clone(),
            FieldKind::Calculate,
            Label::new(&v.name, &v.name),
        );
        f.calculate = Some(v.expr.clone());
        fields.push(f);
    }
    let mut fires = Field::new(FIRES, FieldKind::Calculate, Label::new("触发", "fires"));
    fires.calculate = Some(format!("({}) = true", definition.when));
    fields.push(fires);
    let form = FormDefinition {
        key: format!("rule_{}", definition.id),
        title: definition.title.clone(),
        version: version.max(1),
        fields,
    };
    let compiled = form.check().map_err(|errs| {
        errs.into_iter()
            .map(|mut e| {
                e.field = rename_path(&e.field, &definition);
                e
            })
            .collect::<Vec<_>>()
    })?;
    let value_names: BTreeSet<&str> = definition.values.iter().map(|v| v.name.as_str()).collect();
    let mut reads = BTreeSet::new();
    if let Some(re) = reference_pattern() {
        let texts = std::iter::once(definition.when.as_str())
            .chain(definition.values.iter().map(|v| v.expr.as_str()));
        for text in texts {
            for cap in re.captures_iter(text) {
                let head = cap.get(1).map_or("", |m| m.as_str());
                let rest = cap.get(2).map_or("", |m| m.as_str());
                if value_names.contains(head) {
                    continue;
                }
                reads.insert(format!("{head}{rest}"));
            }
        }
    }
    let needs = facts::STANDARDS
        .iter()
        .filter(|s| reads.contains(**s))
        .map(|s| (*s).to_owned())
        .collect();
    Ok(CompiledRule {
        definition,
        version,
        form: compiled,
        reads: reads.into_iter().collect(),
        needs,
    })
}

/// The engine reports paths of the compiled form (`fields[24].calculate`, or a calculation's
/// name while evaluating); authors know `values[i].expr` and `when`.
fn rename_path(path: &str, d: &RuleDefinition) -> String {
    let facts = facts::schema().len();
    let head = path.split('.').next().unwrap_or(path);
    let index = head
        .strip_prefix("fields[")
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|n| n.parse::<usize>().ok());
    let value = match index {
        Some(i) if i >= facts => Some(i - facts),
        Some(_) => None,
        None => d
            .values
            .iter()
            .position(|v| v.name == head)
            .or_else(|| (head == FIRES).then_some(d.values.len())),
    };
    match value {
        Some(i) if i < d.values.len() => format!("values[{i}].expr"),
        Some(_) => "when".into(),
        None => path.to_owned(),
    }
}

/// What running a rule on one household's facts gave.
pub enum RuleRun {
    Fired {
        inputs: Map<String, Json>,
        computed: Map<String, Json>,
    },
    NotFired,
    StandardMissing(Vec<String>),
    Failed(Vec<FieldError>),
}

impl CompiledRule {
    pub fn run(&self, facts: &Json, today: chrono::NaiveDate) -> RuleRun {
        let missing = self.missing(facts);
        if !missing.is_empty() {
            return RuleRun::StandardMissing(missing);
        }
        let outcome = self.form.validate_at(facts, today);
        self.read(facts, &outcome, "")
    }

    /// Standards the rule reads that the facts lack.
    fn missing(&self, facts: &Json) -> Vec<String> {
        self.needs
            .iter()
            .filter(|s| facts.get(s.as_str()).is_none_or(Json::is_null))
            .cloned()
            .collect()
    }

    /// The rule's result from a validation of the facts in which its calculations are named
    /// `{prefix}{name}` (`prefix` is empty for the rule's own form).
    fn read(&self, facts: &Json, outcome: &ValidationOutcome, prefix: &str) -> RuleRun {
        let own = |field: &str| -> Option<String> {
            let name = field.strip_prefix(prefix)?;
            (name == FIRES || self.definition.values.iter().any(|v| v.name == name))
                .then(|| name.to_owned())
        };
        // Evaluation errors (division by zero, overflow) are reported on the calculation.
        let failures: Vec<FieldError> = outcome
            .errors
            .iter()
            .filter_map(|e| {
                let name = own(&e.field)?;
                let mut e = e.clone();
                e.field = rename_path(&name, &self.definition);
                Some(e)
            })
            .collect();
        let calculated = |name: &str| outcome.calculated.get(&format!("{prefix}{name}"));
        if calculated(FIRES) != Some(&Json::Bool(true)) {
            return if failures.is_empty() {
                RuleRun::NotFired
            } else {
                RuleRun::Failed(failures)
            };
        }
        let mut inputs = Map::new();
        for name in &self.reads {
            let value = match name.split_once('.') {
                None => facts.get(name).cloned().unwrap_or(Json::Null),
                Some((repeat, field)) => Json::Array(
                    facts
                        .get(repeat)
                        .and_then(Json::as_array)
                        .map(|items| {
                            items
                                .iter()
                                .map(|i| i.get(field).cloned().unwrap_or(Json::Null))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
            };
            inputs.insert(name.clone(), value);
        }
        let computed = self
            .definition
            .values
            .iter()
            .map(|v| {
                let value = calculated(&v.name).cloned().unwrap_or(Json::Null);
                (v.name.clone(), value)
            })
            .collect();
        RuleRun::Fired { inputs, computed }
    }
}

/// The rules in force, run together: one form holds the facts once and every rule's
/// calculations, each renamed `r{i}__{name}` (its references rewritten to match), so a
/// household's facts are validated once per evaluation rather than once per rule.
pub struct RuleSet {
    /// Enabled rules, in table order.
    pub rules: Vec<(i32, Arc<CompiledRule>)>,
    /// Stored versions that no longer compile (id, version, errors).
    pub broken: Vec<(String, i32, Vec<FieldError>)>,
    combined: Option<CompiledForm>,
}

impl RuleSet {
    fn prefix(i: usize) -> String {
        format!("r{i}__")
    }

    /// `${name}` of one of the rule's own values becomes `${r{i}__name}`; facts stay.
    fn rewrite(expr: &str, values: &BTreeSet<&str>, prefix: &str) -> String {
        match reference_pattern() {
            Some(re) => re
                .replace_all(expr, |cap: &regex::Captures<'_>| {
                    let head = cap.get(1).map_or("", |m| m.as_str());
                    let rest = cap.get(2).map_or("", |m| m.as_str());
                    if values.contains(head) {
                        format!("${{{prefix}{head}{rest}}}")
                    } else {
                        format!("${{{head}{rest}}}")
                    }
                })
                .into_owned(),
            None => expr.to_owned(),
        }
    }

    fn new(
        rules: Vec<(i32, Arc<CompiledRule>)>,
        broken: Vec<(String, i32, Vec<FieldError>)>,
    ) -> Self {
        let mut fields = facts::schema();
        for (i, (_, rule)) in rules.iter().enumerate() {
            let prefix = Self::prefix(i);
            let d = &rule.definition;
            let names: BTreeSet<&str> = d.values.iter().map(|v| v.name.as_str()).collect();
            for v in &d.values {
                let mut f = Field::new(
                    format!("{prefix}{}", v.name),
                    FieldKind::Calculate,
                    Label::new(&v.name, &v.name),
                );
                f.calculate = Some(Self::rewrite(&v.expr, &names, &prefix));
                fields.push(f);
            }
            let mut fires = Field::new(
                format!("{prefix}{FIRES}"),
                FieldKind::Calculate,
                Label::new("触发", "fires"),
            );
            fires.calculate = Some(format!(
                "({}) = true",
                Self::rewrite(&d.when, &names, &prefix)
            ));
            fields.push(fires);
        }
        let form = FormDefinition {
            key: "rule_set".into(),
            title: Label::new("规则集", "rule set"),
            version: 1,
            fields,
        };
        // Each rule compiled on its own, so the union does too; if it ever did not, the rules
        // run one by one.
        let combined = form.check().ok();
        RuleSet {
            rules,
            broken,
            combined,
        }
    }

    /// Every enabled rule's result on one household's facts, in the order of [`Self::rules`].
    pub fn run(&self, facts: &Json, today: chrono::NaiveDate) -> Vec<RuleRun> {
        let Some(form) = &self.combined else {
            return self
                .rules
                .iter()
                .map(|(_, r)| r.run(facts, today))
                .collect();
        };
        let outcome = form.validate_at(facts, today);
        self.rules
            .iter()
            .enumerate()
            .map(|(i, (_, rule))| {
                let missing = rule.missing(facts);
                if missing.is_empty() {
                    rule.read(facts, &outcome, &Self::prefix(i))
                } else {
                    RuleRun::StandardMissing(missing)
                }
            })
            .collect()
    }
}

/// The (id, version) list a [`RuleSet`] was built from.
type SetKey = Vec<(String, i32)>;

/// What evaluating the rules needs: the rule book, and the cipher that opens the accepted visits
/// the rules read (`AppState::rule_engine` lends one).
#[derive(Clone, Copy)]
pub struct Engine<'a> {
    pub book: &'a RuleBook,
    pub cipher: &'a crate::crypto::FieldCipher,
}

/// Compiled rule versions (immutable, so never invalidated).
#[derive(Default)]
pub struct RuleBook {
    compiled: Mutex<HashMap<(String, u32), Arc<CompiledRule>>>,
    /// The last rule set built, by the (id, version) list it was built from.
    set: Mutex<Option<(SetKey, Arc<RuleSet>)>>,
}

impl RuleBook {
    /// The compiled form of a stored version; a stored definition that no longer compiles (it
    /// was checked when stored) is reported as `Err`.
    pub fn get(
        &self,
        id: &str,
        version: u32,
        definition: &str,
    ) -> Result<Arc<CompiledRule>, Vec<FieldError>> {
        let key = (id.to_owned(), version);
        if let Ok(cache) = self.compiled.lock() {
            if let Some(rule) = cache.get(&key) {
                return Ok(rule.clone());
            }
        }
        let parsed: RuleDefinition = serde_json::from_str(definition).map_err(|_| {
            vec![field_error(
                "",
                "invalid_rule",
                "规则无法读取",
                "the stored rule cannot be read",
            )]
        })?;
        let rule = Arc::new(compile(parsed, version)?);
        if let Ok(mut cache) = self.compiled.lock() {
            cache.insert(key, rule.clone());
        }
        Ok(rule)
    }

    /// The set of the latest stored versions (`rows`, one per rule id, as
    /// [`crate::db::repo::standards::latest_rules`] gives them): built once per change.
    pub fn set(&self, rows: &[RuleRow]) -> Arc<RuleSet> {
        let key: SetKey = rows.iter().map(|r| (r.id.clone(), r.version)).collect();
        if let Ok(cache) = self.set.lock() {
            if let Some((k, set)) = cache.as_ref() {
                if *k == key {
                    return set.clone();
                }
            }
        }
        let mut rules = Vec::new();
        let mut broken = Vec::new();
        for row in rows {
            let version = u32::try_from(row.version).unwrap_or(0);
            match self.get(&row.id, version, &row.definition) {
                Ok(rule) if rule.definition.enabled => rules.push((row.version, rule)),
                Ok(_) => {}
                Err(errors) => broken.push((row.id.clone(), row.version, errors)),
            }
        }
        let set = Arc::new(RuleSet::new(rules, broken));
        if let Ok(mut cache) = self.set.lock() {
            *cache = Some((key, set.clone()));
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(income: f64, oop: f64) -> Json {
        json!({
            "status": "none", "urban": true, "has_visit": true, "member_count": 2,
            "household_income": income, "pc": income / 24.0, "medical_oop_12m": oop,
            "s": 1010.0, "x": 10000.0, "p": 0.4, "members": [],
        })
    }

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default()
    }

    #[test]
    fn the_default_table_compiles() {
        let table = parse_table(DEFAULT_TABLE).unwrap_or_default();
        assert!(table.len() >= 12, "{} rules", table.len());
        for rule in table {
            let id = rule.id.clone();
            if let Err(e) = compile(rule, 1) {
                panic!("rule {id}: {e:?}");
            }
        }
    }

    #[test]
    fn illness_fires_with_evidence() {
        let table = parse_table(DEFAULT_TABLE).unwrap_or_default();
        let illness = table.into_iter().find(|r| r.id == "illness");
        let Some(rule) = illness.and_then(|r| compile(r, 1).ok()) else {
            panic!("no illness rule");
        };
        assert_eq!(rule.needs, vec!["x".to_owned(), "p".to_owned()]);
        match rule.run(&facts(20_000.0, 9_000.0), today()) {
            RuleRun::Fired { inputs, computed } => {
                assert_eq!(inputs.get("medical_oop_12m"), Some(&json!(9000.0)));
                assert_eq!(computed.get("oop_share"), Some(&json!(0.45)));
            }
            _ => panic!("should fire at 45 %"),
        }
        assert!(matches!(
            rule.run(&facts(30_000.0, 9_000.0), today()),
            RuleRun::NotFired
        ));
        let mut no_p = facts(20_000.0, 9_000.0);
        if let Some(m) = no_p.as_object_mut() {
            m.remove("p");
        }
        match rule.run(&no_p, today()) {
            RuleRun::StandardMissing(m) => assert_eq!(m, vec!["p".to_owned()]),
            _ => panic!("p is missing"),
        }
    }

    fn describe(run: &RuleRun) -> String {
        match run {
            RuleRun::Fired { inputs, computed } => format!("fired {inputs:?} {computed:?}"),
            RuleRun::NotFired => "not_fired".into(),
            RuleRun::StandardMissing(m) => format!("missing {m:?}"),
            RuleRun::Failed(e) => format!("failed {e:?}"),
        }
    }

    #[test]
    fn the_set_runs_every_rule_as_it_runs_alone() {
        let table = parse_table(DEFAULT_TABLE).unwrap_or_default();
        let rules: Vec<(i32, Arc<CompiledRule>)> = table
            .into_iter()
            .filter_map(|r| compile(r, 1).ok())
            .map(|r| (1, Arc::new(r)))
            .collect();
        let set = RuleSet::new(rules.clone(), Vec::new());
        assert!(set.combined.is_some(), "the default table combines");
        let member = |age: i64, income: f64, health: &str| {
            json!({"age": age, "income": income, "health": health, "disability_level": null,
                   "work_status": "employed", "student_status": "none"})
        };
        let mut cases = vec![
            facts(20_000.0, 9_000.0),
            facts(30_000.0, 9_000.0),
            facts(0.0, 0.0),
            json!({"status": "dibao", "urban": false, "members": []}),
        ];
        let mut with_members = facts(6_000.0, 40_000.0);
        if let Some(m) = with_members.as_object_mut() {
            m.insert(
                "members".into(),
                json!([member(70, 0.0, "grave"), member(40, 6_000.0, "chronic")]),
            );
            m.insert("new_severe_disability".into(), json!(true));
            m.insert("earner_died".into(), json!(true));
        }
        cases.push(with_members);
        let mut fired = 0;
        for facts in &cases {
            let together = set.run(facts, today());
            assert_eq!(together.len(), rules.len());
            for ((_, rule), run) in rules.iter().zip(&together) {
                let alone = rule.run(facts, today());
                assert_eq!(
                    describe(run),
                    describe(&alone),
                    "rule {}",
                    rule.definition.id
                );
                fired += usize::from(matches!(run, RuleRun::Fired { .. }));
            }
        }
        assert!(fired > 0, "some rule fires on these facts");
    }

    #[test]
    fn a_value_reference_is_renamed_and_a_fact_is_not() {
        let names: BTreeSet<&str> = ["share"].into_iter().collect();
        assert_eq!(
            RuleSet::rewrite("${share} > ${p} and ${members.age} > 1", &names, "r3__"),
            "${r3__share} > ${p} and ${members.age} > 1"
        );
    }

    #[test]
    fn unknown_fields_and_cycles_are_refused() {
        let bad: RuleDefinition = match serde_json::from_value(json!({
            "id": "bad", "title": {"zh": "坏", "en": "bad"}, "categories": ["dibao"],
            "values": [{"name": "a", "expr": "${b} + 1"}, {"name": "b", "expr": "${a} + 1"}],
            "when": "${incomee} < ${s}"
        })) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let Err(errors) = compile(bad, 1) else {
            panic!("should be refused");
        };
        assert!(errors.iter().any(|e| e.field == "when"), "{errors:?}");
        assert!(
            errors.iter().any(|e| e.field.starts_with("values[")),
            "{errors:?}"
        );
    }
}
