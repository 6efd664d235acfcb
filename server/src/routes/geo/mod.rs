//! `/geo/*`: coordinates and the point → grid lookup.

pub mod locate;

use jiuzhu_proto::geo::Crs as WireCrs;

use crate::domain::geo::Crs;

/// The wire CRS as the domain's.
pub fn domain_crs(crs: WireCrs) -> Crs {
    crs.into()
}
