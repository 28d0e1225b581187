import { describe, expect, it } from 'vitest';
import { junitLayers, refusedSkips, summarize, vitestLayer } from '../../scripts/test-report.mjs';

// pytest's JUnit XML as pytest 9 writes it: a module skipped by importorskip, a marked skip, a
// runtime skip, a failure and passes.
const JUNIT = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="1" skipped="3" tests="6">
<testcase classname="" name="gpu-functions.tests.model.test_model_engine" time="0.000"><skipped message="collection skipped">('/repo/gpu-functions/tests/model/test_model_engine.py', 14, 'Skipped: the model engine tests need torch (requirements-model.txt)')</skipped></testcase>
<testcase classname="gpu-functions.tests.model.test_model_processing" name="test_frames" time="0.010" />
<testcase classname="gpu-functions.tests.test_api" name="test_health" time="0.010" />
<testcase classname="gpu-functions.tests.test_api" name="test_marked" time="0.000"><skipped type="pytest.skip" message="needs &quot;ffmpeg&quot;">/repo/x.py:3: needs "ffmpeg"</skipped></testcase>
<testcase classname="gpu-functions.tests.test_api" name="test_bare" time="0.000"><skipped type="pytest.skip" message="" /></testcase>
<testcase classname="gpu-functions.tests.test_api" name="test_broken" time="0.000"><failure message="assert 1 == 2">...</failure></testcase>
</testsuite></testsuites>`;

describe('npm test counting', () => {
  it('splits pytest results into the python and model layers, with each skip and its reason', () => {
    const [python, model] = junitLayers(JUNIT);
    expect(python).toEqual({
      name: 'python',
      passed: 1,
      failed: 1,
      skips: [
        { test: 'gpu-functions.tests.test_api::test_marked', reason: 'needs "ffmpeg"' },
        { test: 'gpu-functions.tests.test_api::test_bare', reason: '' },
      ],
    });
    expect(model).toEqual({
      name: 'model',
      passed: 1,
      failed: 0,
      skips: [{ test: 'gpu-functions.tests.model.test_model_engine', reason: 'the model engine tests need torch (requirements-model.txt)' }],
    });
  });

  it('reads vitest skips, which carry no reason', () => {
    const report = {
      numPassedTests: 2,
      numFailedTests: 0,
      testResults: [{ name: '/repo/test/node/a.test.ts', assertionResults: [{ status: 'passed', fullName: 'a' }, { status: 'passed', fullName: 'b' }, { status: 'skipped', fullName: 'c d' }, { status: 'todo', fullName: 'e' }] }],
    };
    expect(vitestLayer('node', report, '/repo')).toEqual({
      name: 'node',
      passed: 2,
      failed: 0,
      skips: [
        { test: 'test/node/a.test.ts > c d', reason: '' },
        { test: 'test/node/a.test.ts > e', reason: '' },
      ],
    });
  });

  it('fails a skip without a reason anywhere, and any skip in a layer CI equips', () => {
    const [python, model] = junitLayers(JUNIT) as [ReturnType<typeof junitLayers>[0], ReturnType<typeof junitLayers>[0]];
    expect(refusedSkips(python, []).map((s) => s.test)).toEqual(['gpu-functions.tests.test_api::test_bare']);
    expect(refusedSkips(model, [])).toEqual([]);
    expect(refusedSkips(model, ['model'])).toHaveLength(1);
  });

  it('prints passed, failed and skipped per layer and in total, reasons included, and ends with the line CI reads', () => {
    const layers = junitLayers(JUNIT);
    const local = summarize(layers, []);
    expect(local.lines).toEqual([
      'python     1 passed, 2 failed, 2 skipped  FAIL',
      '    skipped gpu-functions.tests.test_api::test_marked: needs "ffmpeg"',
      '    FAIL skipped gpu-functions.tests.test_api::test_bare: no reason given, and a skip must say why',
      'model      1 passed, 0 failed, 1 skipped',
      '    skipped gpu-functions.tests.model.test_model_engine: the model engine tests need torch (requirements-model.txt)',
      'total      2 passed, 2 failed, 3 skipped',
      '2 passed, 2 failed',
    ]);
    const ci = summarize(layers, ['model']);
    expect(ci.failed).toBe(3);
    expect(ci.lines).toContain('model      1 passed, 1 failed, 1 skipped  FAIL');
    expect(ci.lines.at(-1)).toBe('2 passed, 3 failed');
  });
});
