//! Usernames, normalised so that names differing only by case or surrounding spaces are one name.

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("a username has 3 to 64 characters")]
    Length,
    #[error("a username may contain letters, digits and . _ - @ only")]
    Character,
}

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let normalised = raw.trim().to_lowercase();
        let len = normalised.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err(UsernameError::Length);
        }
        if !normalised
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err(UsernameError::Character);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_spaces_fold() {
        assert_eq!(Username::parse("  Wang.Li "), Username::parse("wang.li"));
        assert_eq!(
            Username::parse("王小明").map(|u| u.0),
            Ok("王小明".to_owned())
        );
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(
            Username::parse("a\u{200b}bc"),
            Err(UsernameError::Character)
        );
        assert_eq!(Username::parse("a b c"), Err(UsernameError::Character));
        assert_eq!(Username::parse(&"x".repeat(65)), Err(UsernameError::Length));
    }
}
