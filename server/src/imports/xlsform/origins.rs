//! From the pending fields to the definition's fields: expressions translated, and the origin of
//! each field recorded so that the engine's errors (`fields[3].calculate`) point back at cells.

use std::collections::HashMap;

use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::form::Field;

use super::expr::translate;
use super::workbook::cell_ref;
use super::{error, Import, Origin, Pending};

impl Import {
    /// Translates expressions and records origins, producing the definition's fields.
    pub(super) fn finish(
        &mut self,
        pending: Vec<Pending>,
        prefix: &str,
        scopes: &HashMap<String, (Vec<String>, u32, u32)>,
    ) -> Vec<Field> {
        let mut out = Vec::with_capacity(pending.len());
        for (slot, p) in pending.into_iter().enumerate() {
            let path = format!("{prefix}fields[{slot}]");
            let Pending {
                mut field,
                mut origin,
                scope,
                exprs,
                children,
            } = p;
            for (attr, src, col) in exprs {
                let place = cell_ref("survey", origin.row, col);
                match translate(&src, &scope, scopes) {
                    Ok(t) => {
                        if t != src {
                            origin.translated.insert(attr, t.clone());
                        }
                        origin.cols.insert(attr, col);
                        match attr {
                            "relevant" => field.relevant = Some(t),
                            "constraint" => field.constraint = Some(t),
                            _ => field.calculate = Some(t),
                        }
                    }
                    Err(e) => self.error(
                        place,
                        e.code,
                        format!(
                            "{} ({attr}, character {}): {}",
                            e.label(),
                            e.column,
                            e.message
                        ),
                    ),
                }
            }
            field.fields = self.finish(children, &format!("{path}."), scopes);
            self.origins.insert(path, origin);
            out.push(field);
        }
        out
    }

    /// Points an engine error at the sheet cell it came from.
    pub(super) fn locate(&self, e: FieldError) -> FieldError {
        let FieldError {
            field,
            code,
            message,
        } = e;
        if let Some(cell) = self.settings_cells.get(field.as_str()) {
            return error(cell.clone(), &code, message);
        }
        if field == "fields" {
            return error("survey", &code, message);
        }
        // Longest `fields[i](.fields[j])*` prefix that names a field, then the attribute.
        let mut best: Option<(&str, &Origin)> = None;
        for (path, origin) in &self.origins {
            let matches = field == *path
                || field
                    .strip_prefix(path.as_str())
                    .is_some_and(|rest| rest.starts_with('.'));
            if matches && best.is_none_or(|(b, _)| b.len() < path.len()) {
                best = Some((path.as_str(), origin));
            }
        }
        let Some((path, origin)) = best else {
            return error(field, &code, message);
        };
        let rest = field
            .get(path.len()..)
            .unwrap_or("")
            .trim_start_matches('.');
        let attr = rest.split(['.', '[']).next().unwrap_or("");
        if attr == "choices" {
            let index = rest
                .strip_prefix("choices[")
                .and_then(|r| r.split(']').next())
                .and_then(|i| i.parse::<usize>().ok());
            if let Some(&(row, col)) = index.and_then(|i| origin.choice_rows.get(i)) {
                return error(cell_ref("choices", row, col), &code, message);
            }
        }
        let col = origin.cols.get(attr).copied().unwrap_or(origin.type_col);
        let message = match origin.translated.get(attr) {
            Some(t) => format!("{message} — translated expression: {t}"),
            None => message,
        };
        error(cell_ref("survey", origin.row, col), &code, message)
    }
}
