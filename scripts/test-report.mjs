// How `npm test` counts: each suite's report read into layers of passed, failed and skipped tests,
// every skip with its reason, and the rule for skips (scripts/test-all.mjs runs the suites).
import { relative } from 'node:path';

/** @typedef {{ test: string, reason: string }} Skip */
/** @typedef {{ name: string, passed: number, failed: number, skips: Skip[] }} Layer */

/**
 * A vitest JSON report as one layer. Vitest records no reason for a skip, so each has an empty one.
 * @param {string} name @param {any} report @param {string} root @returns {Layer}
 */
export function vitestLayer(name, report, root) {
  const skips = report.testResults.flatMap((/** @type {any} */ suite) =>
    suite.assertionResults
      .filter((/** @type {any} */ t) => t.status !== 'passed' && t.status !== 'failed')
      .map((/** @type {any} */ t) => ({ test: `${relative(root, suite.name)} > ${t.fullName}`, reason: '' })),
  );
  return { name, passed: report.numPassedTests, failed: report.numFailedTests, skips };
}

/**
 * pytest's JUnit XML as two layers by test path: `model` (the model engine's tests, tests/model) and `python`.
 * @param {string} xml @returns {Layer[]}
 */
export function junitLayers(xml) {
  /** @type {Layer} */ const python = { name: 'python', passed: 0, failed: 0, skips: [] };
  /** @type {Layer} */ const model = { name: 'model', passed: 0, failed: 0, skips: [] };
  for (const [, attrs = '', body = ''] of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attr = (/** @type {string} */ key) => decodeXml(new RegExp(`\\s${key}="([^"]*)"`).exec(attrs)?.[1] ?? '');
    const test = [attr('classname'), attr('name')].filter(Boolean).join('::');
    const layer = /(^|\.)tests\.model(\.|::|$)/.test(test) ? model : python;
    const skipped = /<skipped\b([^>]*?)(?:\/>|>([\s\S]*?)<\/skipped>)/.exec(body);
    if (/<(failure|error)\b/.test(body)) layer.failed += 1;
    else if (skipped) layer.skips.push({ test, reason: skipReason(skipped[1] ?? '', skipped[2] ?? '') });
    else layer.passed += 1;
  }
  return [python, model];
}

/** A skip's reason: its message, or for a skipped module (importorskip) the reason pytest keeps in the text. */
function skipReason(/** @type {string} */ attrs, /** @type {string} */ text) {
  const message = decodeXml(/message="([^"]*)"/.exec(attrs)?.[1] ?? '');
  if (message !== 'collection skipped') return message;
  return /Skipped: ([\s\S]*?)'?\)?\s*$/.exec(decodeXml(text))?.[1]?.trim() ?? '';
}

function decodeXml(/** @type {string} */ text) {
  return text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * The skips a layer may not have: any without a reason, and in a layer CI equips (`strictLayers`) any at all.
 * @param {Layer} layer @param {string[]} strictLayers @returns {Skip[]}
 */
export function refusedSkips(layer, strictLayers) {
  return layer.skips.filter((skip) => !skip.reason || strictLayers.includes(layer.name));
}

/**
 * The closing report: a line per layer with its skips and why, a total, and last the plain
 * "N passed, N failed" line CI reads. Refused skips count as failures.
 * @param {(Layer & { seconds?: number | null })[]} layers @param {string[]} strictLayers
 * @returns {{ lines: string[], passed: number, failed: number }}
 */
export function summarize(layers, strictLayers) {
  const row = (/** @type {string} */ name, /** @type {number} */ p, /** @type {number} */ f, /** @type {number} */ k) => `${name.padEnd(10)} ${p} passed, ${f} failed, ${k} skipped`;
  const lines = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const layer of layers) {
    const refused = refusedSkips(layer, strictLayers);
    const layerFailed = layer.failed + refused.length;
    const time = layer.seconds == null ? '' : ` (${layer.seconds.toFixed(1)} s)`;
    lines.push(`${row(layer.name, layer.passed, layerFailed, layer.skips.length)}${layerFailed === 0 ? '' : '  FAIL'}${time}`);
    for (const skip of layer.skips) {
      const why = skip.reason || 'no reason given, and a skip must say why';
      const strict = skip.reason && refused.includes(skip) ? ` (this layer is equipped here and must not skip)` : '';
      lines.push(`    ${refused.includes(skip) ? 'FAIL ' : ''}skipped ${skip.test}: ${why}${strict}`);
    }
    passed += layer.passed;
    failed += layerFailed;
    skipped += layer.skips.length;
  }
  lines.push(row('total', passed, failed, skipped), `${passed} passed, ${failed} failed`);
  return { lines, passed, failed };
}
