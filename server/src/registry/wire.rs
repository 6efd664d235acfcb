//! A sync page's households written straight from the database rows into the answer's JSON.
//!
//! A first sync sends about 30 households with 80 members. Reading each row into owned strings,
//! assembling proto structs and serialising them again was half of the server's CPU per sync
//! (one allocation per text column, copies, UUIDs and JSON columns parsed and written back). Here
//! each value is read borrowed from the database's own buffer and written once, in exactly the
//! bytes `serde_json` gives for [`jiuzhu_proto::household::Household`] (a test holds the two to the same bytes). Values are
//! still checked as [`super::read`] checks them: an id must be a UUID, an enum one of its wire
//! names, a JSON column one the registry wrote; a damaged row is an error, never a broken answer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::row::{Field, Row, RowIndex};
use diesel::sql_types::{BigInt, Bool, Date, Double, Integer, Timestamp};
use diesel::sqlite::Sqlite;
use jiuzhu_proto::household::{
    AssistanceStatus, DisabilityType, Gender, Health, Relation, StudentStatus, WorkStatus,
};
use jiuzhu_proto::wire_time;

use crate::db::repo::households::{self as households_repo, WireRows};
use crate::db::sqltime::{SqlDate, SqlTimestamp};
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};
use crate::registry::stored;
use crate::scope::Scope;

fn bad(what: &str) -> ApiError {
    ApiError::internal(anyhow::anyhow!("unreadable {what} in the database"))
}

