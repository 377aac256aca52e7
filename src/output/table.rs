//! Plain tables in kubectl's style: upper-case headers, no borders, three spaces between columns.

use tabled::{
    builder::Builder,
    settings::{Padding, Style},
};

/// Renders `rows` under `headers`; each line ends without trailing spaces.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut builder = Builder::default();
    builder.push_record(headers.iter().map(|h| h.to_string()));
    for row in rows {
        builder.push_record(row.iter().cloned());
    }
    let mut table = builder.build();
    table.with(Style::empty()).with(Padding::new(0, 3, 0, 0));
    let mut out = String::new();
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_like_kubectl() {
        let text = render(
            &["NAMESPACE", "MODE"],
            &[vec!["shop".into(), "sidecar".into()], vec!["default".into(), "off".into()]],
        );
        assert_eq!(text, "NAMESPACE   MODE\nshop        sidecar\ndefault     off\n");
    }
}
