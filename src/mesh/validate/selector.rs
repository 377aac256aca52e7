//! Kubernetes label-selector expressions, parsed and matched as apimachinery `labels.Parse` does.
//!
//! The grammar is a comma-separated list of requirements: `key`, `!key`, `key=value`,
//! `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, and the integer comparisons
//! `key>1` and `key<1`. Keys must be label keys and values label values. Requirements are kept
//! sorted by key, and [`Selector`] prints in apimachinery's canonical form.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use super::error::{ValidationError, quoted};
use super::k8s::{validate_label_key, validate_label_value};

/// How a requirement compares a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    /// `key=value`
    Equals,
    /// `key==value`
    DoubleEquals,
    /// `key!=value`: true when the label is absent too.
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`: true when the label is absent too.
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>n`, integers only.
    GreaterThan,
    /// `key<n`, integers only.
    LessThan,
}

impl Operator {
    /// Maps a `metav1.LabelSelector` `matchExpressions` operator (`In`, `NotIn`, `Exists`,
    /// `DoesNotExist`).
    pub fn from_match_expression(op: &str) -> Option<Self> {
        match op {
            "In" => Some(Self::In),
            "NotIn" => Some(Self::NotIn),
            "Exists" => Some(Self::Exists),
            "DoesNotExist" => Some(Self::DoesNotExist),
            _ => None,
        }
    }
}

