//! A line into words, as a POSIX shell splits it: blanks separate words,
//! single quotes keep everything, double quotes keep blanks, a backslash
//! outside quotes keeps the next character. No expansions, pipes or
//! redirections: this shell runs one command per line.

/// Most words one line may have.
const WORDS_MAX: usize = 256;

pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // Whether a word has started (`''` is an empty word).
    let mut started = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            '\'' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unexpected end of line: a ' is not closed".into()),
                    }
                }
            }
            '"' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unexpected end of line: a \" is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unexpected end of line: a \" is not closed".into()),
                    }
                }
            }
            '\\' => {
                started = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            '|' | '>' | '<' | ';' | '&' | '`' => {
                return Err(format!(
                "`{c}`: this shell runs one command per line, without pipes, redirections or lists"
            ))
            }
            c => {
                started = true;
                word.push(c);
            }
        }
        if words.len() > WORDS_MAX {
            return Err(format!("more than {WORDS_MAX} words on one line"));
        }
    }
    if started {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn words_quotes_and_escapes() {
        assert_eq!(
            split("  ping  -c 2 server ").unwrap(),
            ["ping", "-c", "2", "server"]
        );
        assert_eq!(
            split(r#"curl -w '%{http_code}\n' "http://a b" x\ y ''"#).unwrap(),
            ["curl", "-w", r"%{http_code}\n", "http://a b", "x y", ""]
        );
        assert!(split("echo 'open").is_err());
        assert!(split("ping server | head").unwrap_err().contains("pipes"));
    }
}
