/** Modes and GPU function names are declared once (src/gpu/contract.ts); every list derived from them must agree. */
import { describe, expect, it } from 'vitest';
import { GPU_FUNCTION_CONTRACT, GPU_FUNCTIONS, GpuClass, InfoResponse, MODES } from '../../src/gpu/contract';
import { GpuCostModel } from '../../src/gpu/cost-model';
import { GPU_TARGETS } from '../../src/cli/gpu';
import { openApiDocument } from '../../src/openapi/document';
import { SignedUrls, VideoView } from '../../src/openapi/shapes';

describe('declared once', () => {
  it('the CLI targets every GPU function as a Modal function of its name, besides the web endpoint and the GPU classes they fan out to', () => {
    const functions = GPU_TARGETS.filter((t) => t.kind === 'function').map((t) => t.name);
    expect(functions.filter((name) => name !== 'web')).toEqual([...GPU_FUNCTIONS]);
    // A class is looked up by one of its methods (modal_app.py is checked to define each: test_model_modal_app.py).
    expect(GPU_TARGETS.filter((t) => t.kind === 'cls').every((t) => typeof t.method === 'string')).toBe(true);
  });

  it('the CLI targets exactly the GPU classes the contract functions say they call', () => {
    const used = new Set(GPU_FUNCTIONS.flatMap((fn): readonly string[] => GPU_FUNCTION_CONTRACT[fn].gpuClasses));
    expect(new Set(GPU_TARGETS.filter((t) => t.kind === 'cls').map((t) => t.name))).toEqual(used);
    expect([...used].sort()).toEqual([...GpuClass.options].sort()); // no class declared that no function calls
  });

  it('the cost model and /info accept exactly the contract functions', () => {
    const engine = GpuCostModel.shape.engines.valueType.shape;
    expect(Object.keys(engine).filter((k) => !['callLimitSeconds', 'nativeFps', 'nativeMaxPixels'].includes(k))).toEqual([...GPU_FUNCTIONS]);
    // /info lists names, not an enum (a backend serving a newer function still answers): each contract name is one.
    for (const fn of GPU_FUNCTIONS) expect(InfoResponse.shape.functions.element.safeParse(fn).success, fn).toBe(true);
    expect(InfoResponse.shape.functions.element.safeParse('Encode!').success).toBe(false);
  });

  it('the API document, the signed-URL shape and the view links name exactly the contract modes', () => {
    const doc = openApiDocument() as { paths: Record<string, { get?: { parameters?: { name: string; schema: { enum?: string[] } }[] } }> };
    const modeParams = Object.values(doc.paths).flatMap((p) => p.get?.parameters ?? []).filter((p) => p.name === 'mode');
    expect(modeParams.length).toBeGreaterThan(0);
    for (const p of modeParams) expect(p.schema.enum).toEqual([...MODES]);
    expect(SignedUrls.shape.urls.element.shape.mode.options).toEqual([...MODES]);
    const links = Object.keys(VideoView.shape.links.shape).filter((k) => !['self', 'job', 'bitstream'].includes(k));
    expect(links).toEqual([...MODES]);
  });
});