/// Where a selector finds a workload's labels.
pub trait Labels {
    /// The value of label `key`, if the label is present.
    fn label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<S: BuildHasher> Labels for HashMap<String, String, S> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl Labels for [(&str, &str)] {
    fn label(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// One `key op values` term of a selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

impl Requirement {
    /// Builds a requirement, checking it as apimachinery's `NewRequirement` does.
    ///
    /// `In`/`NotIn` need at least one value, the equality operators and `>`/`<` exactly one
    /// (an integer for `>`/`<`), `Exists`/`DoesNotExist` none.
    pub fn new(
        key: &str,
        operator: Operator,
        values: impl IntoIterator<Item = String>,
    ) -> Result<Self, ValidationError> {
        let values: BTreeSet<String> = values.into_iter().collect();
        let err = |why: String| Err(ValidationError::new("selector", key, why));
        validate_label_key(key)
            .map_err(|e| ValidationError::new("selector", key, e.allowed().to_owned()))?;
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return err("'in' and 'notin' need at least one value".into());
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                return err("equality needs exactly one value".into());
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return err("existence checks take no values".into());
            }
            Operator::GreaterThan | Operator::LessThan => {
                let number = values.iter().next().filter(|_| values.len() == 1);
                if number.and_then(|v| v.parse::<i64>().ok()).is_none() {
                    return err("'>' and '<' need exactly one integer value".into());
                }
            }
            _ => {}
        }
        for value in &values {
            if let Err(e) = validate_label_value(value) {
                return err(format!("value {}: {}", quoted(value), e.allowed()));
            }
        }
        Ok(Self { key: key.to_owned(), operator, values })
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(String::as_str)
    }

    /// Does a label set satisfy this requirement.
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        let value = labels.label(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotIn | Operator::NotEquals => {
                !value.is_some_and(|v| self.values.contains(v))
            }
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(want)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.iter().next().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan { have > want } else { have < want }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.values.iter().next().map_or("", String::as_str);
        let list = || self.values.iter().map(String::as_str).collect::<Vec<_>>().join(",");
        match self.operator {
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::Equals => write!(f, "{}={first}", self.key),
            Operator::DoubleEquals => write!(f, "{}=={first}", self.key),
            Operator::NotEquals => write!(f, "{}!={first}", self.key),
            Operator::GreaterThan => write!(f, "{}>{first}", self.key),
            Operator::LessThan => write!(f, "{}<{first}", self.key),
            Operator::In => write!(f, "{} in ({})", self.key, list()),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, list()),
        }
    }
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// Parses a selector expression such as `app=reviews,version in (v1,v2),!canary`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let tokens = lex(s)?;
        let mut parser = Parser { input: s, tokens, pos: 0 };
        let requirements = parser.parse()?;
        Ok(Self::from_requirements(requirements))
    }

    /// A selector of the given requirements (all must hold), sorted by key.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Self { requirements }
    }

    /// The selector that matches every label set.
    pub fn everything() -> Self {
        Self::default()
    }

    /// True when there are no requirements (so it matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Does a label set satisfy every requirement.
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Bang,
    Equals,
    DoubleEquals,
    NotEquals,
    GreaterThan,
    LessThan,
    Comma,
    Open,
    Close,
    End,
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Ident(s) => s.clone(),
            Token::Bang => "!".into(),
            Token::Equals => "=".into(),
            Token::DoubleEquals => "==".into(),
            Token::NotEquals => "!=".into(),
            Token::GreaterThan => ">".into(),
            Token::LessThan => "<".into(),
            Token::Comma => ",".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::End => "end of input".into(),
        }
    }
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Splits the input into tokens; `in` and `notin` stay identifiers until the parser asks for an
/// operator, as apimachinery's lexer contexts do.
fn lex(s: &str) -> Result<Vec<Token>, ValidationError> {
    let err = |why: String| Err(ValidationError::new("selector", s, why));
    if s.contains('\0') {
        return err("selectors must not contain NUL characters".into());
    }
    let bytes = s.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_space(b) {
            i += 1;
        } else if is_special(b) {
            // The longest run of symbols that is still a known token.
            let pair = bytes.get(i..i + 2);
            let (token, len) = match (b, pair) {
                (b'=', Some(b"==")) => (Token::DoubleEquals, 2),
                (b'!', Some(b"!=")) => (Token::NotEquals, 2),
                (b'=', _) => (Token::Equals, 1),
                (b'!', _) => (Token::Bang, 1),
                (b'>', _) => (Token::GreaterThan, 1),
                (b'<', _) => (Token::LessThan, 1),
                (b',', _) => (Token::Comma, 1),
                (b'(', _) => (Token::Open, 1),
                _ => (Token::Close, 1),
            };
            tokens.push(token);
            i += len;
        } else {
            let start = i;
            while i < bytes.len() && !is_special(bytes[i]) && !is_space(bytes[i]) {
                i += 1;
            }
            // Token boundaries are ASCII, so this slice falls on character boundaries.
            tokens.push(Token::Ident(s[start..i].to_owned()));
        }
    }
    tokens.push(Token::End);
    Ok(tokens)
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.tokens.get(self.pos).unwrap_or(&Token::End)
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn fail<T>(&self, why: String) -> Result<T, ValidationError> {
        Err(ValidationError::new("selector", self.input, why))
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, ValidationError> {
        let mut requirements = Vec::new();
        loop {
            match self.peek() {
                Token::End => return Ok(requirements),
                Token::Ident(_) | Token::Bang => {
                    requirements.push(self.requirement()?);
                    match self.next() {
                        Token::End => return Ok(requirements),
                        Token::Comma => {
                            if !matches!(self.peek(), Token::Ident(_) | Token::Bang) {
                                let found = self.peek().text();
                                return self.fail(format!(
                                    "expected a key after ',', found {}",
                                    quoted(&found)
                                ));
                            }
                        }
                        other => {
                            return self.fail(format!(
                                "expected ',' or the end, found {}",
                                quoted(&other.text())
                            ));
                        }
                    }
                }
                other => {
                    let found = other.text();
                    return self.fail(format!("expected a key or '!', found {}", quoted(&found)));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, ValidationError> {
        let negated = *self.peek() == Token::Bang;
        if negated {
            self.next();
        }
        let key = match self.next() {
            Token::Ident(key) => key,
            other => return self.fail(format!("expected a key, found {}", quoted(&other.text()))),
        };
        let build = |op, values: Vec<String>| {
            Requirement::new(&key, op, values)
                .map_err(|e| ValidationError::new("selector", self.input, e.allowed().to_owned()))
        };
        if negated {
            return build(Operator::DoesNotExist, Vec::new());
        }
        if matches!(self.peek(), Token::End | Token::Comma) {
            return build(Operator::Exists, Vec::new());
        }
        let operator = match self.next() {
            Token::Ident(word) if word == "in" => Operator::In,
            Token::Ident(word) if word == "notin" => Operator::NotIn,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::NotEquals => Operator::NotEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            other => {
                let found = other.text();
                return self.fail(format!(
                    "expected one of =, ==, !=, in, notin, >, < after {}, found {}",
                    quoted(&key),
                    quoted(&found)
                ));
            }
        };
        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        build(operator, values)
    }

    fn exact_value(&mut self) -> Result<Vec<String>, ValidationError> {
        match self.peek() {
            Token::End | Token::Comma => Ok(vec![String::new()]),
            Token::Ident(_) => match self.next() {
                Token::Ident(v) => Ok(vec![v]),
                _ => Ok(Vec::new()),
            },
            other => {
                let found = other.text();
                self.fail(format!("expected a value, found {}", quoted(&found)))
            }
        }
    }

    /// `( values )`, where empty entries are empty-string values, as apimachinery reads them.
    fn value_set(&mut self) -> Result<Vec<String>, ValidationError> {
        if self.next() != Token::Open {
            return self.fail("'in' and 'notin' take a list in parentheses, e.g. (a,b)".into());
        }
        let mut values = Vec::new();
        let mut expect_value = true;
        loop {
            match self.next() {
                Token::Ident(v) if expect_value => {
                    values.push(v);
                    expect_value = false;
                }
                Token::Comma => {
                    if expect_value {
                        values.push(String::new());
                    }
                    expect_value = true;
                }
                Token::Close => {
                    if expect_value {
                        values.push(String::new());
                    }
                    return Ok(values);
                }
                other => {
                    let found = other.text();
                    return self
                        .fail(format!("expected a value, ',' or ')', found {}", quoted(&found)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    // Expected verdicts and canonical forms follow apimachinery pkg/labels (selector.go and its
    // tests: TestSelectorParse, TestSelectorMatches, TestLexer).
    #[test]
    fn parse_table() {
        let rows: &[(&str, Option<&str>)] = &[
            ("", Some("")),
            ("  ", Some("")),
            ("x=a,y=b,z=c", Some("x=a,y=b,z=c")),
            ("z=c,x=a", Some("x=a,z=c")),
            ("x==a", Some("x==a")),
            ("x!=a", Some("x!=a")),
            ("x in (b,a)", Some("x in (a,b)")),
            ("x notin(a)", Some("x notin (a)")),
            ("x in ()", Some("x in ()")),
            ("x in (a,)", Some("x in (,a)")),
            ("x", Some("x")),
            ("!x", Some("!x")),
            ("x>1,y<2", Some("x>1,y<2")),
            ("x=", Some("x=")),
            ("in=notin", Some("in=notin")),
            ("app.kubernetes.io/name=web", Some("app.kubernetes.io/name=web")),
            ("x=a,", None),
            (",x=a", None),
            ("x=a b", None),
            ("x in a", None),
            ("x in (a", None),
            ("x>a", None),
            ("x>1.5", None),
            ("!x=a", None),
            ("x=(a)", None),
            ("x=a*", None),
            ("-x=a", None),
            ("x y", None),
            ("x=\0", None),
        ];
        for (input, want) in rows {
            let got = Selector::parse(input).map(|s| s.to_string()).ok();
            assert_eq!(got.as_deref(), *want, "{input:?}");
        }
    }

    #[test]
    fn matches_table() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        let rows: &[(&str, bool)] = &[
            ("", true),
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app=api", false),
            ("app!=api", true),
            ("missing!=x", true),
            ("app in (api,web)", true),
            ("app notin (web)", false),
            ("missing notin (web)", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("n>4", true),
            ("n<5", false),
            ("app>1", false),
            ("missing>1", false),
        ];
        for (input, want) in rows {
            let sel = Selector::parse(input).unwrap();
            assert_eq!(sel.matches(&l), *want, "{input:?}");
        }
    }

    #[test]
    fn requirements_built_directly() {
        let r = Requirement::new("os", Operator::In, ["linux".to_owned()]).unwrap();
        let pairs: &[(&str, &str)] = &[("os", "linux")];
        assert!(r.matches(pairs));
        assert!(Requirement::new("os", Operator::In, Vec::new()).is_err());
        assert!(Requirement::new("os", Operator::Exists, ["x".to_owned()]).is_err());
        assert_eq!(Operator::from_match_expression("NotIn"), Some(Operator::NotIn));
        assert_eq!(Operator::from_match_expression("notin"), None);
    }
}
