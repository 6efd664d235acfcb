//! XLSForm (ODK XPath) expressions translated, token by token, into the form engine's language.

use std::collections::HashMap;

use super::code;

#[derive(Debug)]
pub(super) struct TranslateError {
    pub(super) column: usize,
    pub(super) code: &'static str,
    pub(super) message: String,
}

impl TranslateError {
    pub(super) fn label(&self) -> &'static str {
        match self.code {
            code::UNSUPPORTED => "不支持",
            code::UNKNOWN_FIELD => "未知字段",
            _ => "表达式错误",
        }
    }
}

fn unsupported(column: usize, message: impl Into<String>) -> TranslateError {
    TranslateError {
        column,
        code: code::UNSUPPORTED,
        message: message.into(),
    }
}

fn syntax(column: usize, message: impl Into<String>) -> TranslateError {
    TranslateError {
        column,
        code: code::SYNTAX_ERROR,
        message: message.into(),
    }
}

/// Longest expression source accepted before translation (the engine's own cap applies after).
const MAX_SOURCE_CHARS: usize = 4_096;

/// Translates one ODK expression written at `scope` (enclosing repeats) into the engine's
/// language. Token by token: the two languages share operators, literals and `${name}`.
pub(super) fn translate(
    src: &str,
    scope: &[String],
    scopes: &HashMap<String, (Vec<String>, u32, u32)>,
) -> Result<String, TranslateError> {
    let chars: Vec<char> = src.chars().collect();
    if chars.len() > MAX_SOURCE_CHARS {
        return Err(syntax(
            1,
            format!("expression longer than {MAX_SOURCE_CHARS} characters"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '$' if next == Some('{') => {
                let Some(len) = chars[i + 2..].iter().position(|&d| d == '}') else {
                    return Err(syntax(column, "reference is not closed with '}'"));
                };
                let mut name: String = chars[i + 2..i + 2 + len].iter().collect();
                i += len + 3;
                // `${repeat}/${field}`: the field of every instance, as ODK writes it in sums.
                while chars.get(i) == Some(&'/')
                    && chars.get(i + 1) == Some(&'$')
                    && chars.get(i + 2) == Some(&'{')
                {
                    let Some(len) = chars[i + 3..].iter().position(|&d| d == '}') else {
                        return Err(syntax(i + 2, "reference is not closed with '}'"));
                    };
                    name = chars[i + 3..i + 3 + len].iter().collect();
                    i += len + 4;
                }
                out.push(reference(&name, column, scope, scopes)?);
            }
            '$' => return Err(syntax(column, "a reference is written ${name}")),
            '\'' | '"' => {
                let Some(len) = chars[i + 1..].iter().position(|&d| d == c) else {
                    return Err(syntax(column, "string is not closed"));
                };
                out.push(chars[i..i + len + 2].iter().collect());
                i += len + 2;
            }
            '.' if next == Some('.') => {
                return Err(unsupported(column, "'..' (parent paths)"));
            }
            '.' if next.is_some_and(|d| d.is_ascii_digit()) => {
                let end = scan(&chars, i + 1, |d| d.is_ascii_digit());
                out.push(format!("0{}", chars[i..end].iter().collect::<String>()));
                i = end;
            }
            '.' => {
                out.push(".".into());
                i += 1;
            }
            c if c.is_ascii_digit() => {
                let mut end = scan(&chars, i, |d| d.is_ascii_digit());
                if chars.get(end) == Some(&'.')
                    && chars.get(end + 1).is_some_and(char::is_ascii_digit)
                {
                    end = scan(&chars, end + 1, |d| d.is_ascii_digit());
                }
                out.push(chars[i..end].iter().collect());
                i = end;
            }
            '/' => {
                return Err(unsupported(
                    column,
                    "'/' (XPath paths, or division: ODK divides with 'div'; write ${name} \
                     for fields)",
                ))
            }
            '|' => return Err(unsupported(column, "'|' (node-set union)")),
            '[' | ']' => return Err(unsupported(column, "'[…]' (XPath predicates)")),
            '@' => return Err(unsupported(column, "'@' (attributes)")),
            '(' | ')' | ',' | '+' | '-' | '*' => {
                out.push(c.to_string());
                i += 1;
            }
            '!' | '<' | '>' if next == Some('=') => {
                out.push(format!("{c}="));
                i += 2;
            }
            '=' | '<' | '>' => {
                out.push(c.to_string());
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = word_end(&chars, i);
                let word: String = chars[i..end].iter().collect();
                i = end;
                if matches!(word.as_str(), "and" | "or" | "div" | "mod") {
                    out.push(word);
                    continue;
                }
                let call = chars[i..].iter().find(|d| !d.is_whitespace()) == Some(&'(');
                if !call {
                    match word.as_str() {
                        "true" | "false" => out.push(word),
                        _ => {
                            return Err(unsupported(
                                column,
                                format!(
                                    "bare name '{word}' (XPath paths); refer to fields as \
                                     ${{name}}"
                                ),
                            ))
                        }
                    }
                    continue;
                }
                let open = chars[i..]
                    .iter()
                    .position(|&d| d == '(')
                    .map_or(i, |p| i + p);
                match word.as_str() {
                    "true" | "false" => {
                        let close = scan(&chars, open + 1, char::is_whitespace);
                        if chars.get(close) != Some(&')') {
                            return Err(syntax(column, format!("{word}() takes no argument")));
                        }
                        out.push(word);
                        i = close + 1;
                    }
                    "position" => {
                        // ODK writes position(..); the engine's position() means the same.
                        let after = scan(&chars, open + 1, char::is_whitespace);
                        let after = if chars.get(after) == Some(&'.')
                            && chars.get(after + 1) == Some(&'.')
                        {
                            scan(&chars, after + 2, char::is_whitespace)
                        } else {
                            after
                        };
                        if chars.get(after) != Some(&')') {
                            return Err(unsupported(
                                column,
                                "position() of anything but the current instance (..)",
                            ));
                        }
                        out.push("position".into());
                        out.push("(".into());
                        out.push(")".into());
                        i = after + 1;
                    }
                    _ => {
                        out.push(function(&word, column)?.to_owned());
                    }
                }
            }
            other => {
                return Err(syntax(column, format!("unexpected character '{other}'")));
            }
        }
    }
    Ok(join(&out))
}

fn scan(chars: &[char], from: usize, keep: impl Fn(char) -> bool) -> usize {
    let mut end = from;
    while chars.get(end).is_some_and(|c| keep(*c)) {
        end += 1;
    }
    end
}

/// End of an XPath-ish name: letters, digits, `_`, `.`, `:`, and `-` when a letter follows
/// (`count-selected`, `jr:choice-name`; `x-1` stays a subtraction).
fn word_end(chars: &[char], from: usize) -> usize {
    let mut end = from;
    while let Some(&c) = chars.get(end) {
        let ok = c.is_ascii_alphanumeric()
            || c == '_'
            || c == ':'
            || (c == '.' && chars.get(end + 1).is_some_and(char::is_ascii_alphabetic))
            || (c == '-' && chars.get(end + 1).is_some_and(char::is_ascii_alphabetic));
        if !ok {
            break;
        }
        end += 1;
    }
    end
}

/// The engine's name for an ODK function, or why it is refused.
fn function(name: &str, column: usize) -> Result<&'static str, TranslateError> {
    Ok(match name {
        "if" => "if",
        "not" => "not",
        "coalesce" => "coalesce",
        "selected" => "selected",
        "count-selected" => "count_selected",
        "count" => "count",
        "sum" => "sum",
        "min" => "min",
        "max" => "max",
        "today" => "today",
        "date" => "date",
        "int" => "int",
        "round" => "round",
        "string-length" => "string_length",
        // Jiuzhu extension: whole years since a date.
        "age" => "age",
        "regex" => {
            return Err(unsupported(
                column,
                "regex() — use the Jiuzhu 'pattern' column for text patterns",
            ))
        }
        "instance" => {
            return Err(unsupported(
                column,
                "instance(…) (secondary instances and external data)",
            ))
        }
        n if n.starts_with("jr:") || n.contains(':') => {
            return Err(unsupported(
                column,
                format!("{n}() (jr: and prefixed functions)"),
            ))
        }
        n => {
            return Err(unsupported(
                column,
                format!("function {n}() (the form engine does not have it)"),
            ))
        }
    })
}

/// `${name}` as the engine must see it from `scope`: fields in repeats the expression is not
/// inside are reached by a path from the first repeat it is not inside (`${members.income}`).
fn reference(
    name: &str,
    column: usize,
    scope: &[String],
    scopes: &HashMap<String, (Vec<String>, u32, u32)>,
) -> Result<String, TranslateError> {
    let Some((target_scope, _, _)) = scopes.get(name) else {
        return Err(TranslateError {
            column,
            code: code::UNKNOWN_FIELD,
            message: format!("${{{name}}} names no field of the survey"),
        });
    };
    let shared = scope
        .iter()
        .zip(target_scope)
        .take_while(|(a, b)| a == b)
        .count();
    let mut path: Vec<&str> = target_scope[shared..].iter().map(String::as_str).collect();
    path.push(name);
    Ok(format!("${{{}}}", path.join(".")))
}

/// Tokens back to text: spaced, except around parentheses and before commas.
fn join(tokens: &[String]) -> String {
    let mut out = String::new();
    let mut prev: Option<&str> = None;
    for t in tokens {
        let tight = match prev {
            None => true,
            Some("(") => true,
            Some(p) => {
                t == ")"
                    || t == ","
                    || (t == "("
                        && p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && !matches!(p, "and" | "or" | "div" | "mod"))
            }
        };
        if !tight {
            out.push(' ');
        }
        out.push_str(t);
        prev = Some(t.as_str());
    }
    out
}
