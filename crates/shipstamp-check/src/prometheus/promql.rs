//! Reading and extending the user's selector, as PromQL.

/// A plain series selector's metric name (maybe empty) and label matchers (maybe empty):
/// `orders_build_info{env="prod"}` is (`orders_build_info`, `env="prod"`). `None` for anything
/// else (an expression), or a brace inside a label value, which this reading would get wrong.
pub(super) fn split_selector(selector: &str) -> Option<(&str, &str)> {
    let name_end = selector
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(selector.len());
    let (name, rest) = selector.split_at(name_end);
    let matchers = if rest.is_empty() {
        ""
    } else {
        let inner = rest.strip_prefix('{')?.strip_suffix('}')?;
        if inner.contains(['{', '}']) {
            return None;
        }
        inner.trim()
    };
    (!(name.is_empty() && matchers.is_empty())).then_some((name, matchers))
}

/// The selector with `instance=~"…"` added, when it is a plain series selector
/// (`name`, `name{…}` or `{…}`): Prometheus then reads the history of those instances only.
pub(super) fn restrict(selector: &str, instances: &[&str]) -> Option<String> {
    let (name, matchers) = split_selector(selector)?;
    let pattern: Vec<String> = instances
        .iter()
        .map(|i| {
            i.chars()
                .flat_map(|c| match c {
                    // Escaped for the regex, then for the PromQL string.
                    '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                        vec!['\\', '\\', c]
                    }
                    '\\' => vec!['\\', '\\', '\\', '\\'],
                    '"' => vec!['\\', '"'],
                    c => vec![c],
                })
                .collect()
        })
        .collect();
    let separator = if matchers.is_empty() { "" } else { "," };
    Some(format!(
        "{name}{{{matchers}{separator}instance=~\"{}\"}}",
        pattern.join("|")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricting_a_selector_to_instances() {
        assert_eq!(
            restrict("orders_build_info", &["10.0.0.1:8080"]).as_deref(),
            Some(r#"orders_build_info{instance=~"10\\.0\\.0\\.1:8080"}"#)
        );
        assert_eq!(
            restrict(r#"orders_build_info{env="prod"}"#, &["a", "b"]).as_deref(),
            Some(r#"orders_build_info{env="prod",instance=~"a|b"}"#)
        );
        assert_eq!(
            restrict(r#"{__name__=~".+_build_info"}"#, &["a"]).as_deref(),
            Some(r#"{__name__=~".+_build_info",instance=~"a"}"#)
        );
        assert_eq!(restrict("sum(x)", &["a"]), None);
        assert_eq!(restrict(r#"x{a="}"}"#, &["a"]), None);
    }
}
