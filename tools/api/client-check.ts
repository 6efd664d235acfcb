// A few uses of the TypeScript types generated from proto/openapi.json by openapi-typescript
// (`.ci/api.sh` writes them to generated/jiuzhu-api.d.ts), so that `tsc --noEmit` checks that the
// generated client is usable, not only that it parses: a schema that goes missing or changes
// shape under these names fails the check.
import type { components, operations, paths } from "./generated/jiuzhu-api";

type Schemas = components["schemas"];

// The error envelope every failure answers with.
export function describe(e: Schemas["ErrorBody"]): string {
  const fields = (e.details ?? []).map((d: Schemas["FieldError"]) => `${d.field}: ${d.code}`);
  return [`${e.error}: ${e.message}`, ...fields].join("\n");
}

// Log-in: the request body and the answer of POST /api/v1/auth/login.
type LoginBody = paths["/api/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"];
type LoginOk = paths["/api/v1/auth/login"]["post"]["responses"][200]["content"]["application/json"];
export const login: LoginBody = { username: "admin", password: "secret-password" };
export function bearer(pair: LoginOk): string {
  return `Bearer ${pair.access_token}`;
}

// A household read: the path parameter and the 200 and 404 answers.
type GetHousehold = operations["get_household"];
export const householdPath: GetHousehold["parameters"]["path"] = { id: "0190c8a2-0000-7000-8000-000000000000" };
type Household = GetHousehold["responses"][200]["content"]["application/json"];
type Missing = GetHousehold["responses"][404]["content"]["application/json"];
export function headline(h: Household): string {
  return `${h.id} ${h.members.length}`;
}
export function missing(e: Missing): boolean {
  return e.error === "not_found";
}

// A form bound is a number or a date (the document once made an integer match two branches).
export const bounds: Schemas["Bound"][] = [3, 2.5, "2026-01-31"];

// The export's query: its enums were dangling references, which stopped generation.
type ExportQuery = NonNullable<operations["export"]["parameters"]["query"]>;
export const geojson: ExportQuery = { format: "geojson", encoding: "utf8", header: "en" };
