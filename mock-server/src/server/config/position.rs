//! Where in the config file a problem is: 1-based lines and columns of byte offsets, and the
//! ` (line N)` that ends a bad value's message.

/// ` (line N)` when the line is known, else nothing.
pub(super) fn line_suffix(line: Option<usize>) -> String {
    line.map(|n| format!(" (line {n})")).unwrap_or_default()
}

/// The 1-based line of byte `offset` in `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// `line L, column C` (1-based, columns in characters) of byte `offset` in `text`.
pub(super) fn position(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    format!("line {}, column {column}", line_of(text, offset))
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use crate::server::config::ConfigError;
    use crate::server::config::tests::apply_err;

    #[test]
    fn syntax_errors_keep_tomls_position() {
        let err = apply_err("[server]\nbind = \n");
        let text = err.to_string();
        assert!(text.starts_with("config file x.toml: "), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert_eq!(err.key(), None);

        let err = apply_err("server = 3\n");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");

        // toml's quoted source line is left out: it could be the secret's.
        let err = apply_err("[settings]\nJITSI_JWT_SECRET = s3cret\n");
        let text = err.to_string();
        assert!(
            text.starts_with("config file x.toml: TOML parse error at line 2, column 20: "),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
