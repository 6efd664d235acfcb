// The page's WGS-84 → GCJ-02 conversion against the reference values the server's own tests use
// (server/src/domain/geo/crs.rs, from the prcoords package): both sides must shift a point alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wgs84ToGcj02, gcj02ToWgs84, outsideChina } from './crs.js';

const close = (got, lat, lon, tol) => {
  assert.ok(Math.abs(got.lat - lat) < tol && Math.abs(got.lon - lon) < tol, `${JSON.stringify(got)} ≠ ${lat}, ${lon}`);
};

test('matches the published reference values the server is tested with', () => {
  close(wgs84ToGcj02(31.7806, 119.9741), 31.77856416858527, 119.97884758053056, 1e-10); // Changzhou
  close(wgs84ToGcj02(39.9087, 116.3975), 39.91010349934476, 116.40374357265176, 1e-10); // Beijing
});

test('the offset is a few hundred metres in China', () => {
  const p = { lat: 31.7806, lon: 119.9741 };
  const g = wgs84ToGcj02(p.lat, p.lon);
  const d = Math.hypot((g.lat - p.lat) * 111000, (g.lon - p.lon) * 111000 * Math.cos(p.lat * Math.PI / 180));
  assert.ok(d > 100 && d < 1000, `${d} m`);
});

test('round trips across China within 1e-7°', () => {
  let worst = 0;
  for (let i = 0; i < 40; i++) {
    for (let j = 0; j < 40; j++) {
      const [lat, lon] = [18 + i * 0.9, 74 + j * 1.5];
      const g = wgs84ToGcj02(lat, lon);
      const back = gcj02ToWgs84(g.lat, g.lon);
      worst = Math.max(worst, Math.abs(back.lat - lat), Math.abs(back.lon - lon));
    }
  }
  assert.ok(worst < 1e-7, `worst ${worst}`);
});

test('positions outside China are not shifted', () => {
  for (const [lat, lon] of [[48.8566, 2.3522], [-33.86, 151.21], [40.71, -74.0], [60.0, 120.0]]) {
    assert.ok(outsideChina(lat, lon));
    assert.deepEqual(wgs84ToGcj02(lat, lon), { lat, lon });
    assert.deepEqual(gcj02ToWgs84(lat, lon), { lat, lon });
  }
});
