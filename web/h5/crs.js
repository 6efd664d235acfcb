// WGS-84 (what a phone's GPS gives) to GCJ-02 (what a WeChat mini-program sends) and back. The
// formulas are the published ones, written as server/src/domain/geo/crs.rs writes them, so a point
// converted here lands where the server's inverse expects it. The page converts every position to
// GCJ-02 before sending, exactly as a mini-program's wx.getLocation({type: 'gcj02'}) would.

const A = 6378245.0; // Krasovsky 1940
const EE = 0.006693421622965943;

/** The coarse box where the offset applies; outside it GCJ-02 equals WGS-84. */
export function outsideChina(lat, lon) {
  return !(lon >= 72.004 && lon <= 137.8347) || !(lat >= 0.8293 && lat <= 55.8271);
}

function shiftLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
  r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
  r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320.0 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
  return r;
}

function shiftLon(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
  r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
  r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
  return r;
}

/** {lat, lon} in GCJ-02 of a WGS-84 position. */
export function wgs84ToGcj02(lat, lon) {
  if (outsideChina(lat, lon)) return { lat, lon };
  const x = lon - 105.0;
  const y = lat - 35.0;
  const radLat = lat / 180.0 * Math.PI;
  const magic = 1.0 - EE * Math.sin(radLat) ** 2;
  const sqrtMagic = Math.sqrt(magic);
  const dlat = shiftLat(x, y) * 180.0 / ((A * (1.0 - EE)) / (magic * sqrtMagic) * Math.PI);
  const dlon = shiftLon(x, y) * 180.0 / (A / sqrtMagic * Math.cos(radLat) * Math.PI);
  return { lat: lat + dlat, lon: lon + dlon };
}

/** {lat, lon} in WGS-84 of a GCJ-02 position, by fixed-point iteration as the server does. */
export function gcj02ToWgs84(lat, lon) {
  if (outsideChina(lat, lon)) return { lat, lon };
  let [la, lo] = [lat, lon];
  for (let i = 0; i < 20; i++) {
    const f = wgs84ToGcj02(la, lo);
    const [eLat, eLon] = [f.lat - lat, f.lon - lon];
    la -= eLat;
    lo -= eLon;
    if (Math.abs(eLat) < 1e-10 && Math.abs(eLon) < 1e-10) break;
  }
  return { lat: la, lon: lo };
}
