//! Values crossing the storage boundary: parameters bound to a statement, and columns read back.
//!
//! Only portable types cross it (the invariant in `ARCHITECTURE.md`): 64-bit integers, text and
//! bytes, plus `bool` stored as 0/1. A `NULL` parameter carries its type, because PostgreSQL
//! must know what a parameter is even when it has no value.

use super::DbError;
use std::borrow::Cow;

/// The SQL type of a parameter, for typed `NULL`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    Bytes,
}

/// A parameter as bound to a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null(Kind),
    Int(i64),
    Text(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
}

impl Value<'_> {
    /// The same value, owning its data, so that it can cross to another thread.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null(k) => Value::Null(k),
            Value::Int(i) => Value::Int(i),
            Value::Text(t) => Value::Text(Cow::Owned(t.into_owned())),
            Value::Bytes(b) => Value::Bytes(Cow::Owned(b.into_owned())),
        }
    }
}

/// Anything that can be bound as a statement parameter.
pub trait Param: Sync {
    fn value(&self) -> Value<'_>;
}

/// The SQL type a parameter has when it is `NULL` (for `Option<Self>`).
pub trait Typed {
    fn kind() -> Kind;
}

impl Param for Value<'_> {
    fn value(&self) -> Value<'_> {
        match self {
            Value::Null(k) => Value::Null(*k),
            Value::Int(i) => Value::Int(*i),
            Value::Text(t) => Value::Text(Cow::Borrowed(t)),
            Value::Bytes(b) => Value::Bytes(Cow::Borrowed(b)),
        }
    }
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn value(&self) -> Value<'_> {
                Value::Int(i64::from(*self))
            }
        }

        impl Typed for $t {
            fn kind() -> Kind {
                Kind::Int
            }
        }
    )*};
}
int_param!(i64, i32, u32, i16, u16, u8);

impl Param for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Typed for bool {
    fn kind() -> Kind {
        Kind::Int
    }
}

impl Param for str {
    fn value(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl Typed for str {
    fn kind() -> Kind {
        Kind::Text
    }
}

impl Param for String {
    fn value(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl Typed for String {
    fn kind() -> Kind {
        Kind::Text
    }
}

impl Param for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Bytes(Cow::Borrowed(self))
    }
}

impl Typed for [u8] {
    fn kind() -> Kind {
        Kind::Bytes
    }
}

impl Param for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Bytes(Cow::Borrowed(self))
    }
}

impl Typed for Vec<u8> {
    fn kind() -> Kind {
        Kind::Bytes
    }
}

impl Param for uuid::Uuid {
    fn value(&self) -> Value<'_> {
        Value::Text(Cow::Owned(self.to_string()))
    }
}

impl Typed for uuid::Uuid {
    fn kind() -> Kind {
        Kind::Text
    }
}

impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}

impl<T: Typed + ?Sized> Typed for &T {
    fn kind() -> Kind {
        T::kind()
    }
}

impl<T: Param + Typed> Param for Option<T> {
    fn value(&self) -> Value<'_> {
        match self {
            Some(v) => v.value(),
            None => Value::Null(T::kind()),
        }
    }
}

/// One column of a result row, borrowed from the driver.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl ValueRef<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Int(_) => "an integer",
            ValueRef::Real(_) => "a real",
            ValueRef::Text(_) => "text",
            ValueRef::Bytes(_) => "bytes",
        }
    }
}

/// A Rust type read from one column.
pub trait FromValue: Sized {
    fn from_value(v: ValueRef<'_>) -> Result<Self, DbError>;
}

fn mismatch<T>(want: &str, got: ValueRef<'_>) -> Result<T, DbError> {
    Err(DbError::Decode(format!(
        "expected {want}, found {}",
        got.type_name()
    )))
}

impl FromValue for i64 {
    fn from_value(v: ValueRef<'_>) -> Result<Self, DbError> {
        match v {
            ValueRef::Int(i) => Ok(i),
            other => mismatch("an integer", other),
        }
    }
}

macro_rules! narrow_int {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: ValueRef<'_>) -> Result<Self, DbError> {
                let wide = i64::from_value(v)?;
                <$t>::try_from(wide)
                    .map_err(|_| DbError::Decode(format!("{wide} does not fit {}", stringify!($t))))
            }
        }
    )*};
}
narrow_int!(i32, u32, u64, i16, u16, u8, usize);

impl FromValue for bool {
    fn from_value(v: ValueRef<'_>) -> Result<Self, DbError> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(v: ValueRef<'_>) -> Result<Self, DbError> {
        match v {
            ValueRef::Real(r) => Ok(r),
            ValueRef::Int(i) => Ok(i as f64),
            other => mismatch("a number", other),
        }
    }
}

impl FromValue for String {
    fn from_value(v: ValueRef<'_>) -> Result<Self, DbError> {
        match v {
            ValueRef::Text(t) => Ok(t.to_owned()),
            other => mismatch("text", other),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: ValueRef<'_>) -> Result<Self, DbError> {
        match v {
            ValueRef::Bytes(b) => Ok(b.to_vec()),
            // SQLite may hand back text for a column declared as bytes when text was stored.
            ValueRef::Text(t) => Ok(t.as_bytes().to_vec()),
            other => mismatch("bytes", other),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: ValueRef<'_>) -> Result<Self, DbError> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A row as the drivers hand it over: column values by position.
pub trait RowAccess {
    fn column(&self, index: usize) -> Result<ValueRef<'_>, DbError>;
    /// How many columns the row has.
    fn width(&self) -> usize;
}

/// A Rust type read from a whole row; tuples of [`FromValue`] types implement it.
pub trait FromRow: Sized {
    fn from_row(row: &dyn RowAccess) -> Result<Self, DbError>;
}

fn column<T: FromValue>(row: &dyn RowAccess, index: usize) -> Result<T, DbError> {
    T::from_value(row.column(index)?).map_err(|e| match e {
        DbError::Decode(m) => DbError::Decode(format!("column {index}: {m}")),
        e => e,
    })
}

macro_rules! tuple_from_row {
    ($(($($name:ident $idx:tt),+))*) => {$(
        impl<$($name: FromValue),+> FromRow for ($($name,)+) {
            fn from_row(row: &dyn RowAccess) -> Result<Self, DbError> {
                Ok(($(column::<$name>(row, $idx)?,)+))
            }
        }
    )*};
}

tuple_from_row! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15)
}
