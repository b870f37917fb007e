//! Just enough of PHP's `unserialize` for WordPress meta values (`_product_attributes`,
//! `wp_capabilities`): null, booleans, integers, floats, byte strings and arrays.

/// A PHP value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Php {
    Null,
    Bool(bool),
    Int(i64),
    Float(String),
    Str(Vec<u8>),
    Array(Vec<(Php, Php)>),
}

impl Php {
    /// The value under a string key of an array.
    pub(crate) fn get(&self, key: &str) -> Option<&Php> {
        match self {
            Php::Array(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Php::Str(s) if s == key.as_bytes()))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Strings as bytes, numbers as their digits.
    pub(crate) fn as_bytes(&self) -> Vec<u8> {
        match self {
            Php::Str(s) => s.clone(),
            Php::Int(n) => n.to_string().into_bytes(),
            Php::Float(f) => f.clone().into_bytes(),
            Php::Bool(b) => {
                if *b {
                    b"1".to_vec()
                } else {
                    Vec::new()
                }
            }
            Php::Null | Php::Array(_) => Vec::new(),
        }
    }

    /// Integers, booleans and numeric strings as a number.
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Php::Int(n) => Some(*n),
            Php::Bool(b) => Some(i64::from(*b)),
            Php::Str(s) => std::str::from_utf8(s).ok()?.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Parses one serialized value (the whole input).
pub(crate) fn unserialize(input: &[u8]) -> Result<Php, String> {
    let mut parser = Parser { input, at: 0 };
    let value = parser.value()?;
    if parser.at != input.len() {
        return Err(format!("trailing bytes at {}", parser.at));
    }
    Ok(value)
}

struct Parser<'a> {
    input: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn value(&mut self) -> Result<Php, String> {
        let kind = self.byte()?;
        if kind == b'N' {
            self.expect(b';')?;
            return Ok(Php::Null);
        }
        self.expect(b':')?;
        match kind {
            b'b' => Ok(Php::Bool(self.until(b';')? == b"1")),
            b'i' => self.number(b';').map(Php::Int),
            b'd' => Ok(Php::Float(
                String::from_utf8_lossy(self.until(b';')?).into_owned(),
            )),
            b's' => {
                let len = usize::try_from(self.number(b':')?).map_err(|_| "bad length")?;
                self.expect(b'"')?;
                let end = self.at.checked_add(len).filter(|&e| e <= self.input.len());
                let end = end.ok_or("string past the end")?;
                let s = self.input[self.at..end].to_vec();
                self.at = end;
                self.expect(b'"')?;
                self.expect(b';')?;
                Ok(Php::Str(s))
            }
            b'a' => {
                let count = self.number(b':')?;
                self.expect(b'{')?;
                let mut entries = Vec::new();
                for _ in 0..count {
                    let key = self.value()?;
                    let value = self.value()?;
                    entries.push((key, value));
                }
                self.expect(b'}')?;
                Ok(Php::Array(entries))
            }
            other => Err(format!("unsupported type {:?} at {}", other as char, self.at)),
        }
    }

    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.input.get(self.at).ok_or("unexpected end")?;
        self.at += 1;
        Ok(b)
    }

    fn expect(&mut self, want: u8) -> Result<(), String> {
        let got = self.byte()?;
        if got == want {
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", want as char, self.at - 1))
        }
    }

    fn until(&mut self, end: u8) -> Result<&[u8], String> {
        let start = self.at;
        let len = self.input[start..]
            .iter()
            .position(|&b| b == end)
            .ok_or("unterminated")?;
        self.at = start + len + 1;
        Ok(&self.input[start..start + len])
    }

    fn number(&mut self, end: u8) -> Result<i64, String> {
        let digits = self.until(end)?;
        std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "bad number".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_roles_parse() {
        let attrs = br#"a:1:{s:4:"size";a:6:{s:4:"name";s:4:"Size";s:5:"value";s:5:"S | M";s:8:"position";i:0;s:10:"is_visible";i:1;s:12:"is_variation";i:1;s:11:"is_taxonomy";i:0;}}"#;
        let parsed = unserialize(attrs).unwrap();
        let size = parsed.get("size").unwrap();
        assert_eq!(size.get("value").unwrap().as_bytes(), b"S | M");
        assert_eq!(size.get("is_variation").unwrap().as_int(), Some(1));
        let role = unserialize(br#"a:1:{s:8:"customer";b:1;}"#).unwrap();
        assert_eq!(role.get("customer"), Some(&Php::Bool(true)));
        assert!(unserialize(b"a:1:{s:9:\"customer\";b:1;}").is_err());
        assert_eq!(
            unserialize("s:5:\"Café\";".as_bytes()).unwrap(),
            Php::Str("Café".as_bytes().to_vec())
        );
    }
}
