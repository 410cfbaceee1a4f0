//! The names of the Prometheus series a stamped service exports: written by the runtime
//! (`Stamp::build_info_metric`), read by the Prometheus source of `shipstamp-check`; and how a
//! label value is written, for them and for the dashboard's `/metrics`.

/// The suffix of the build series' name: `<package>_build_info`.
pub const BUILD_INFO_SUFFIX: &str = "_build_info";

/// The suffix of the start time series' name: `<package>_start_time_seconds`.
pub const START_TIME_SUFFIX: &str = "_start_time_seconds";

/// The labels of the build series, in the order they are written.
pub const BUILD_INFO_LABELS: [&str; 9] = [
    LABEL_PACKAGE,
    LABEL_VERSION,
    LABEL_REVISION,
    "short_revision",
    "branch",
    LABEL_DIRTY,
    "rustc",
    "target",
    "profile",
];

/// The package name.
pub const LABEL_PACKAGE: &str = "package";
/// The package version.
pub const LABEL_VERSION: &str = "version";
/// The full commit id.
pub const LABEL_REVISION: &str = "revision";
/// `true`, `false`, or empty when not known.
pub const LABEL_DIRTY: &str = "dirty";

/// Appends `value` to `out` as a label value is written between double quotes in the
/// Prometheus text format and in OpenMetrics: `\\`, `\"` and `\n` escaped.
///
/// ```
/// let mut out = String::from("name=\"");
/// shipstamp_format::push_label_value(&mut out, "a \"b\"\nc\\");
/// out.push('"');
/// assert_eq!(out, r#"name="a \"b\"\nc\\""#);
/// ```
pub fn push_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