/// What a backend's raw values are read as: text borrowed, the rest through diesel's own
/// `FromSql` (and this crate's [`SqlDate`] / [`SqlTimestamp`]).
pub trait WireBackend: Backend {
    fn text<T>(value: Self::RawValue<'_>, f: impl FnOnce(&str) -> T) -> deserialize::Result<T>;
    fn int(value: Self::RawValue<'_>) -> deserialize::Result<i32>;
    fn big_int(value: Self::RawValue<'_>) -> deserialize::Result<i64>;
    fn double(value: Self::RawValue<'_>) -> deserialize::Result<f64>;
    fn boolean(value: Self::RawValue<'_>) -> deserialize::Result<bool>;
    fn date(value: Self::RawValue<'_>) -> deserialize::Result<NaiveDate>;
    fn timestamp(value: Self::RawValue<'_>) -> deserialize::Result<NaiveDateTime>;
}

macro_rules! typed_values {
    ($db:ty) => {
        fn int(value: <$db as Backend>::RawValue<'_>) -> deserialize::Result<i32> {
            <i32 as FromSql<Integer, $db>>::from_sql(value)
        }
        fn big_int(value: <$db as Backend>::RawValue<'_>) -> deserialize::Result<i64> {
            <i64 as FromSql<BigInt, $db>>::from_sql(value)
        }
        fn double(value: <$db as Backend>::RawValue<'_>) -> deserialize::Result<f64> {
            <f64 as FromSql<Double, $db>>::from_sql(value)
        }
        fn boolean(value: <$db as Backend>::RawValue<'_>) -> deserialize::Result<bool> {
            <bool as FromSql<Bool, $db>>::from_sql(value)
        }
        fn date(value: <$db as Backend>::RawValue<'_>) -> deserialize::Result<NaiveDate> {
            <SqlDate as FromSql<Date, $db>>::from_sql(value).map(|d| d.0)
        }
        fn timestamp(value: <$db as Backend>::RawValue<'_>) -> deserialize::Result<NaiveDateTime> {
            <SqlTimestamp as FromSql<Timestamp, $db>>::from_sql(value).map(|t| t.0)
        }
    };
}

impl WireBackend for Sqlite {
    fn text<T>(mut value: Self::RawValue<'_>, f: impl FnOnce(&str) -> T) -> deserialize::Result<T> {
        Ok(f(value.read_text()))
    }
    typed_values!(Sqlite);
}

impl WireBackend for Pg {
    fn text<T>(value: Self::RawValue<'_>, f: impl FnOnce(&str) -> T) -> deserialize::Result<T> {
        Ok(f(std::str::from_utf8(value.as_bytes())?))
    }
    typed_values!(Pg);
}

/// One result row, read by column number.
struct Cells<'a, R>(&'a R);

impl<R> Cells<'_, R> {
    /// The column's raw value, `None` for NULL.
    fn read<'r, DB, T>(
        &self,
        idx: usize,
        what: &str,
        f: impl FnOnce(DB::RawValue<'_>) -> deserialize::Result<T>,
    ) -> ApiResult<Option<T>>
    where
        DB: WireBackend,
        R: Row<'r, DB> + RowIndex<usize>,
    {
        let field = self.0.get(idx).ok_or_else(|| bad(what))?;
        field
            .value()
            .map(|v| f(v).map_err(|_| bad(what)))
            .transpose()
    }

    fn text<'r, DB, T>(&self, idx: usize, what: &str, f: impl FnOnce(&str) -> T) -> ApiResult<T>
    where
        DB: WireBackend,
        R: Row<'r, DB> + RowIndex<usize>,
    {
        self.opt_text(idx, what, f)?.ok_or_else(|| bad(what))
    }

    fn opt_text<'r, DB, T>(
        &self,
        idx: usize,
        what: &str,
        f: impl FnOnce(&str) -> T,
    ) -> ApiResult<Option<T>>
    where
        DB: WireBackend,
        R: Row<'r, DB> + RowIndex<usize>,
    {
        self.read::<DB, T>(idx, what, |v| DB::text(v, f))
    }

    fn value<'r, DB, T>(
        &self,
        idx: usize,
        what: &str,
        f: impl FnOnce(DB::RawValue<'_>) -> deserialize::Result<T>,
    ) -> ApiResult<T>
    where
        DB: WireBackend,
        R: Row<'r, DB> + RowIndex<usize>,
    {
        self.read::<DB, T>(idx, what, f)?.ok_or_else(|| bad(what))
    }
}

/// The answer being written.
struct Out<'o>(&'o mut Vec<u8>);

impl Out<'_> {
    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn str(&mut self, s: &str) -> ApiResult<()> {
        serde_json::to_writer(&mut *self.0, s).map_err(ApiError::internal)
    }

    fn opt_str(&mut self, s: Option<&str>) -> ApiResult<()> {
        match s {
            Some(s) => self.str(s),
            None => {
                self.raw(b"null");
                Ok(())
            }
        }
    }

    fn value<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> ApiResult<()> {
        serde_json::to_writer(&mut *self.0, v).map_err(ApiError::internal)
    }

    /// A UUID as the proto types write it: checked, then lowercase and hyphenated.
    fn uuid(&mut self, s: &str) -> ApiResult<()> {
        let id = uuid::Uuid::try_parse(s).map_err(|_| bad("id"))?;
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        self.raw(b"\"");
        self.raw(id.hyphenated().encode_lower(&mut buf).as_bytes());
        self.raw(b"\"");
        Ok(())
    }

    fn date(&mut self, d: NaiveDate) -> ApiResult<()> {
        wire_time::date(&d, &mut serde_json::Serializer::new(&mut *self.0))
            .map_err(ApiError::internal)
    }

    fn timestamp(&mut self, t: NaiveDateTime) -> ApiResult<()> {
        wire_time::datetime(&t.and_utc(), &mut serde_json::Serializer::new(&mut *self.0))
            .map_err(ApiError::internal)
    }
}

/// Pieces of JSON written per household (its members, its status periods, its tags), each
/// household's pieces side by side in one buffer.
struct Pieces {
    buf: Vec<u8>,
    of: HashMap<String, Range<usize>>,
}

thread_local! {
    /// The buffers of this thread's last full sync, emptied, for its next one. Fresh buffers
    /// of this size come as fresh pages from the allocator, which the kernel zeroes on first
    /// touch: in a profile of a fresh server's first storm that zeroing was 5–13 % of its CPU,
    /// most of it for these buffers.
    static SPARE: RefCell<Vec<Pieces>> = const { RefCell::new(Vec::new()) };
}

/// Buffers kept for reuse: the four of one sync, none larger than a megabyte (an unusually large
/// sync does not pin its memory to the thread).
const SPARE_BUFFERS: usize = 4;
const SPARE_BYTES: usize = 1 << 20;

impl Pieces {
    /// Room for `households` households of about `bytes` each (a buffer grown by doubling would
    /// be copied several times over): a spare of this thread's if it has one.
    fn with_capacity(households: usize, bytes: usize) -> Self {
        let spare = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten();
        let mut pieces = spare.unwrap_or_else(|| Self {
            buf: Vec::new(),
            of: HashMap::new(),
        });
        pieces.buf.reserve(households * bytes);
        pieces.of.reserve(households);
        pieces
    }

    /// Starts the next piece of `household`: a comma if the household already has one.
    fn next<'p>(&'p mut self, household: &str) -> Out<'p> {
        let at = self.buf.len();
        match self.of.get_mut(household) {
            Some(range) if range.end == at => {
                self.buf.push(b',');
            }
            // The queries order by household, so a household's rows come together.
            _ => {
                self.of.insert(household.to_owned(), at..at);
            }
        }
        Out(&mut self.buf)
    }

