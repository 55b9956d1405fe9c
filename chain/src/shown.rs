//! Paths and names as messages show them (every tool's error line, and
//! pivot's paths in traces). A name may hold any byte but `/`
//! and NUL, and an image is free to choose them: a newline in a mount
//! target, or in a symlink's target that an error quotes, would split the
//! one line of an error (and let an image print lines of its own). Control
//! characters are shown escaped (`\n`, `\t`, `\u{1b}`).

use std::fmt::Display;
use std::path::Path;

/// `text` with every control character escaped.
pub fn text(text: impl Display) -> String {
    let text = text.to_string();
    if !text.chars().any(char::is_control) {
        return text;
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A path, lossily decoded, with every control character escaped.
pub fn path(path: &Path) -> String {
    text(path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert_eq!(path(Path::new("/a\nb")), "/a\\nb");
        assert_eq!(text("tab\there\u{1b}[1m"), "tab\\there\\u{1b}[1m");
        assert_eq!(
            path(Path::new("/plain/päth with space")),
            "/plain/päth with space"
        );
        assert!(!path(Path::new("/x\n\r\u{7f}")).contains(['\n', '\r', '\u{7f}']));
    }
}
