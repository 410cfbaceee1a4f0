//! Series as Prometheus hands them out, borrowing their labels from its answer: from the query
//! API's JSON (through serde) or from `/federate`'s text exposition (parsed here: it is what makes
//! 100,000 series fast).

use std::borrow::Cow;
use std::fmt;

use shipstamp_format::{LABEL_DIRTY, LABEL_PACKAGE, LABEL_REVISION, LABEL_VERSION};

/// Labels the queries keep: who the instance is, and what it runs.
pub(super) const LABELS: [&str; 6] = [
    "instance",
    "job",
    LABEL_REVISION,
    LABEL_DIRTY,
    LABEL_VERSION,
    LABEL_PACKAGE,
];

/// The labels a series carries that matter here (the field names are the label names, as
/// `shipstamp_format` defines them: a test below holds them equal), borrowed from Prometheus' answer (which has
/// others, skipped without allocating).
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Labels<'a> {
    #[serde(rename = "__name__", borrow)]
    pub(super) name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) instance: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) job: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) revision: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) dirty: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) version: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) package: Option<Text<'a>>,
}

impl<'a> Labels<'a> {
    pub(super) fn get(&self, label: &str) -> Option<&str> {
        let value = match label {
            "__name__" => &self.name,
            "instance" => &self.instance,
            "job" => &self.job,
            LABEL_REVISION => &self.revision,
            LABEL_DIRTY => &self.dirty,
            LABEL_VERSION => &self.version,
            LABEL_PACKAGE => &self.package,
            _ => return None,
        };
        value.as_ref().map(|t| &*t.0)
    }

    /// Keeps `value` when `label` is one of those that matter here.
    pub(super) fn set(&mut self, label: &str, value: Cow<'a, str>) {
        let slot = match label {
            "__name__" => &mut self.name,
            "instance" => &mut self.instance,
            "job" => &mut self.job,
            LABEL_REVISION => &mut self.revision,
            LABEL_DIRTY => &mut self.dirty,
            LABEL_VERSION => &mut self.version,
            LABEL_PACKAGE => &mut self.package,
            _ => return,
        };
        *slot = Some(Text(value));
    }
}

/// A string of the answer: borrowed from its bytes, or made when it holds escapes. (serde
/// borrows a `Cow` only when it is not inside an `Option`.)
#[derive(Debug)]
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Owned(v))
            }
        }
        deserializer.deserialize_str(Visitor).map(Text)
    }
}

/// One series of an instant query's answer.
pub(super) struct Series<'a> {
    pub(super) labels: Labels<'a>,
    pub(super) value: f64,
}

/// One series per instance and build, as `group by (LABELS)` gives them: `/federate` hands
/// out every series, and two that differ only in other labels are one build.
pub(super) fn distinct_builds(series: Vec<Series<'_>>) -> Vec<Series<'_>> {
    let first: Vec<bool> = {
        let mut seen = std::collections::HashSet::with_capacity(series.len());
        series
            .iter()
            .map(|s| seen.insert(LABELS.map(|label| s.labels.get(label))))
            .collect()
    };
    series
        .into_iter()
        .zip(first)
        .filter_map(|(s, first)| first.then_some(s))
        .collect()
}

/// The samples of a text-format exposition, as `/federate` writes it, borrowing their labels
/// from it (a label value with escapes is decoded into its own string). `None` when a line is
/// not in that format.
pub(super) fn exposition(text: &str) -> Option<Vec<Series<'_>>> {
    let mut series = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_start_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
        let (name, mut rest) = line.split_at(name_end);
        if name.is_empty() {
            return None;
        }
        let mut labels = Labels::default();
        labels.set("__name__", Cow::Borrowed(name));
        if let Some(inner) = rest.strip_prefix('{') {
            rest = inner;
            loop {
                rest = rest.trim_start_matches([' ', '\t']);
                if let Some(after) = rest.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let (label, after) = rest.split_once('=')?;
                let (value, after) = quoted(after.trim_start().strip_prefix('"')?)?;
                labels.set(label.trim_end(), value);
                rest = after.trim_start_matches([' ', '\t']);
                if let Some(after) = rest.strip_prefix(',') {
                    rest = after;
                } else if !rest.starts_with('}') {
                    return None;
                }
            }
        }
        // The value, then maybe a timestamp (not needed: the sample is the latest).
        let value = rest.split_ascii_whitespace().next()?.parse().ok()?;
        series.push(Series { labels, value });
    }
    Some(series)
}