    /// Ends the piece just written for `household`.
    fn done(&mut self, household: &str) {
        let end = self.buf.len();
        if let Some(range) = self.of.get_mut(household) {
            range.end = end;
        }
    }

    /// `[` the household's pieces `]`.
    fn write_array(&self, household: &str, out: &mut Out<'_>) {
        out.raw(b"[");
        if let Some(piece) = self.of.get(household).and_then(|r| self.buf.get(r.clone())) {
            out.raw(piece);
        }
        out.raw(b"]");
    }
}

impl Drop for Pieces {
    /// Hands the emptied buffers to [`SPARE`]; only plain vectors and maps are dropped in here,
    /// never another `Pieces`.
    fn drop(&mut self) {
        if self.buf.capacity() > SPARE_BYTES {
            return;
        }
        let mut buf = std::mem::take(&mut self.buf);
        let mut of = std::mem::take(&mut self.of);
        buf.clear();
        of.clear();
        // Fails only while the thread is ending, when the buffers just go.
        let _ = SPARE.try_with(move |spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                if spare.len() < SPARE_BUFFERS {
                    spare.push(Pieces { buf, of });
                }
            }
        });
    }
}

/// A member, as [`jiuzhu_proto::household::Member`] serialises.
/// Columns: household_id, id, name, relation, id_masked, birth_date, gender, health,
/// disability_type, disability_level, daily_living, work_status, student_status, income,
/// phone_masked.
fn member<'r, DB, R>(row: &R, pieces: &mut Pieces) -> ApiResult<()>
where
    DB: WireBackend,
    R: Row<'r, DB> + RowIndex<usize>,
{
    let c = Cells(row);
    let household = c.text::<DB, _>(0, "member", str::to_owned)?;
    let mut o = pieces.next(&household);
    c.text::<DB, _>(1, "member id", |id| {
        o.raw(b"{\"id\":");
        o.uuid(id)
    })??;
    c.text::<DB, _>(2, "name", |name| {
        o.raw(b",\"name\":");
        o.str(name)
    })??;
    let relation = c.text::<DB, _>(3, "relation", Relation::parse)?;
    o.raw(b",\"relation\":");
    o.str(relation.ok_or_else(|| bad("relation"))?.as_str())?;
    c.text::<DB, _>(4, "masked id", |masked| {
        o.raw(b",\"id_number_masked\":");
        o.str(masked)
    })??;
    o.raw(b",\"birth_date\":");
    o.date(c.value::<DB, _>(5, "birth date", DB::date)?)?;
    let gender = c.text::<DB, _>(6, "gender", Gender::parse)?;
    o.raw(b",\"gender\":");
    o.str(gender.ok_or_else(|| bad("gender"))?.as_str())?;
    let health = c.text::<DB, _>(7, "health", Health::parse)?;
    o.raw(b",\"health\":");
    o.str(health.ok_or_else(|| bad("health"))?.as_str())?;
    let disability = c
        .opt_text::<DB, _>(8, "disability", DisabilityType::parse)?
        .map(|d| d.ok_or_else(|| bad("disability")))
        .transpose()?;
    o.raw(b",\"disability_type\":");
    o.opt_str(disability.map(DisabilityType::as_str))?;
    let level = c.read::<DB, _>(9, "disability level", DB::int)?;
    o.raw(b",\"disability_level\":");
    o.value(&level.map(|l| l as u8))?;
    let daily = c.text::<DB, _>(10, "daily living", stored::daily_living)?;
    o.raw(b",\"daily_living\":");
    o.value(&daily.ok_or_else(|| bad("daily living"))?)?;
    let work = c.text::<DB, _>(11, "work status", WorkStatus::parse)?;
    o.raw(b",\"work_status\":");
    o.str(work.ok_or_else(|| bad("work status"))?.as_str())?;
    let student = c.text::<DB, _>(12, "student status", StudentStatus::parse)?;
    o.raw(b",\"student_status\":");
    o.str(student.ok_or_else(|| bad("student status"))?.as_str())?;
    let income = c.text::<DB, _>(13, "income", stored::income)?;
    o.raw(b",\"annual_income\":");
    o.value(&income.ok_or_else(|| bad("income"))?)?;
    o.raw(b",\"phone_masked\":");
    c.opt_text::<DB, _>(14, "masked phone", |p| o.str(p))?
        .transpose()?
        .unwrap_or_else(|| o.raw(b"null"));
    o.raw(b"}");
    pieces.done(&household);
    Ok(())
}

/// A status period, as [`jiuzhu_proto::household::StatusPeriod`] serialises.
/// Columns: household_id, status, from_date, to_date, note.
fn period<'r, DB, R>(row: &R, pieces: &mut Pieces) -> ApiResult<()>
where
    DB: WireBackend,
    R: Row<'r, DB> + RowIndex<usize>,
{
    let c = Cells(row);
    let household = c.text::<DB, _>(0, "status period", str::to_owned)?;
    let mut o = pieces.next(&household);
    let status = c.text::<DB, _>(1, "status", AssistanceStatus::parse)?;
    o.raw(b"{\"status\":");
    o.str(status.ok_or_else(|| bad("status"))?.as_str())?;
    o.raw(b",\"from\":");
    o.date(c.value::<DB, _>(2, "status from", DB::date)?)?;
    o.raw(b",\"to\":");
    match c.read::<DB, _>(3, "status to", DB::date)? {
        Some(d) => o.date(d)?,
        None => o.raw(b"null"),
    }
    c.text::<DB, _>(4, "status note", |note| {
        o.raw(b",\"note\":");
        o.str(note)
    })??;
    o.raw(b"}");
    pieces.done(&household);
    Ok(())
}

/// A tag. Columns: household_id, tag.
fn tag<'r, DB, R>(row: &R, pieces: &mut Pieces) -> ApiResult<()>
where
    DB: WireBackend,
    R: Row<'r, DB> + RowIndex<usize>,
{
    let c = Cells(row);
    let household = c.text::<DB, _>(0, "tag", str::to_owned)?;
    let mut o = pieces.next(&household);
    c.text::<DB, _>(1, "tag", |t| o.str(t))??;
    pieces.done(&household);
    Ok(())
}

/// The parts of a household written apart from its own row.
struct Parts {
    members: Pieces,
    history: Pieces,
    tags: Pieces,
}

/// A household, as [`Household`] serialises (no warnings), into `pieces` under its id.
/// Columns: id, external_id, address, lat, lon, grid_id, grid_overridden, status, notes,
/// head_member_id, version, created_at, updated_at, grid code.
fn household<'r, DB, R>(row: &R, parts: &Parts, pieces: &mut Pieces) -> ApiResult<()>
where
    DB: WireBackend,
    R: Row<'r, DB> + RowIndex<usize>,
{
    let c = Cells(row);
    let id = c.text::<DB, _>(0, "household id", str::to_owned)?;
    let mut o = pieces.next(&id);
    o.raw(b"{\"id\":");
    o.uuid(&id)?;
    o.raw(b",\"external_id\":");
    c.opt_text::<DB, _>(1, "external id", |e| o.str(e))?
        .transpose()?
        .unwrap_or_else(|| o.raw(b"null"));
    c.text::<DB, _>(2, "address", |a| {
        o.raw(b",\"address\":");
        o.str(a)
    })??;
    o.raw(b",\"location\":");
    let lat = c.read::<DB, _>(3, "latitude", DB::double)?;
    let lon = c.read::<DB, _>(4, "longitude", DB::double)?;
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            o.raw(b"{\"lat\":");
            o.value(&lat)?;
            o.raw(b",\"lon\":");
            o.value(&lon)?;
            o.raw(b",\"crs\":null}");
        }
        _ => o.raw(b"null"),
    }
    c.text::<DB, _>(5, "grid id", |g| {
        o.raw(b",\"grid_id\":");
        o.uuid(g)
    })??;
    c.text::<DB, _>(13, "grid code", |g| {
        o.raw(b",\"grid_code\":");
        o.str(g)
    })??;
    o.raw(b",\"grid_overridden\":");
    o.value(&c.value::<DB, _>(6, "grid overridden", DB::boolean)?)?;
    let status = c.text::<DB, _>(7, "status", AssistanceStatus::parse)?;
    o.raw(b",\"status\":");
    o.str(status.ok_or_else(|| bad("status"))?.as_str())?;
    o.raw(b",\"status_history\":");
    parts.history.write_array(&id, &mut o);
    o.raw(b",\"tags\":");
    parts.tags.write_array(&id, &mut o);
    c.text::<DB, _>(8, "notes", |n| {
        o.raw(b",\"notes\":");
        o.str(n)
    })??;
    o.raw(b",\"head_member_id\":");
    c.opt_text::<DB, _>(9, "head of household", |h| o.uuid(h))?
        .transpose()?
        .unwrap_or_else(|| o.raw(b"null"));
    o.raw(b",\"members\":");
    parts.members.write_array(&id, &mut o);
    o.raw(b",\"version\":");
    o.value(&c.value::<DB, _>(10, "version", DB::big_int)?)?;
    o.raw(b",\"created_at\":");
    o.timestamp(c.value::<DB, _>(11, "created at", DB::timestamp)?)?;
    o.raw(b",\"updated_at\":");
    o.timestamp(c.value::<DB, _>(12, "updated at", DB::timestamp)?)?;
    o.raw(b"}");
    pieces.done(&id);
    Ok(())
}