/// A label value up to its closing quote (`s` starts just after the opening one), and what
/// follows it. The format escapes `\\`, `\"` and a line feed as `\n`.
pub(super) fn quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let end = s.find(['"', '\\'])?;
    if s.as_bytes()[end] == b'"' {
        return Some((Cow::Borrowed(&s[..end]), &s[end + 1..]));
    }
    let mut value = String::from(&s[..end]);
    let mut chars = s[end..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((Cow::Owned(value), &s[end + i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn federated_text_lends_its_labels_and_decodes_escapes() {
        // As Prometheus' /federate writes it: a TYPE line per name, external labels added,
        // every sample with its timestamp.
        let text = "# TYPE orders_build_info untyped\n\
            orders_build_info{dirty=\"false\",env=\"prod\",instance=\"10.0.0.1:8080\",job=\"orders\",package=\"orders\",revision=\"3f9c2e1\",version=\"1.4.2\"} 1 1796177758000\n\
            orders_build_info{instance=\"a\\\\b \\\"c\\\"\\nd\",job=\"orders\",} 1\r\n\
            \n\
            # TYPE orders_start_time_seconds untyped\n\
            orders_start_time_seconds{instance=\"10.0.0.1:8080\",job=\"orders\"} 1.796091368e+09 1796177758000\n\
            orders_start_time_seconds NaN\n\
            up{ instance = \"x\" } +Inf\n";
        let series = exposition(text).unwrap();
        assert_eq!(series.len(), 5);
        let first = &series[0].labels;
        assert_eq!(first.get("__name__"), Some("orders_build_info"));
        assert_eq!(first.get("revision"), Some("3f9c2e1"));
        assert_eq!(first.get("dirty"), Some("false"));
        assert!(matches!(
            first.instance.as_ref().unwrap().0,
            Cow::Borrowed(_)
        ));
        let escaped = &series[1].labels;
        assert_eq!(escaped.get("instance"), Some("a\\b \"c\"\nd"));
        assert!(matches!(
            escaped.instance.as_ref().unwrap().0,
            Cow::Owned(_)
        ));
        assert_eq!(escaped.get("job"), Some("orders"));
        assert_eq!(series[2].value, 1_796_091_368.0);
        assert!(series[3].value.is_nan());
        assert_eq!(series[4].value, f64::INFINITY);
        assert_eq!(series[4].labels.get("instance"), Some("x"));
        assert_eq!(exposition("").unwrap().len(), 0);
        // Not the text format: the query API answers instead.
        for junk in [
            "<html><body>Not Found</body></html>",
            "{\"status\":\"success\"}",
            "orders_build_info{instance=\"x} 1",
            "orders_build_info{instance=\"x\" job=\"y\"} 1",
            "orders_build_info{instance} 1",
            "orders_build_info{instance=\"x\"}",
            "orders_build_info one",
        ] {
            assert!(exposition(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn federated_series_are_one_per_build() {
        let text = "b{instance=\"x\",job=\"j\",revision=\"r1\",pod=\"p1\"} 1\n\
            b{instance=\"x\",job=\"j\",revision=\"r1\",pod=\"p2\"} 1\n\
            b{instance=\"x\",job=\"j\",revision=\"r2\"} 1\n\
            b{instance=\"y\",job=\"j\",revision=\"r1\"} 1\n";
        let builds = distinct_builds(exposition(text).unwrap());
        let seen: Vec<_> = builds
            .iter()
            .map(|s| (s.labels.get("instance"), s.labels.get("revision")))
            .collect();
        assert_eq!(
            seen,
            [
                (Some("x"), Some("r1")),
                (Some("x"), Some("r2")),
                (Some("y"), Some("r1"))
            ]
        );
    }

    /// Differential: the samples of generated expositions, as this parser and
    /// `prometheus-parse` read them. (That parser splits label pairs on `,` and `=` and decodes
    /// no escapes, so the values here avoid those; escapes are tested above.)
    mod against_prometheus_parse {
        use super::*;
        use proptest::prelude::*;

        fn line() -> impl Strategy<Value = (String, Vec<(String, String)>, i64, Option<u64>)> {
            let label = prop_oneof![
                proptest::sample::select(LABELS.to_vec()).prop_map(str::to_owned),
                "[a-z][a-z_]{0,8}",
            ];
            (
                "[a-z_][a-z0-9_]{0,12}(_build_info)?",
                prop::collection::vec((label, "[A-Za-z0-9 ._:/@-]{0,16}"), 0..6),
                -1_000_000_000i64..4_000_000_000,
                proptest::option::of(1_600_000_000_000u64..1_900_000_000_000),
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            #[test]
            fn same_samples(lines in prop::collection::vec(line(), 0..12)) {
                let mut text = String::new();
                for (name, labels, value, timestamp) in &lines {
                    // One value per label name, as in a real exposition.
                    let mut seen = std::collections::HashSet::new();
                    let labels: Vec<String> = labels
                        .iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .map(|(k, v)| format!("{k}=\"{v}\""))
                        .collect();
                    text.push_str(name);
                    if !labels.is_empty() {
                        text.push_str(&format!("{{{}}}", labels.join(",")));
                    }
                    text.push_str(&format!(" {value}"));
                    if let Some(t) = timestamp {
                        text.push_str(&format!(" {t}"));
                    }
                    text.push('\n');
                }
                let ours = exposition(&text).expect("our parser reads it");
                let theirs = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
                    .expect("prometheus-parse reads it");
                prop_assert_eq!(ours.len(), theirs.samples.len());
                for (a, b) in ours.iter().zip(&theirs.samples) {
                    prop_assert_eq!(a.labels.get("__name__"), Some(b.metric.as_str()));
                    for label in LABELS {
                        prop_assert_eq!(a.labels.get(label), b.labels.get(label), "{}", label);
                    }
                    let value = match b.value {
                        prometheus_parse::Value::Untyped(v)
                        | prometheus_parse::Value::Gauge(v)
                        | prometheus_parse::Value::Counter(v) => v,
                        _ => f64::NAN,
                    };
                    prop_assert_eq!(a.value, value);
                }
            }
        }
    }

    #[test]
    fn the_fields_are_the_label_names() {
        let json = format!(
            r#"{{"{}":"r","{}":"d","{}":"v","{}":"p"}}"#,
            LABEL_REVISION, LABEL_DIRTY, LABEL_VERSION, LABEL_PACKAGE
        );
        let labels: Labels<'_> = serde_json::from_str(&json).unwrap();
        for (label, value) in [
            (LABEL_REVISION, "r"),
            (LABEL_DIRTY, "d"),
            (LABEL_VERSION, "v"),
            (LABEL_PACKAGE, "p"),
        ] {
            assert_eq!(labels.get(label), Some(value), "{label}");
        }
    }
}