/// Writes each row [`households_repo::wire_rows`] reads: the parts first, then the households.
struct Sink {
    parts: Parts,
    written: Pieces,
}

impl<DB: WireBackend> WireRows<DB, ApiError> for Sink {
    fn member<'r, R>(&mut self, row: &R) -> ApiResult<()>
    where
        R: Row<'r, DB> + RowIndex<usize>,
    {
        member(row, &mut self.parts.members)
    }

    fn period<'r, R>(&mut self, row: &R) -> ApiResult<()>
    where
        R: Row<'r, DB> + RowIndex<usize>,
    {
        period(row, &mut self.parts.history)
    }

    fn tag<'r, R>(&mut self, row: &R) -> ApiResult<()>
    where
        R: Row<'r, DB> + RowIndex<usize>,
    {
        tag(row, &mut self.parts.tags)
    }

    fn household<'r, R>(&mut self, row: &R) -> ApiResult<()>
    where
        R: Row<'r, DB> + RowIndex<usize>,
    {
        household(row, &self.parts, &mut self.written)
    }
}

/// Appends to `out` the JSON array of those of the households `ids` (no repeats) that exist and
/// are in scope, in the order of `ids`: exactly what [`super::read::households`] returns,
/// serialised, from the rows of [`households_repo::wire_rows`] (four statements whatever the
/// number of ids).
pub fn households(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
    out: &mut Vec<u8>,
) -> ApiResult<()> {
    if ids.is_empty() {
        out.extend_from_slice(b"[]");
        return Ok(());
    }
    // Sizes from the demo city's full syncs: about 2.5 members of ~420 bytes per household, a
    // household of ~900 bytes besides its members.
    let n = ids.len();
    let parts = Parts {
        members: Pieces::with_capacity(n, 1536),
        history: Pieces::with_capacity(n, 128),
        tags: Pieces::with_capacity(n, 64),
    };
    let mut sink = Sink {
        parts,
        written: Pieces::with_capacity(n, 3072),
    };
    households_repo::wire_rows(conn, scope, ids, &mut sink)?;
    let written = sink.written;
    out.reserve(written.buf.len() + n + 2);
    let mut o = Out(out);
    o.raw(b"[");
    let mut first = true;
    for id in ids {
        if let Some(piece) = written.of.get(id).and_then(|r| written.buf.get(r.clone())) {
            if !first {
                o.raw(b",");
            }
            first = false;
            o.raw(piece);
        }
    }
    o.raw(b"]");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn write(pieces: &mut Pieces, household: &str, text: &str) {
        pieces.next(household).str(text).unwrap();
        pieces.done(household);
    }

    fn array(pieces: &Pieces, household: &str) -> String {
        let mut buf = Vec::new();
        pieces.write_array(household, &mut Out(&mut buf));
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn spare_buffers_come_back_empty() {
        let mut first = Pieces::with_capacity(2, 4096);
        write(&mut first, "a", "一");
        write(&mut first, "a", "二");
        write(&mut first, "b", "三");
        assert_eq!(array(&first, "a"), r#"["一","二"]"#);
        assert_eq!(array(&first, "b"), r#"["三"]"#);
        let at = first.buf.as_ptr();
        drop(first);

        // The same buffer, emptied: nothing of the last sync shows in the next.
        let mut next = Pieces::with_capacity(1, 16);
        assert_eq!(next.buf.as_ptr(), at);
        assert!(next.buf.is_empty() && next.of.is_empty());
        assert!(next.buf.capacity() >= 2 * 4096);
        assert_eq!(array(&next, "a"), "[]");
        write(&mut next, "b", "四");
        assert_eq!(array(&next, "b"), r#"["四"]"#);
        drop(next);

        // A buffer grown past the limit is not kept.
        let spares = || SPARE.with(|s| s.borrow().len());
        assert_eq!(spares(), 1);
        let mut large = Pieces::with_capacity(1, SPARE_BYTES + 1);
        assert_eq!(spares(), 0);
        write(&mut large, "c", "五");
        drop(large);
        assert_eq!(spares(), 0);
    }
}
